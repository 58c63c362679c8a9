"""ClickUp webhooks in: verify a delivery, then read what a collector did to an invoice's task.

ClickUp signs the raw body (``X-Signature``: hex HMAC-SHA256 keyed with the webhook's secret)
and sends no event id, so the id is derived from the webhook id and the history item ids: a
retried delivery carries the same items and dedupes in the inbox. The payload is thin, so
reading a change costs one ``GET /task/{id}`` for the task as it is now; changes arbridge made
itself (its token's user in the history item) are recognised before any request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from arbridge.api import (
    AuthError,
    CollectorChange,
    CollectorKind,
    CredentialStore,
    InboundEvent,
    NotFoundError,
    Settings,
    WebhookRejected,
)
from arbridge_clickup.client import ClickUpClient
from arbridge_clickup.schema import KEY_FACT, ListSchema, build_list_schema
from arbridge_clickup.settings import clickup_section
from arbridge_clickup.values import ValueConversionError, date_from_ms

log = logging.getLogger(__name__)

PROVIDER = "clickup"
# Where ``arbridge clickup webhook create`` keeps the webhook's id and secret.
CREDENTIAL_NAME = "clickup_webhook"
SIGNATURE_HEADER = "x-signature"
# The events a collector's status change, promise-to-pay date and comment arrive as.
STATUS_EVENT = "taskStatusUpdated"
FIELD_EVENT = "taskUpdated"
COMMENT_EVENT = "taskCommentPosted"
HANDLED_EVENTS = (STATUS_EVENT, FIELD_EVENT, COMMENT_EVENT)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def verify_webhook(secret: str, headers: Mapping[str, str], body: bytes) -> list[InboundEvent]:
    """The events of a ClickUp delivery whose signature is right (``headers`` lower-case).

    Raises ``WebhookRejected`` (401: no or wrong signature; 400: not a ClickUp webhook body).
    Events arbridge does not use are verified and return ``[]``: acknowledged, not stored.
    """
    if not secret:
        raise WebhookRejected("no ClickUp webhook secret is configured", status=401)
    signature = headers.get(SIGNATURE_HEADER, "").strip().lower()
    if not signature:
        raise WebhookRejected("missing X-Signature header", status=401)
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    # Bytes, so that a non-ASCII header is a mismatch rather than a TypeError.
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        raise WebhookRejected("X-Signature does not match the body", status=401)
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise WebhookRejected("body is not JSON") from None
    if not isinstance(payload, dict):
        raise WebhookRejected("body is not a JSON object")
    event, webhook_id = payload.get("event"), payload.get("webhook_id")
    if not isinstance(event, str) or not isinstance(webhook_id, str) or not webhook_id:
        raise WebhookRejected("not a ClickUp webhook: event or webhook_id missing")
    if event not in HANDLED_EVENTS:
        return []
    task_id, items = payload.get("task_id"), payload.get("history_items")
    if not isinstance(task_id, str) or not task_id:
        raise WebhookRejected(f"{event} without a task_id")
    if not isinstance(items, list) or not all(
        isinstance(i, dict) and isinstance(i.get("id"), str | int) for i in items
    ):
        raise WebhookRejected(f"{event}: history_items must be a list of items with ids")
    if not items:
        return []
    times = [t for t in (_ms_time(i.get("date")) for i in items) if t is not None]
    return [
        InboundEvent(
            provider=PROVIDER,
            event_id=event_id(webhook_id, items),
            kind=event,
            account="",
            occurred_at=max(times) if times else None,
            payload=payload,
        )
    ]


def webhook_secret(settings: Settings, credentials: CredentialStore) -> str | None:
    """The webhook's HMAC key: ``clickup.webhook_secret`` if set, else the stored one."""
    configured = clickup_section(settings).webhook_secret
    if configured is not None and configured.get_secret_value():
        return configured.get_secret_value()
    stored = credentials.load(CREDENTIAL_NAME) or {}
    secret = stored.get("secret")
    return secret if isinstance(secret, str) and secret else None


def event_id(webhook_id: str, items: list[dict[str, Any]]) -> str:
    """A stable id for a delivery: ClickUp resends the same history items on a retry."""
    ids = sorted(str(item["id"]) for item in items)
    digest = hashlib.sha256("|".join([webhook_id, *ids]).encode()).hexdigest()[:32]
    return f"{webhook_id}:{digest}"


@dataclass(frozen=True)
class PromiseField:
    id: str
    name: str


