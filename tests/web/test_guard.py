"""The refusals that keep hostile input a 4xx, one by one."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime

import pytest
from arbridge_clickup.inbound import verify_webhook
from arbridge_stripe.emulator.webhooks import signature_header
from arbridge_stripe.webhooks import to_inbound, verify_delivery

from arbridge.errors import WebhookRejected
from arbridge.ports.source import InboundEvent
from arbridge.web.guard import MAX_DEPTH, check_raw, check_storable

SECRET = "whsec_guardTestSecret000000000000000000"


def stripe_body(**extra: object) -> bytes:
    event = {"object": "event", "id": "evt_1", "type": "invoice.paid", **extra}
    return json.dumps(event).encode()


def verify_stripe(body: bytes, header: str) -> list[InboundEvent]:
    headers = {"stripe-signature": header}
    return verify_delivery(headers, body, secret=SECRET, tolerance=300, default_account="a")


def test_a_stripe_signature_dated_in_the_future_is_refused() -> None:
    body = stripe_body()
    now = int(time.time())
    assert verify_stripe(body, signature_header(body, [SECRET], now + 290))
    with pytest.raises(WebhookRejected, match="ahead"):
        verify_stripe(body, signature_header(body, [SECRET], now + 310))
    with pytest.raises(WebhookRejected, match="ahead"):
        verify_stripe(body, signature_header(body, [SECRET], now + 1_000_000))


@pytest.mark.parametrize("odd", ["é", "中", "\x80"])
def test_a_non_ascii_stripe_signature_is_malformed_not_an_error(odd: str) -> None:
    body = stripe_body()
    header = signature_header(body, [SECRET], int(time.time()))
    with pytest.raises(WebhookRejected, match="malformed") as caught:
        verify_stripe(body, header[:-2] + odd)
    assert caught.value.status == 400


@pytest.mark.parametrize("created", [10**20, -1, 253_402_300_800, 1.5])
def test_a_stripe_created_out_of_range_is_refused(created: object) -> None:
    body = stripe_body(created=created)
    with pytest.raises(WebhookRejected, match="created"):
        verify_stripe(body, signature_header(body, [SECRET], int(time.time())))


def test_polling_keeps_an_event_whose_created_is_out_of_range_without_a_time() -> None:
    event = to_inbound({"id": "evt_1", "type": "invoice.paid", "created": 10**20}, "a")
    assert event.occurred_at is None


def test_a_clickup_item_date_out_of_range_is_no_time() -> None:
    body = json.dumps(
        {
            "event": "taskCommentPosted",
            "webhook_id": "wh1",
            "task_id": "t1",
            "history_items": [{"id": "h1", "date": str(10**30)}],
        }
    ).encode()
    signature = hmac.new(b"k", body, hashlib.sha256).hexdigest()
    [event] = verify_webhook("k", {"x-signature": signature}, body)
    assert event.occurred_at is None


@pytest.mark.parametrize(
    "body",
    [
        b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1),
        b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
        b"[" * 1_000_000,
        b'{"a": NaN}',
        b"[Infinity]",
    ],
)
def test_raw_bodies_too_deep_or_not_json_are_refused_before_parsing(body: bytes) -> None:
    with pytest.raises(WebhookRejected):
        check_raw(body)


@pytest.mark.parametrize(
    "body",
    [
        b"[" * MAX_DEPTH + b"]" * MAX_DEPTH,
        # Brackets and constants inside strings (escaped quotes included) are text.
        b'{"a": "' + b"[" * 1000 + b'\\"[[[[ NaN Infinity"}',
        b'"unterminated \\" [[[[',
    ],
)
def test_raw_bodies_within_bounds_pass(body: bytes) -> None:
    check_raw(body)


def event(**changes: object) -> InboundEvent:
    fields: dict[str, object] = {
        "provider": "stripe",
        "event_id": "evt_1",
        "kind": "invoice.paid",
        "account": "a",
        "occurred_at": datetime(2026, 3, 2, tzinfo=UTC),
        "payload": {"id": "evt_1"},
        **changes,
    }
    return InboundEvent(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "changes",
    [
        {"event_id": "evt_\ud800"},
        {"event_id": "evt_\x00"},
        {"event_id": "e" * 513},
        {"account": "é" * 300},
        {"kind": "\udfff"},
        {"occurred_at": datetime(1, 1, 1, tzinfo=UTC)},
        {"payload": {"a": ["\ud83d"]}},
        {"payload": {"\x00": 1}},
        {"payload": {"a": float("inf")}},
        {"payload": {"a": float("nan")}},
    ],
)
def test_events_the_store_cannot_hold_are_refused(changes: dict[str, object]) -> None:
    check_storable([event()])
    with pytest.raises(WebhookRejected):
        check_storable([event(), event(**changes)])
