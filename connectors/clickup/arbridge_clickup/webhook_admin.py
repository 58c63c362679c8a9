"""Registering arbridge's ClickUp webhook: one per endpoint, reused when it already exists.

ClickUp returns the webhook's HMAC ``secret`` on creation (and, per its spec, on the list and
update endpoints too); the caller stores it. Re-running the registration finds the webhook by
endpoint instead of creating a second one that would deliver every event twice.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import httpx

from arbridge.api import ConfigError, Settings
from arbridge_clickup.client import ClickUpClient
from arbridge_clickup.inbound import HANDLED_EVENTS
from arbridge_clickup.settings import clickup_section

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/clickup"


def create_webhook(
    settings: Settings,
    endpoint_url: str,
    *,
    transport: httpx.BaseTransport | None = None,
) -> tuple[str, str]:
    """Register (or find) the webhook that posts the list's events to ``endpoint_url``.

    Returns ``(webhook_id, secret)``. Raises ``ConfigError`` saying what to fix (bad URL, no
    team id, a webhook whose secret ClickUp no longer shows).
    """
    _check_url(endpoint_url)
    config = clickup_section(settings)
    with ClickUpClient(config, transport=transport, secrets=settings.secrets()) as client:
        team_id = config.team_id or _only_team(client)
        hooks: list[dict[str, Any]] = (client.request("GET", f"/team/{team_id}/webhook") or {}).get(
            "webhooks"
        ) or []
        for hook in hooks:
            if hook.get("endpoint") == endpoint_url:
                return _reuse(client, hook)
        body: dict[str, Any] = {
            "endpoint": endpoint_url,
            "events": list(HANDLED_EVENTS),
            # The spec types list_id as an integer; ClickUp's list ids are numeric.
            "list_id": int(config.list_id) if config.list_id.isdigit() else config.list_id,
        }
        # Not re-sent on a timeout: a second POST could register a second webhook.
        reply = client.request("POST", f"/team/{team_id}/webhook", json=body) or {}
        hook = reply.get("webhook") or {}
        webhook_id = str(reply.get("id") or hook.get("id") or "")
        secret = hook.get("secret")
        if not webhook_id or not isinstance(secret, str) or not secret:
            raise ConfigError(
                ["clickup: ClickUp created the webhook but returned no id or secret; try again"]
            )
        log.info("ClickUp webhook %s created for %s", webhook_id, endpoint_url)
        return webhook_id, secret


def _reuse(client: ClickUpClient, hook: dict[str, Any]) -> tuple[str, str]:
    webhook_id = str(hook.get("id"))
    secret = hook.get("secret")
    if not isinstance(secret, str) or not secret:
        raise ConfigError(
            [
                f"clickup: a webhook ({webhook_id}) already posts to {hook.get('endpoint')} but "
                f"ClickUp no longer shows its secret; delete it (DELETE /v2/webhook/{webhook_id}) "
                "and run the command again"
            ]
        )
    events = [str(e) for e in hook.get("events") or []]
    health = hook.get("health") or {}
    missing = [e for e in HANDLED_EVENTS if e not in events and "*" not in events]
    if missing or health.get("status") not in (None, "active"):
        # Repair in place: the secret stays the same, so nothing stored goes stale.
        body = {
            "endpoint": hook.get("endpoint"),
            "events": events + missing,
            "status": "active",
        }
        client.request("PUT", f"/webhook/{webhook_id}", json=body)
        log.info("ClickUp webhook %s updated (events %s, reactivated)", webhook_id, missing)
    return webhook_id, secret


def _only_team(client: ClickUpClient) -> str:
    teams = (client.request("GET", "/team") or {}).get("teams") or []
    if len(teams) != 1:
        seen = ", ".join(f'"{t.get("id")}" ({t.get("name")})' for t in teams) or "(none)"
        raise ConfigError(
            [f"clickup.team_id: is not set and the token sees these workspaces: {seen}; set it"]
        )
    return str(teams[0]["id"])


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            [
                f"webhook URL {url!r}: must be an absolute http(s) URL ClickUp can reach (set "
                "server.public_url or pass --url)"
            ]
        )
