"""Stripe webhook verification: ``Stripe-Signature`` checked by the official library.

``WebhookSignature.verify_header`` accepts any ``v1=`` entry that matches (Stripe sends two
while an endpoint secret is being rolled) and rejects timestamps older than the tolerance, so
a captured delivery replayed later is refused. Reasons are short and never echo the secret or
the expected signature.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import stripe

from arbridge.api import InboundEvent, WebhookRejected

PROVIDER = "stripe"
# 9999-01-01: later ``created`` values are not a time (``fromtimestamp`` overflows); the event
# keeps no time then, as when Stripe sends none.
MAX_CREATED = 253_370_764_800


def _reason(exc: stripe.SignatureVerificationError, tolerance: int) -> str:
    text = str(exc.user_message or exc)
    if "tolerance" in text:
        return f"Stripe-Signature timestamp is older than {tolerance} s (stale or replayed)"
    if "Unable to extract" in text or "expected scheme" in text:
        return "malformed Stripe-Signature header (expected t=...,v1=...)"
    return "Stripe-Signature does not match: check stripe.webhook_secret (whsec_...)"


def _check_header(header: str, tolerance: int, *, now: float) -> None:
    """What the library does not check: an ASCII header (it compares ``str`` with
    ``hmac.compare_digest``, which raises ``TypeError`` on anything else) and a timestamp not
    in the future (it only refuses old ones, so a captured signature dated ahead would stay
    replayable until then)."""
    if not header.isascii():
        raise WebhookRejected("malformed Stripe-Signature header (not ASCII)")
    stamps = [v for k, _, v in (p.strip().partition("=") for p in header.split(",")) if k == "t"]
    if not stamps or not stamps[0].isdigit() or len(stamps[0]) > 12:
        raise WebhookRejected("malformed Stripe-Signature header (expected t=...,v1=...)")
    if tolerance and int(stamps[0]) > now + tolerance:
        raise WebhookRejected(f"Stripe-Signature timestamp is more than {tolerance} s ahead")


def verify_delivery(
    headers: Mapping[str, str],
    body: bytes,
    *,
    secret: str | None,
    tolerance: int,
    default_account: str,
    now: float | None = None,
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
    _check_header(header, tolerance, now=time.time() if now is None else now)
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
    created = event.get("created")
    if created is not None and not (isinstance(created, int) and 0 <= created <= MAX_CREATED):
        raise WebhookRejected("Stripe event created is not a time in range")
    return [to_inbound(event, default_account)]


def to_inbound(event: dict[str, Any], default_account: str) -> InboundEvent:
    created = event.get("created")
    occurred = None
    if isinstance(created, int) and 0 <= created <= MAX_CREATED:
        occurred = datetime.fromtimestamp(created, tz=UTC)
    account = event.get("account")
    return InboundEvent(
        provider=PROVIDER,
        event_id=str(event["id"]),
        kind=str(event["type"]),
        account=account if isinstance(account, str) and account else default_account,
        occurred_at=occurred,
        payload=event,
    )
