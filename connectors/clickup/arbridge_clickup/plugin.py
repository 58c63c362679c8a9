"""Entry point that lets arbridge discover the ClickUp connector."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import httpx

from arbridge.errors import ConfigError
from arbridge.settings import Settings
from arbridge_clickup.client import ClickUpClient
from arbridge_clickup.schema import ListSchema, resolve_list_schema
from arbridge_clickup.sink import ClickUpSink, resolve_members


class ClickUpConnector:
    name = "clickup"

    def build_sink(
        self,
        settings: Settings,
        *,
        secrets: list[str],
        transport: httpx.BaseTransport | None = None,
    ) -> ClickUpSink:
        """Connect, check the list against the config and load workspace members.

        Raises ``ConfigError`` listing the problems of both the list and the workspace.
        """
        config = settings.clickup
        client = ClickUpClient(config, transport=transport, secrets=secrets)
        try:
            problems: list[str] = []
            schema: ListSchema | None = None
            members: dict[str, int] = {}
            try:
                schema = resolve_list_schema(client, config)
            except ConfigError as exc:
                problems.extend(exc.problems)
            try:
                members = resolve_members(client, config.team_id)
            except ConfigError as exc:
                problems.extend(exc.problems)
            if problems or schema is None:
                raise ConfigError(problems)
            return ClickUpSink(client, schema, ZoneInfo(settings.company.timezone), members)
        except BaseException:
            client.close()
            raise

    def emulator(self, *, rate_limit: int | None, seed: int = 0) -> ClickUpEmulator:
        return ClickUpEmulator(rate_limit=rate_limit, seed=seed)


class ClickUpEmulator:
    """The emulated workspace served by the demo, the tests and ``arbridge sandbox clickup``."""

    def __init__(self, *, rate_limit: int | None, seed: int = 0) -> None:
        # Imported here so that running against the real ClickUp never loads the emulator.
        from arbridge_clickup.emulator import create_app, default_workspace

        self._app = create_app(default_workspace(seed=seed), rate_limit=rate_limit)

    @property
    def app(self) -> Any:
        return self._app

    def config(self, base_url: str) -> dict[str, Any]:
        from arbridge_clickup.emulator import DEMO_LIST_ID, DEMO_TEAM_ID, DEMO_TOKEN

        return {
            "token": DEMO_TOKEN,
            "base_url": f"{base_url}/api/v2",
            "list_id": DEMO_LIST_ID,
            "team_id": DEMO_TEAM_ID,
        }

    def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = self._app.emulator.stats()
        return stats


connector = ClickUpConnector()
