"""Intuit webhook deliveries: signature check and both payload formats.

``intuit-signature`` is the base64 HMAC-SHA256 of the raw body keyed with the app's verifier
token (not the OAuth client secret); it is compared in constant time (python-quickbooks'
``validate_webhook_signature`` uses ``==``). A delivery is either the classic
``{"eventNotifications": [...]}`` object or, since Intuit's 2025 migration, a JSON array of
CloudEvents 1.0 (``type`` ``qbo.invoice.updated.v1``). Both are thin: they name entities and the
source reads them afterwards.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from arbridge.api import InboundEvent, WebhookRejected
from arbridge_quickbooks.mapping import MappingError, parse_time

PROVIDER = "quickbooks"
SIGNATURE_HEADER = "intuit-signature"
# Entities this connector reads; notifications about others (Vendor, Account...) are dropped.
ENTITIES = {
    "invoice": "Invoice",
    "payment": "Payment",
    "creditmemo": "CreditMemo",
    "customer": "Customer",
}
# CloudEvents verbs -> the classic operation names.
OPERATIONS = {
    "created": "Create",
    "updated": "Update",
    "deleted": "Delete",
    "voided": "Void",
    "merged": "Merge",
    "emailed": "Emailed",
}


def sign(body: bytes, verifier_token: str) -> str:
    digest = hmac.new(verifier_token.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def check_signature(headers: Mapping[str, str], body: bytes, verifier_token: str | None) -> None:
    if not verifier_token:
        raise WebhookRejected(
            "QuickBooks webhooks are not configured (set quickbooks.webhook_verifier_token)",
            status=503,
        )
    given = headers.get(SIGNATURE_HEADER)
    if not given:
        raise WebhookRejected(f"missing {SIGNATURE_HEADER} header", status=401)
    try:
        presented = base64.b64decode(given.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise WebhookRejected(f"malformed {SIGNATURE_HEADER} header", status=401) from None
    expected = hmac.new(verifier_token.encode(), body, hashlib.sha256).digest()
    if not hmac.compare_digest(presented, expected):
        raise WebhookRejected("signature does not match", status=401)


def _time(raw: Any) -> datetime | None:
    if not raw:
        return None
    try:
        return parse_time(str(raw))
    except (MappingError, ValueError):
        return None


def _event(
    event_id: str, realm: str, entity: str, entity_id: str, operation: str, when: Any, **extra: Any
) -> InboundEvent:
    payload: dict[str, Any] = {
        "realm": realm,
        "entity": entity,
        "id": entity_id,
        "operation": operation,
        "last_updated": str(when) if when else None,
        **extra,
    }
    return InboundEvent(
        provider=PROVIDER,
        event_id=event_id,
        kind=f"{entity}.{operation}",
        account=realm,
        occurred_at=_time(when),
        payload=payload,
    )


def parse_legacy(body: dict[str, Any]) -> list[InboundEvent]:
    notifications = body.get("eventNotifications")
    if not isinstance(notifications, list):
        raise WebhookRejected("eventNotifications is not a list")
    events = []
    for notification in notifications:
        if not isinstance(notification, dict):
            raise WebhookRejected("an event notification is not an object")
        realm = str(notification.get("realmId") or "")
        change = notification.get("dataChangeEvent") or {}
        entities = change.get("entities") if isinstance(change, dict) else None
        if not realm or not isinstance(entities, list):
            raise WebhookRejected("an event notification has no realmId or entities")
        for item in entities:
            if not isinstance(item, dict) or not item.get("id") or not item.get("name"):
                raise WebhookRejected("an entity change has no name or id")
            entity = ENTITIES.get(str(item["name"]).lower())
            if entity is None:
                continue
            operation = str(item.get("operation") or "Update")
            when = item.get("lastUpdated")
            # Intuit gives these events no id of their own: this tuple is what identifies one.
            event_id = f"{realm}:{entity}:{item['id']}:{operation}:{when or ''}"
            extra = {"deleted_id": str(item["deletedId"])} if item.get("deletedId") else {}
            events.append(
                _event(event_id, realm, entity, str(item["id"]), operation, when, **extra)
            )
    return events


def parse_cloudevents(body: list[Any]) -> list[InboundEvent]:
    events = []
    for item in body:
        if not isinstance(item, dict):
            raise WebhookRejected("a CloudEvent is not an object")
        event_id = item.get("id")
        kind = str(item.get("type") or "")
        realm = str(item.get("intuitaccountid") or "")
        entity_id = item.get("intuitentityid")
        parts = kind.split(".")
        if not event_id or not realm or not entity_id or len(parts) < 3 or parts[0] != "qbo":
            raise WebhookRejected("a CloudEvent lacks id, type, intuitaccountid or intuitentityid")
        entity = ENTITIES.get(parts[1].lower())
        if entity is None:
            continue
        operation = OPERATIONS.get(parts[2].lower(), parts[2].capitalize())
        events.append(
            _event(str(event_id), realm, entity, str(entity_id), operation, item.get("time"))
        )
    return events


def parse_delivery(body: bytes) -> list[InboundEvent]:
    try:
        decoded = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise WebhookRejected("body is not JSON") from None
    if isinstance(decoded, dict) and "eventNotifications" in decoded:
        return parse_legacy(decoded)
    if isinstance(decoded, list):
        return parse_cloudevents(decoded)
    raise WebhookRejected("body is neither eventNotifications nor a CloudEvents array")


def verify(
    headers: Mapping[str, str], body: bytes, verifier_token: str | None
) -> list[InboundEvent]:
    check_signature(headers, body, verifier_token)
    return parse_delivery(body)
