"""Stripe-Signature verification through the official library, and what it lets through."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
import stripe
from arbridge_stripe.emulator import DEMO_WEBHOOK_SECRET
from arbridge_stripe.source import StripeSource

from arbridge.errors import WebhookRejected

from .kit import Served, sample

OTHER_SECRET = "whsec_rotatedSecretForTheNextWeek00000000"


def event_body(kind: str = "invoice.paid", **extra: object) -> bytes:
    event = sample("event")
    event.update(id="evt_test_1", type=kind, **extra)
    event["data"] = {"object": {"id": "in_123", "object": "invoice"}}
    return json.dumps(event).encode()


def signed(body: bytes, secret: str = DEMO_WEBHOOK_SECRET, at: int | None = None) -> str:
    header: str = stripe.WebhookSignature.generate_signature_header(
        body.decode(), secret, timestamp=at if at is not None else int(time.time())
    )
    return header


def verify(source: StripeSource, body: bytes, header: str | None) -> list[object]:
    headers = {} if header is None else {"stripe-signature": header}
    return list(source.verify_webhook(headers, body))


def test_valid_delivery_becomes_one_inbound_event(source: StripeSource) -> None:
    body = event_body(created=1_772_000_000)
    [event] = source.verify_webhook({"stripe-signature": signed(body)}, body)
    assert (event.provider, event.event_id, event.kind) == ("stripe", "evt_test_1", "invoice.paid")
    assert event.account == "default"
    assert event.occurred_at == datetime.fromtimestamp(1_772_000_000, UTC)
    assert event.payload["data"]["object"]["id"] == "in_123"


def test_connect_event_keeps_its_account(source: StripeSource) -> None:
    body = event_body(account="acct_1Connected")
    [event] = source.verify_webhook({"stripe-signature": signed(body)}, body)
    assert event.account == "acct_1Connected"


def rejected(source: StripeSource, body: bytes, header: str | None) -> WebhookRejected:
    with pytest.raises(WebhookRejected) as caught:
        verify(source, body, header)
    error = caught.value
    assert error.status == 400
    assert DEMO_WEBHOOK_SECRET not in error.reason
    assert DEMO_WEBHOOK_SECRET not in repr(error)
    return error


def test_forged_signature_is_rejected(source: StripeSource) -> None:
    body = event_body()
    error = rejected(source, body, signed(body, secret="whsec_attackerGuess"))
    assert "does not match" in error.reason


def test_tampered_body_is_rejected(source: StripeSource) -> None:
    body = event_body()
    header = signed(body)
    error = rejected(source, body.replace(b"invoice.paid", b"invoice.voided"), header)
    assert "does not match" in error.reason


def test_stale_replay_is_rejected(source: StripeSource) -> None:
    body = event_body()
    error = rejected(source, body, signed(body, at=int(time.time()) - 301))
    assert "older than 300 s" in error.reason


def test_tolerance_comes_from_settings(env: Served) -> None:
    lenient = env.source(webhook_tolerance_s=3600)
    body = event_body()
    assert len(verify(lenient, body, signed(body, at=int(time.time()) - 1800))) == 1


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing Stripe-Signature"),
        ("", "missing Stripe-Signature"),
        ("nonsense", "malformed"),
        ("t=notanumber,v1=abc", "malformed"),
        (f"t={int(time.time())}", "malformed"),
    ],
    # Fixed ids: one built from the clock would differ between parallel workers' collections.
    ids=["absent", "empty", "nonsense", "bad-time", "no-signature"],
)
def test_malformed_headers_are_rejected(
    source: StripeSource, header: str | None, reason: str
) -> None:
    assert reason in rejected(source, event_body(), header).reason


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"\xff\xfe not utf-8", "not UTF-8"),
        (b"{not json", "not JSON"),
        (b'["a list"]', "not a Stripe event"),
        (b'{"object": "event", "type": "invoice.paid"}', "not a Stripe event"),
    ],
)
def test_malformed_bodies_are_rejected(source: StripeSource, body: bytes, reason: str) -> None:
    header = "t=1,v1=0" if reason == "not UTF-8" else signed(body)
    assert reason in rejected(source, body, header).reason


def test_rotation_accepts_either_v1_entry(env: Served) -> None:
    body = event_body()
    now = int(time.time())
    old_only = signed(body, DEMO_WEBHOOK_SECRET, now)
    new_only = signed(body, OTHER_SECRET, now)
    both = f"{new_only},v1={old_only.split('v1=')[1]}"
    # The endpoint still configured with the old secret accepts a header signed with both...
    assert len(verify(env.source(), body, both)) == 1
    # ...and once the new secret is configured, so does it.
    assert len(verify(env.source(webhook_secret=OTHER_SECRET), body, both)) == 1
    with pytest.raises(WebhookRejected):
        verify(env.source(webhook_secret=OTHER_SECRET), body, old_only)


def test_missing_secret_refuses_rather_than_trusting(env: Served) -> None:
    unverifiable = env.source(webhook_secret=None)
    body = event_body()
    with pytest.raises(WebhookRejected, match="webhook_secret is not configured") as caught:
        verify(unverifiable, body, signed(body))
    assert caught.value.status == 503


def test_unknown_event_type_is_accepted_and_resolves_to_nothing(source: StripeSource) -> None:
    body = event_body("payout.paid")
    [event] = source.verify_webhook({"stripe-signature": signed(body)}, body)
    assert event.kind == "payout.paid"
    assert len(source.resolve(event)) == 0
