"""Stripe webhook verification: ``Stripe-Signature`` checked by the official library.

``WebhookSignature.verify_header`` accepts any ``v1=`` entry that matches (Stripe sends two
while an endpoint secret is being rolled) and rejects timestamps older than the tolerance, so
a captured delivery replayed later is refused. Reasons are short and never echo the secret or
the expected signature.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import stripe

from arbridge.api import InboundEvent, WebhookRejected

PROVIDER = "stripe"


def _reason(exc: stripe.SignatureVerificationError, tolerance: int) -> str:
    text = str(exc.user_message or exc)
    if "tolerance" in text:
        return f"Stripe-Signature timestamp is older than {tolerance} s (stale or replayed)"
    if "Unable to extract" in text or "expected scheme" in text:
        return "malformed Stripe-Signature header (expected t=...,v1=...)"
    return "Stripe-Signature does not match: check stripe.webhook_secret (whsec_...)"


def verify_delivery(
    headers: Mapping[str, str],
    body: bytes,
    *,
    secret: str | None,
    tolerance: int,
    default_account: str,
) -> list[InboundEvent]:
    """One Stripe delivery is one event. ``headers`` keys are lower-case."""
    if not secret:
        raise WebhookRejected(
            "stripe.webhook_secret is not configured; deliveries cannot be verified", status=503
        )
    header = headers.get("stripe-signature")
    if not header:
        raise WebhookRejected("missing Stripe-Signature header")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise WebhookRejected("body is not UTF-8") from None
    try:
        stripe.WebhookSignature.verify_header(text, header, secret, tolerance)
    except stripe.SignatureVerificationError as exc:
        raise WebhookRejected(_reason(exc, tolerance)) from None
    try:
        event: Any = json.loads(text)
    except ValueError:
        raise WebhookRejected("body is not JSON") from None
    if (
        not isinstance(event, dict)
        or event.get("object") != "event"
        or not isinstance(event.get("id"), str)
        or not isinstance(event.get("type"), str)
    ):
        raise WebhookRejected("body is not a Stripe event (needs object, id and type)")
    return [to_inbound(event, default_account)]


def to_inbound(event: dict[str, Any], default_account: str) -> InboundEvent:
    created = event.get("created")
    occurred = datetime.fromtimestamp(int(created), tz=UTC) if isinstance(created, int) else None
    account = event.get("account")
    return InboundEvent(
        provider=PROVIDER,
        event_id=str(event["id"]),
        kind=str(event["type"]),
        account=account if isinstance(account, str) and account else default_account,
        occurred_at=occurred,
        payload=event,
    )
