"""Webhook verification in both Intuit formats, resolution, and the emulator's deliveries."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from arbridge_quickbooks.emulator import DEMO_VERIFIER_TOKEN
from arbridge_quickbooks.source import QuickBooksSource
from arbridge_quickbooks.webhooks import sign, verify

from arbridge.errors import WebhookRejected
from arbridge.model.invoice import InvoiceStatus
from arbridge.ports.source import InboundEvent
from tests.connectors.quickbooks.conftest import Company, sample_bytes

TOKEN = "verifier-token-for-tests"


def signed(body: bytes, token: str = TOKEN) -> dict[str, str]:
    return {"intuit-signature": sign(body, token), "content-type": "application/json"}


def test_legacy_docs_sample_keeps_the_entities_arbridge_reads() -> None:
    body = sample_bytes("webhook.legacy.docs-example.json")
    events = verify(signed(body), body, TOKEN)
    assert len(events) == 1  # the Vendor change is not ours
    event = events[0]
    assert event.provider == "quickbooks"
    assert event.kind == "Customer.Create"
    assert event.account == "1185883450"
    assert event.event_id == "1185883450:Customer:1:Create:2015-10-05T14:42:19-0700"
    assert event.occurred_at == datetime(2015, 10, 5, 21, 42, 19, tzinfo=UTC)
    assert event.payload["id"] == "1"


def test_cloudevents_use_their_own_id() -> None:
    sample = json.loads(sample_bytes("webhook.cloudevents.blog-2025-11-12.json"))
    assert verify(signed(json.dumps(sample).encode()), json.dumps(sample).encode(), TOKEN) == []
    sample[0] |= {"type": "qbo.invoice.voided.v1", "intuitentityid": "130"}
    body = json.dumps(sample).encode()
    (event,) = verify(signed(body), body, TOKEN)
    assert event.event_id == "88cd52aa-33b6-4351-9aa4-47572edbd068"
    assert event.kind == "Invoice.Void"
    assert event.account == "310687"
    assert event.payload["id"] == "130"
    assert event.occurred_at is not None
    assert event.occurred_at.year == 2025


@pytest.mark.parametrize(
    ("headers", "status", "reason"),
    [
        ({}, 401, "missing intuit-signature"),
        ({"intuit-signature": "not base64 !!"}, 401, "malformed"),
        ({"intuit-signature": sign(b"other body", TOKEN)}, 401, "does not match"),
        ({"intuit-signature": "c2lnbmF0dXJl"}, 401, "does not match"),
    ],
)
def test_forged_malformed_and_missing_signatures_are_rejected(
    headers: dict[str, str], status: int, reason: str
) -> None:
    body = sample_bytes("webhook.legacy.docs-example.json")
    with pytest.raises(WebhookRejected) as caught:
        verify(headers, body, TOKEN)
    assert caught.value.status == status
    assert reason in caught.value.reason
    assert TOKEN not in caught.value.reason


def test_signature_made_with_the_client_secret_is_rejected() -> None:
    body = sample_bytes("webhook.legacy.docs-example.json")
    with pytest.raises(WebhookRejected) as caught:
        verify(signed(body, "the-oauth-client-secret"), body, TOKEN)
    assert caught.value.status == 401


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'{"something": []}',
        b'{"eventNotifications": [{"realmId": "1"}]}',
        b"[1]",
        b'[{"id": "x", "type": "qbo.invoice.updated.v1"}]',
    ],
)
def test_malformed_bodies_are_rejected_with_400(body: bytes) -> None:
    with pytest.raises(WebhookRejected) as caught:
        verify(signed(body), body, TOKEN)
    assert caught.value.status == 400


def test_webhooks_without_a_verifier_token_are_refused() -> None:
    body = sample_bytes("webhook.legacy.docs-example.json")
    with pytest.raises(WebhookRejected) as caught:
        verify(signed(body), body, None)
    assert caught.value.status == 503
    assert "webhook_verifier_token" in caught.value.reason


# --- the emulator's deliveries ------------------------------------------------------------


class Receiver:
    """Stands in for the daemon's webhook route: verifies through the source."""

    def __init__(self, source: QuickBooksSource, fail: Callable[[], bool] = lambda: False):
        self.source = source
        self.fail = fail
        self.events: list[InboundEvent] = []
        self.bodies: list[bytes] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.fail():
            return httpx.Response(500)
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            events = self.source.verify_webhook(headers, request.content)
        except WebhookRejected as exc:
            return httpx.Response(exc.status)
        self.bodies.append(request.content)
        self.events.extend(events)
        return httpx.Response(200)


def listen(company: Company, source: QuickBooksSource, **kwargs: Any) -> Receiver:
    receiver = Receiver(source, **kwargs)
    company.emulator.outbox.transport = httpx.MockTransport(receiver)
    company.emulator.subscribe("http://daemon.test/webhooks/quickbooks")
    return receiver


