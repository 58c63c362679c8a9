"""Registering the ClickUp webhook against the emulator: created once, then found and reused."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from arbridge_clickup.emulator import (
    DEMO_LIST_ID,
    DEMO_TEAM_ID,
    DEMO_TOKEN,
    EmulatorState,
    create_app,
    default_workspace,
)
from arbridge_clickup.plugin import connector
from arbridge_clickup.webhook_admin import create_webhook

from arbridge.errors import ConfigError
from arbridge.settings import Settings
from arbridge.testing.loopback import LoopbackServer

ENDPOINT = "https://arbridge.example.com/webhooks/clickup"


@pytest.fixture
def served() -> Iterator[tuple[EmulatorState, str]]:
    state = default_workspace()
    with LoopbackServer(create_app(state, rate_limit=None, webhooks=False)) as server:
        yield state, server.base_url


def settings(base_url: str, **overrides: Any) -> Settings:
    section = {
        "token": DEMO_TOKEN,
        "base_url": f"{base_url}/api/v2",
        "list_id": DEMO_LIST_ID,
        "team_id": DEMO_TEAM_ID,
        **overrides,
    }
    return Settings.model_validate({"clickup": section})


def test_the_webhook_is_created_on_the_list_for_the_events_arbridge_reads(
    served: tuple[EmulatorState, str],
) -> None:
    state, base = served
    webhook_id, secret = create_webhook(settings(base), ENDPOINT)
    hook = state.webhooks[webhook_id]
    assert secret == hook.secret
    assert (hook.endpoint, hook.list_id, hook.team_id) == (ENDPOINT, DEMO_LIST_ID, DEMO_TEAM_ID)
    assert hook.events == ["taskStatusUpdated", "taskUpdated", "taskCommentPosted"]
    assert hook.user_id == 81000


def test_running_it_again_reuses_the_webhook_and_its_secret(
    served: tuple[EmulatorState, str],
) -> None:
    state, base = served
    first = create_webhook(settings(base), ENDPOINT)
    before = state.stats()["requests"]
    assert connector.create_webhook(settings(base), ENDPOINT) == first
    assert len(state.webhooks) == 1
    sent = {k: v - before.get(k, 0) for k, v in state.stats()["requests"].items()}
    assert sent.get("POST /team/{team_id}/webhook") == 0
    assert sent.get("PUT /webhook/{webhook_id}", 0) == 0
    other = create_webhook(settings(base), ENDPOINT + "/other")
    assert other[0] != first[0]
    assert len(state.webhooks) == 2


def test_a_suspended_webhook_missing_events_is_repaired_in_place(
    served: tuple[EmulatorState, str],
) -> None:
    state, base = served
    hook = state.create_webhook(
        state.teams[DEMO_TEAM_ID],
        {"endpoint": ENDPOINT, "events": ["taskStatusUpdated"]},
        user_id=81000,
    )
    hook.status, hook.fail_count = "suspended", 100
    assert create_webhook(settings(base), ENDPOINT) == (hook.id, hook.secret)
    assert hook.status == "active"
    assert hook.fail_count == 0
    assert sorted(hook.events) == ["taskCommentPosted", "taskStatusUpdated", "taskUpdated"]


def test_without_a_team_id_the_tokens_only_workspace_is_used(
    served: tuple[EmulatorState, str],
) -> None:
    state, base = served
    webhook_id, _ = create_webhook(settings(base, team_id=None), ENDPOINT)
    assert state.webhooks[webhook_id].team_id == DEMO_TEAM_ID
    state.add_team("9100", "Second", [81000])
    state.add_token("pk_two_teams", 81000, [DEMO_TEAM_ID, "9100"])
    with pytest.raises(ConfigError) as failed:
        create_webhook(settings(base, team_id=None, token="pk_two_teams"), ENDPOINT)
    assert "clickup.team_id: is not set" in failed.value.problems[0]
    assert '"9100" (Second)' in failed.value.problems[0]


@pytest.mark.parametrize("url", ["/webhooks/clickup", "ftp://example.com/x", "https://"])
def test_an_endpoint_that_is_not_an_absolute_http_url_is_refused_before_any_request(
    served: tuple[EmulatorState, str], url: str
) -> None:
    state, base = served
    with pytest.raises(ConfigError) as failed:
        create_webhook(settings(base), url)
    assert "must be an absolute http(s) URL" in failed.value.problems[0]
    assert state.stats()["total"] == 0


def test_a_webhook_whose_secret_is_no_longer_shown_says_how_to_recover(
    served: tuple[EmulatorState, str],
) -> None:
    state, base = served
    hook = state.create_webhook(
        state.teams[DEMO_TEAM_ID], {"endpoint": ENDPOINT, "events": ["*"]}, user_id=81000
    )
    hook.secret = ""
    with pytest.raises(ConfigError) as failed:
        create_webhook(settings(base), ENDPOINT)
    assert f"DELETE /v2/webhook/{hook.id}" in failed.value.problems[0]
