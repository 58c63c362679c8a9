"""Entry point that lets arbridge discover the ClickUp connector."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import httpx
import typer

from arbridge.api import ConfigError, Settings
from arbridge_clickup.client import ClickUpClient
from arbridge_clickup.schema import ListSchema, resolve_list_schema
from arbridge_clickup.settings import ClickUpSettings, clickup_section
from arbridge_clickup.sink import ClickUpSink, resolve_members

if TYPE_CHECKING:
    from arbridge.api import CredentialStore, InboundEvent
    from arbridge_clickup.emulator.webhooks import Collector
    from arbridge_clickup.inbound import ClickUpInbound


class ClickUpConnector:
    name = "clickup"
    settings_section = ClickUpSettings

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
        config = clickup_section(settings)
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

    def commands(self) -> typer.Typer:
        """``arbridge clickup ...``."""
        from arbridge_clickup.cli import clickup_app

        return clickup_app

    def emulator(self, *, rate_limit: int | None, seed: int = 0) -> ClickUpEmulator:
        return ClickUpEmulator(rate_limit=rate_limit, seed=seed)

    # -- inbound webhooks --

    def verify_webhook(
        self, secret: str, headers: Mapping[str, str], body: bytes
    ) -> list[InboundEvent]:
        """Check ``X-Signature`` over the raw body; the events to store (see ``inbound``)."""
        from arbridge_clickup.inbound import verify_webhook

        return verify_webhook(secret, headers, body)

    def webhook_secret(self, settings: Settings, credentials: CredentialStore) -> str | None:
        """``clickup.webhook_secret``, else the one ``arbridge clickup webhook create`` stored."""
        from arbridge_clickup.inbound import webhook_secret

        return webhook_secret(settings, credentials)

    def build_inbound(
        self,
        settings: Settings,
        *,
        secrets: list[str],
        transport: httpx.BaseTransport | None = None,
    ) -> ClickUpInbound:
        """The reader that turns stored ClickUp events into ``CollectorChange`` objects."""
        from arbridge_clickup.inbound import build_inbound

        return build_inbound(settings, secrets=secrets, transport=transport)

    def create_webhook(
        self,
        settings: Settings,
        endpoint_url: str,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> tuple[str, str]:
        """Register (or reuse) the webhook for ``endpoint_url``; ``(webhook_id, secret)``."""
        from arbridge_clickup.webhook_admin import create_webhook

        return create_webhook(settings, endpoint_url, transport=transport)


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

    def collector(self, email: str = "ada@example.com") -> Collector:
        """Act in the workspace as a collector; each action queues ClickUp's signed webhook."""
        collector: Collector = self._app.collector(email)
        return collector


connector = ClickUpConnector()