@pytest.mark.parametrize("fmt", ["cloudevents", "legacy"])
def test_emulator_deliveries_verify_and_resolve(
    connected: tuple[Company, QuickBooksSource], fmt: str
) -> None:
    company, source = connected
    company.emulator.outbox.format = fmt  # type: ignore[assignment]
    receiver = listen(company, source)
    customer = company.emulator.add_customer("Acme Ltd")
    invoice_id = company.emulator.issue_invoice(
        customer,
        currency="USD",
        amount=Decimal("90.00"),
        issue_date=company.clock.now().date(),
        due_date=company.clock.now().date(),
        terms="Due on receipt",
    )
    company.clock.advance(timedelta(minutes=1))
    company.emulator.pay_invoice(invoice_id, Decimal("90.00"))
    assert company.emulator.flush_webhooks() == 1
    kinds = [e.kind for e in receiver.events]
    assert kinds == ["Customer.Create", "Invoice.Create", "Invoice.Update", "Payment.Create"]
    assert len({e.event_id for e in receiver.events}) == 4
    before = company.emulator.stats()["requests"].get("query", 0)
    batch = source.resolve_many(receiver.events)
    # One query per entity kind named: Customer, Invoice, Payment.
    assert company.emulator.stats()["requests"]["query"] - before == 3
    assert [c.name for c in batch.customers] == ["Acme Ltd"]
    assert [(i.source_id, i.status) for i in batch.invoices] == [(invoice_id, InvoiceStatus.PAID)]
    assert batch.payments[0].invoice_ids == (invoice_id,)
    assert batch.invoices[0].paid_date == company.clock.now().date()


def test_payment_event_alone_reads_the_invoices_it_pays(
    connected: tuple[Company, QuickBooksSource],
) -> None:
    company, source = connected
    customer = company.emulator.add_customer("Acme Ltd")
    invoice_id = company.emulator.issue_invoice(
        customer,
        currency="USD",
        amount=Decimal("90.00"),
        issue_date=company.clock.now().date(),
        due_date=company.clock.now().date(),
        terms="Net 0",
    )
    receiver = listen(company, source)
    company.emulator.pay_invoice(invoice_id, Decimal("40.00"))
    company.emulator.flush_webhooks()
    payment_event = next(e for e in receiver.events if e.kind == "Payment.Create")
    batch = source.resolve(payment_event)
    assert [i.balance for i in batch.invoices] == [Decimal("50.00")]


def test_delete_event_resolves_to_a_deletion_without_reading(
    connected: tuple[Company, QuickBooksSource],
) -> None:
    company, source = connected
    customer = company.emulator.add_customer("Acme Ltd")
    invoice_id = company.emulator.issue_invoice(
        customer,
        currency="USD",
        amount=Decimal("9.00"),
        issue_date=company.clock.now().date(),
        due_date=company.clock.now().date(),
        terms="Net 0",
    )
    receiver = listen(company, source)
    company.emulator.delete_invoice(invoice_id)
    company.emulator.flush_webhooks()
    calls = company.requests()
    batch = source.resolve(receiver.events[0])
    assert [d.source_id for d in batch.deleted] == [invoice_id]
    assert company.requests() == calls


def test_event_for_another_company_is_ignored(connected: tuple[Company, QuickBooksSource]) -> None:
    _, source = connected
    event = InboundEvent(
        "quickbooks",
        "x",
        "Invoice.Update",
        "other-realm",
        None,
        {"realm": "other-realm", "entity": "Invoice", "id": "1", "operation": "Update"},
    )
    assert len(source.resolve(event)) == 0


def test_dropped_delivery_is_caught_by_the_cdc_poll(
    connected: tuple[Company, QuickBooksSource],
) -> None:
    company, source = connected
    receiver = listen(company, source)
    cursor = source.start_cursor()
    company.emulator.outbox.drop_next = 1
    customer = company.emulator.add_customer("Lost Webhook Inc")
    assert company.emulator.flush_webhooks() == 0
    assert receiver.events == []
    assert company.emulator.stats()["webhooks_dropped"] == 1
    assert [c.source_id for c in source.poll(cursor).batch.customers] == [customer]


def test_duplicated_delivery_repeats_the_same_event_ids(
    connected: tuple[Company, QuickBooksSource],
) -> None:
    company, source = connected
    receiver = listen(company, source)
    company.emulator.outbox.duplicate_next = 1
    company.emulator.add_customer("Twice Ltd")
    assert company.emulator.flush_webhooks() == 2
    ids = [e.event_id for e in receiver.events]
    assert len(ids) == 2
    assert ids[0] == ids[1]


def test_held_and_reordered_deliveries(connected: tuple[Company, QuickBooksSource]) -> None:
    company, source = connected
    receiver = listen(company, source)
    outbox = company.emulator.outbox
    outbox.events_per_delivery = 1
    outbox.hold = True
    first = company.emulator.add_customer("First")
    second = company.emulator.add_customer("Second")
    assert company.emulator.flush_webhooks() == 0
    outbox.hold = False
    outbox.reorder = True
    assert company.emulator.flush_webhooks() == 2
    assert [e.payload["id"] for e in receiver.events] == [second, first]


def test_a_failing_receiver_holds_back_later_deliveries(
    connected: tuple[Company, QuickBooksSource],
) -> None:
    company, source = connected
    failing = [True]
    receiver = listen(company, source, fail=lambda: failing[0])
    company.emulator.outbox.events_per_delivery = 1
    first = company.emulator.add_customer("First")
    second = company.emulator.add_customer("Second")
    assert company.emulator.flush_webhooks() == 1  # the first fails; the second waits
    assert company.emulator.stats()["webhooks_queued"] == 2
    failing[0] = False
    assert company.emulator.flush_webhooks() == 2
    assert [e.payload["id"] for e in receiver.events] == [first, second]


def test_emulator_signs_with_its_verifier_token(
    connected: tuple[Company, QuickBooksSource],
) -> None:
    company, source = connected
    receiver = listen(company, source)
    company.emulator.add_customer("Signed")
    company.emulator.flush_webhooks()
    body = receiver.bodies[0]
    assert verify({"intuit-signature": sign(body, DEMO_VERIFIER_TOKEN)}, body, DEMO_VERIFIER_TOKEN)
