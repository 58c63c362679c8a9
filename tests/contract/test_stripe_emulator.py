"""The Stripe emulator against the official ``stripe`` library and Stripe's own sample objects.

Every answer is read through ``StripeClient`` (on its httpx client) pointed at the emulator on
loopback, so what the connector sees is what the library makes of the emulator's JSON. Field
names are compared with ``fixtures3.json`` (API 2026-10-28): the emulator may leave optional
fields out, but must not invent names or bring back the pre-Basil ones.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
import stripe

from tests.connectors.stripe.kit import Served, fixtures, served

# Documented fields the one-object-per-resource fixture happens not to show.
EXTRA_ALLOWED = {
    "invoice": {"payments"},  # includable: expand[]=payments
    "event": {"account"},  # Connect events name their account
}
# Removed from Invoice in 2025-03-31.basil; code reading them breaks.
REMOVED_FROM_INVOICE = {"paid", "paid_out_of_band", "charge", "payment_intent", "quote"}
# What arbridge reads; the emulator must always send these.
REQUIRED = {
    "invoice": {
        "id", "object", "status", "number", "currency", "total", "amount_due", "amount_paid",
        "amount_remaining", "amount_overpaid", "customer", "customer_name", "customer_email",
        "due_date", "created", "effective_at", "status_transitions", "hosted_invoice_url",
        "collection_method", "metadata", "parent", "lines", "livemode",
    },
    "customer": {"id", "object", "name", "email", "created", "metadata", "livemode"},
    "dispute": {
        "id", "object", "amount", "currency", "charge", "payment_intent", "reason", "status",
        "created", "evidence_details", "livemode",
    },
    "event": {
        "id", "object", "api_version", "created", "data", "livemode", "pending_webhooks",
        "request", "type",
    },
    "invoice_payment": {
        "id", "object", "amount_paid", "amount_requested", "currency", "invoice", "payment",
        "status", "status_transitions",
    },
}  # fmt: skip


@pytest.fixture
def env() -> Iterator[Served]:
    with served(seed=3) as running:
        yield running


@pytest.fixture
def client(env: Served) -> Iterator[stripe.StripeClient]:
    http = stripe.HTTPXClient(allow_sync_methods=True)
    yield stripe.StripeClient(
        env.emulator.api_key, base_addresses={"api": env.base_url}, http_client=http
    )
    http.close()  # type: ignore[no-untyped-call]


def scenario(env: Served) -> dict[str, str]:
    emulator = env.emulator
    customer = emulator.add_customer("Acme GmbH", "ap@acme.test")
    invoice = emulator.issue_invoice(
        customer,
        currency="EUR",
        amount=Decimal("480.00"),
        issue_date=date(2026, 3, 2),
        due_date=date(2026, 4, 1),
        terms="Net 30",
    )
    emulator.pay_invoice(invoice, Decimal("80.00"))
    emulator.pay_invoice(invoice, Decimal("400.00"))
    dispute = emulator.open_dispute(invoice, "duplicate")
    return {"customer": customer, "invoice": invoice, "dispute": dispute}


def check_names(kind: str, obj: dict[str, Any]) -> None:
    official = set(fixtures()[kind])
    invented = set(obj) - official - EXTRA_ALLOWED.get(kind, set())
    assert invented == set(), f"{kind} fields not in fixtures3.json: {sorted(invented)}"
    missing = REQUIRED[kind] - set(obj)
    assert missing == set(), f"{kind} lacks {sorted(missing)}"


def test_invoice_parses_and_matches_the_official_shape(
    env: Served, client: stripe.StripeClient
) -> None:
    ids = scenario(env)
    invoice = client.v1.invoices.retrieve(ids["invoice"], {"expand": ["customer", "payments"]})
    assert isinstance(invoice, stripe.Invoice)
    assert isinstance(invoice.customer, stripe.Customer)
    assert invoice.status == "paid"
    assert (invoice.total, invoice.amount_paid, invoice.amount_remaining) == (48000, 48000, 0)
    assert invoice.status_transitions.paid_at is not None
    payments = invoice.payments
    assert payments is not None
    assert [p.amount_paid for p in payments.data] == [40000, 8000]
    assert all(isinstance(p, stripe.InvoicePayment) for p in payments.data)
    assert payments.data[0].payment.payment_intent is not None
    plain = invoice.to_dict()
    check_names("invoice", plain)
    check_names("customer", plain["customer"])
    for payment in plain["payments"]["data"]:
        check_names("invoice_payment", payment)
    assert not REMOVED_FROM_INVOICE & set(plain)


def test_customer_and_dispute(env: Served, client: stripe.StripeClient) -> None:
    ids = scenario(env)
    customer = client.v1.customers.retrieve(ids["customer"])
    assert isinstance(customer, stripe.Customer)
    assert (customer.name, customer.email) == ("Acme GmbH", "ap@acme.test")
    check_names("customer", customer.to_dict())
    dispute = client.v1.disputes.retrieve(ids["dispute"])
    assert isinstance(dispute, stripe.Dispute)
    assert (dispute.amount, dispute.reason, dispute.status) == (
        40000,
        "duplicate",
        "needs_response",
    )
    check_names("dispute", dispute.to_dict())
    # The documented way back to the invoice since Basil: the invoice payments list.
    intent = dispute.payment_intent
    assert isinstance(intent, str)
    found = client.v1.invoice_payments.list(
        {"payment": {"type": "payment_intent", "payment_intent": intent}}
    )
    assert [p.invoice for p in found.data] == [ids["invoice"]]


def test_events_list_pages_and_parse(env: Served, client: stripe.StripeClient) -> None:
    scenario(env)
    page = client.v1.events.list({"limit": 3})
    assert isinstance(page, stripe.ListObject)
    assert page.has_more
    everything = list(page.auto_paging_iter())
    kinds = [e.type for e in everything]
    assert kinds[0] == "charge.dispute.created"
    assert kinds.count("invoice.updated") == 2
    assert len(everything) == len(env.emulator.state.events)
    for event in everything:
        assert isinstance(event, stripe.Event)
        check_names("event", event.to_dict())
    paid = next(e for e in everything if e.type == "invoice.paid")
    assert isinstance(paid.data.object, stripe.Invoice)
    assert paid.api_version == "2026-10-28.endive"


def test_async_methods_on_the_httpx_client(env: Served) -> None:
    ids = scenario(env)

    async def read() -> stripe.Invoice:
        http = stripe.HTTPXClient()
        client = stripe.StripeClient(
            env.emulator.api_key, base_addresses={"api": env.base_url}, http_client=http
        )
        try:
            return await client.v1.invoices.retrieve_async(ids["invoice"])
        finally:
            await http.close_async()  # type: ignore[no-untyped-call]

    assert asyncio.run(read()).id == ids["invoice"]


def test_library_error_classes(env: Served, client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.invoices.retrieve("in_missing")
    assert (missing.value.http_status, missing.value.code) == (404, "resource_missing")
    http = stripe.HTTPXClient(allow_sync_methods=True)
    bad = stripe.StripeClient(
        "sk_test_notTheRightKey000000", base_addresses={"api": env.base_url}, http_client=http
    )
    with pytest.raises(stripe.AuthenticationError) as refused:
        bad.v1.customers.list()
    http.close()  # type: ignore[no-untyped-call]
    assert refused.value.http_status == 401
    assert refused.value.request_id is not None


def test_delivered_webhook_constructs_an_event_with_the_library(env: Served) -> None:
    bodies: list[tuple[bytes, str]] = []

    def capture(request: httpx.Request) -> httpx.Response:
        bodies.append((request.content, request.headers["Stripe-Signature"]))
        return httpx.Response(200)

    env.emulator.sender.use_transport(httpx.MockTransport(capture))
    env.emulator.subscribe("https://example.test/webhooks/stripe")
    scenario(env)
    env.emulator.flush_webhooks()
    assert len(bodies) == len(env.emulator.state.events)
    for body, header in bodies:
        event = stripe.Webhook.construct_event(body, header, env.emulator.webhook_secret)
        assert event.id == json.loads(body)["id"]


def test_plain_http_answers_carry_request_ids(env: Served) -> None:
    response = httpx.get(
        f"{env.base_url}/v1/customers",
        headers={"Authorization": f"Bearer {env.emulator.api_key}", "Stripe-Version": "x"},
    )
    assert response.status_code == 200
    assert response.headers["Request-Id"].startswith("req_")
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {
        "object": "list",
        "data": [],
        "has_more": False,
        "url": "/v1/customers",
    }
