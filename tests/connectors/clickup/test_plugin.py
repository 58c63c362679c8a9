from __future__ import annotations

import httpx
import pytest
import respx
from arbridge_clickup.plugin import ClickUpConnector, connector
from arbridge_clickup.sink import ClickUpSink

from arbridge.errors import ConfigError
from arbridge.ports.connector import discover
from arbridge.settings import Settings
from tests.connectors.clickup.conftest import (
    LIST_ID,
    TEAM_BODY,
    TOKEN,
    fields_body,
    list_body,
)


def settings(team_id: str = "1234") -> Settings:
    return Settings(
        clickup={"token": TOKEN, "list_id": LIST_ID, "team_id": team_id},
        company={"timezone": "Europe/Berlin"},
    )


def test_connector_is_discovered_by_entry_point() -> None:
    assert isinstance(connector, ClickUpConnector)
    assert connector.name == "clickup"
    found: object = discover()["clickup"]
    assert found is connector


def test_build_sink_resolves_schema_and_members(api: respx.MockRouter) -> None:
    api.get(f"/list/{LIST_ID}").mock(return_value=httpx.Response(200, json=list_body()))
    api.get(f"/list/{LIST_ID}/field").mock(return_value=httpx.Response(200, json=fields_body()))
    api.get("/team").mock(return_value=httpx.Response(200, json=TEAM_BODY))
    sink = connector.build_sink(settings(), secrets=[TOKEN])
    try:
        assert isinstance(sink, ClickUpSink)
        assert "aging" in sink.owned_facts()
    finally:
        sink.close()


def test_build_sink_reports_list_and_workspace_problems_together(api: respx.MockRouter) -> None:
    api.get(f"/list/{LIST_ID}").mock(
        return_value=httpx.Response(200, json=list_body(["to do", "complete"]))
    )
    api.get(f"/list/{LIST_ID}/field").mock(return_value=httpx.Response(200, json=fields_body()))
    api.get("/team").mock(return_value=httpx.Response(200, json=TEAM_BODY))
    with pytest.raises(ConfigError) as caught:
        connector.build_sink(settings(team_id="777"), secrets=[TOKEN])
    problems = caught.value.problems
    assert len(problems) == 9
    assert problems[0].startswith('clickup.statuses.draft: the list has no status "draft"')
    assert problems[-1].startswith('clickup.team_id: the token has no access to workspace "777"')