class ClickUpInbound:
    """Reads stored ClickUp events into ``CollectorChange`` objects (a ``CollectorReader``)."""

    def __init__(
        self,
        client: ClickUpClient,
        schema: ListSchema,
        timezone: ZoneInfo,
        *,
        own_user_id: int,
        promise_field: PromiseField | None,
    ) -> None:
        self._client = client
        self._schema = schema
        self._zone = timezone
        self.own_user_id = own_user_id
        self.promise_field = promise_field

    def close(self) -> None:
        self._client.close()

    def read_change(self, event: InboundEvent) -> CollectorChange | None:
        """The collector change ``event`` stands for, read from the task as it is now.

        ``None`` (no request made) for arbridge's own changes and for changes that are none of
        a collector's status, promise-to-pay date or comment; ``None`` too for a task that is
        gone or carries no arbridge key.
        """
        picked = self._pick(event)
        if picked is None:
            return None
        kind, item = picked
        user = item.get("user") or {}
        if _int(user.get("id")) == self.own_user_id:
            return None
        task_id = str(event.payload.get("task_id"))
        task = self._task(task_id)
        if task is None:
            log.info("task %s is gone; its %s event is ignored", task_id, event.kind)
            return None
        key = self._field_value(task, self._schema.fields[KEY_FACT].id)
        if not isinstance(key, str) or not key:
            return None
        item_time = _ms_time(item.get("date")) or event.occurred_at or EPOCH
        changed_at = item_time
        if kind != "commented":
            changed_at = _ms_time(task.get("date_updated")) or item_time
        return CollectorChange(
            invoice_key=key,
            kind=kind,
            changed_at=changed_at,
            actor=_str(user.get("email")),
            status=self._status_of(task.get("status")),
            previous_status=self._status_of(item.get("before"))
            if kind == "status_changed"
            else None,
            promise_to_pay_date=self._promise_date(task),
            commented_at=self._comment_time(item) if kind == "commented" else None,
            task_id=task_id,
            event_id=event.event_id,
        )

    def _task(self, task_id: str) -> dict[str, Any] | None:
        try:
            task: dict[str, Any] = self._client.request("GET", f"/task/{task_id}")
        except NotFoundError:
            return None
        except AuthError:
            # ClickUp answers a deleted task with OAUTH_027 too; only a refused token is an
            # error worth retrying, and then /user is refused as well.
            self._client.request("GET", "/user")
            return None
        return task

    def concerns_collectors(self, event: InboundEvent) -> bool:
        """Whether ``read_change`` could find a collector's change in ``event``, judged from
        the payload alone: arbridge's own changes and other kinds of change are not worth
        storing."""
        picked = self._pick(event)
        if picked is None:
            return False
        user = picked[1].get("user") or {}
        return _int(user.get("id")) != self.own_user_id

    def _pick(self, event: InboundEvent) -> tuple[CollectorKind, dict[str, Any]] | None:
        items = [i for i in event.payload.get("history_items") or [] if isinstance(i, dict)]
        for item in items:
            field = item.get("field")
            if event.kind == STATUS_EVENT and field == "status":
                return "status_changed", item
            if event.kind == COMMENT_EVENT and field == "comment":
                return "commented", item
            if event.kind == FIELD_EVENT and field == "custom_field" and self.promise_field:
                changed = item.get("custom_field") or {}
                if str(changed.get("id")) == self.promise_field.id:
                    return "promise_to_pay_set", item
        return None

    def _status_of(self, raw: Any) -> str | None:
        name = raw.get("status") if isinstance(raw, dict) else None
        if not isinstance(name, str) or not name:
            return None
        return self._schema.status_key(name) or name

    def _promise_date(self, task: Mapping[str, Any]) -> date | None:
        if self.promise_field is None:
            return None
        raw = self._field_value(task, self.promise_field.id)
        try:
            day = date_from_ms(raw, self._zone)
        except ValueConversionError:
            log.warning("task %s: %s is not a date", task.get("id"), self.promise_field.name)
            return None
        return None if day is None else date.fromisoformat(day)

    def _comment_time(self, item: Mapping[str, Any]) -> datetime | None:
        comment = item.get("comment") or {}
        return _ms_time(comment.get("date") if isinstance(comment, dict) else None) or _ms_time(
            item.get("date")
        )

    @staticmethod
    def _field_value(task: Mapping[str, Any], field_id: str) -> Any:
        for field in task.get("custom_fields") or []:
            if isinstance(field, dict) and field.get("id") == field_id:
                return field.get("value")
        return None


def build_inbound(
    settings: Settings,
    *,
    secrets: list[str],
    transport: httpx.BaseTransport | None = None,
) -> ClickUpInbound:
    """Connect, learn the token's own user and the list's statuses and fields.

    Raises ``ConfigError`` for a list that does not match the config (as the sink does). A
    missing promise-to-pay field is only a warning: promise dates are then not read.
    """
    config = clickup_section(settings)
    client = ClickUpClient(config, transport=transport, secrets=secrets)
    try:
        me = (client.request("GET", "/user") or {}).get("user") or {}
        list_body = client.request("GET", f"/list/{config.list_id}") or {}
        fields: list[dict[str, Any]] = (
            client.request("GET", f"/list/{config.list_id}/field") or {}
        ).get("fields") or []
        schema = build_list_schema(config.list_id, list_body.get("statuses") or [], fields, config)
        promise = promise_field(fields, config.promise_to_pay_field)
        return ClickUpInbound(
            client,
            schema,
            ZoneInfo(settings.company.timezone),
            own_user_id=int(me["id"]),
            promise_field=promise,
        )
    except BaseException:
        client.close()
        raise


def promise_field(fields: list[dict[str, Any]], name: str | None) -> PromiseField | None:
    """The list's promise-to-pay date field; warns (once, at start-up) when it is missing."""
    if name is None:
        return None
    wanted = name.strip().casefold()
    found = [f for f in fields if str(f.get("name", "")).strip().casefold() == wanted]
    if not found:
        log.warning(
            'clickup.promise_to_pay_field: the list has no custom field named "%s"; create a '
            "Date field with that name for collectors to record promised payment dates (until "
            "then promise dates are not read)",
            name,
        )
        return None
    field = found[0]
    if field.get("type") != "date":
        log.warning(
            'clickup.promise_to_pay_field: the custom field "%s" is a %s field; it must be a '
            "Date field (until then promise dates are not read)",
            field.get("name"),
            field.get("type"),
        )
        return None
    return PromiseField(id=str(field["id"]), name=str(field["name"]))


def _ms_time(raw: Any) -> datetime | None:
    try:
        return EPOCH + timedelta(milliseconds=int(str(raw)))
    except (TypeError, ValueError, OverflowError):
        # Not a time (or past year 9999): as if the item had none.
        return None


def _int(raw: Any) -> int | None:
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


def _str(raw: Any) -> str | None:
    return raw if isinstance(raw, str) and raw else None
