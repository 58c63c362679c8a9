"""Entry point that lets arbridge discover the ClickUp connector."""

from __future__ import annotations

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


connector = ClickUpConnector()
