"""The Stripe source against the emulator over HTTP: backfill, polling, webhooks, resolution."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
from arbridge_stripe.client import StripeApi
from arbridge_stripe.cursor import EventCursor
from arbridge_stripe.emulator import TokenBucket
from arbridge_stripe.source import StripeSource
from arbridge_stripe.webhooks import to_inbound

from arbridge.api import MappingError
from arbridge.errors import AuthError, NotFoundError, RateLimitedError, TransientError
from arbridge.model.invoice import DisputeStatus, InvoiceStatus
from arbridge.ports.source import SourceBatch

from .conftest import Receiver
from .kit import Ledger, Served

ISSUE = date(2026, 3, 2)
DUE = date(2026, 4, 1)


def issue(env: Served, customer: str, amount: str = "100.00", currency: str = "USD") -> str:
    return env.emulator.issue_invoice(
        customer,
        currency=currency,
        amount=Decimal(amount),
        issue_date=ISSUE,
        due_date=DUE,
        terms="Net 30",
    )


def resolve_all(source: StripeSource, receiver: Receiver) -> SourceBatch:
    batch = SourceBatch()
    for event in receiver.events:
        batch.extend(source.resolve(event))
    return batch


# ---------------------------------------------------------------------- backfill


def test_backfill_pages_customers_then_invoices(env: Served, source: StripeSource) -> None:
    customers = [env.emulator.add_customer(f"Customer {n}") for n in range(3)]
    for n in range(230):
        issue(env, customers[n % 3], amount=f"{n + 1}.00")
    seen: list[int] = []
    batches = list(source.backfill(progress=seen.append))
    assert [len(b.customers) for b in batches] == [3, 0, 0, 0]
    assert [len(b.invoices) for b in batches] == [0, 100, 100, 30]
    invoices = [i for b in batches for i in b.invoices]
    assert len({i.key for i in invoices}) == 230
    assert sum(i.total for i in invoices) == Decimal(sum(range(1, 231)))
    assert {i.customer_id for i in invoices} == set(customers)
    assert seen[-1] == 233
    requests = env.emulator.stats()["requests"]
    assert requests["GET /v1/customers"] == 1
    assert requests["GET /v1/invoices"] == 3


# ---------------------------------------------------------------------- polling


def test_poll_reads_what_changed_since_the_cursor(env: Served, source: StripeSource) -> None:
    customer = env.emulator.add_customer("Acme", "ap@acme.test")
    cursor = source.start_cursor()
    list(source.backfill())
    env.clock.advance(timedelta(minutes=10))
    invoice = issue(env, customer)
    first = source.poll(cursor)
    assert not first.full_sweep
    assert [i.source_id for i in first.batch.invoices] == [invoice]
    assert first.batch.invoices[0].status is InvoiceStatus.OPEN

    env.clock.advance(timedelta(minutes=10))
    env.emulator.pay_invoice(invoice, Decimal("40.00"))
    second = source.poll(first.cursor)
    [partial] = second.batch.invoices
    assert (partial.status, partial.balance) == (InvoiceStatus.PARTIALLY_PAID, Decimal("60.00"))

    # Nothing new: the events of the cursor's second are not read again.
    assert len(source.poll(second.cursor).batch) == 0


def test_events_sharing_a_second_are_neither_lost_nor_repeated(
    env: Served, source: StripeSource
) -> None:
    customer = env.emulator.add_customer("Acme")
    invoice = issue(env, customer)
    cursor = source.start_cursor()
    env.clock.advance(timedelta(minutes=6))
    env.emulator.pay_invoice(invoice, Decimal("10.00"))
    after_first = source.poll(cursor)
    # A second event in the very same second as the cursor's newest.
    env.emulator.pay_invoice(invoice, Decimal("90.00"))
    second = source.poll(after_first.cursor)
    [paid] = second.batch.invoices
    assert paid.status is InvoiceStatus.PAID
    decoded = EventCursor.decode(second.cursor)
    assert decoded is not None
    assert len(decoded.seen) == 4  # updated (partial) + paid, payment_succeeded, updated
    assert len(source.poll(second.cursor).batch) == 0


def test_poll_pages_through_many_events(env: Served, source: StripeSource) -> None:
    customer = env.emulator.add_customer("Acme")
    cursor = source.start_cursor()
    env.clock.advance(timedelta(minutes=6))
    ids = [issue(env, customer, amount="1.00") for _ in range(120)]  # 240 events
    result = source.poll(cursor)
    assert sorted(i.source_id for i in result.batch.invoices) == sorted(ids)
    assert env.emulator.stats()["requests"]["GET /v1/events"] == 3


def test_cursor_older_than_30_days_triggers_a_full_sweep(env: Served, source: StripeSource) -> None:
    customer = env.emulator.add_customer("Acme")
    early = issue(env, customer)
    cursor = source.start_cursor()
    env.clock.advance(timedelta(days=31))
    late = issue(env, customer)
    env.emulator.void_invoice(early)
    result = source.poll(cursor)
    assert result.full_sweep
    states = {i.source_id: i.status for i in result.batch.invoices}
    assert states == {early: InvoiceStatus.VOID, late: InvoiceStatus.OPEN}
    assert [c.source_id for c in result.batch.customers] == [customer]
    assert "GET /v1/events" not in env.emulator.stats()["requests"]
    # The new cursor is fresh: the next poll is incremental again.
    assert not source.poll(result.cursor).full_sweep


def test_unreadable_or_missing_cursor_sweeps(env: Served, source: StripeSource) -> None:
    env.emulator.add_customer("Acme")
    assert source.poll(None).full_sweep  # no backfill ran in this process
    assert source.poll("garbage").full_sweep


def test_none_cursor_continues_from_the_backfill(env: Served, source: StripeSource) -> None:
    customer = env.emulator.add_customer("Acme")
    source.start_cursor()
    list(source.backfill())
    env.clock.advance(timedelta(minutes=10))
    invoice = issue(env, customer)
    result = source.poll(None)
    assert not result.full_sweep
    assert [i.source_id for i in result.batch.invoices] == [invoice]


def test_events_dropped_by_webhooks_are_found_by_polling(
    env: Served, source: StripeSource, receiver: Receiver
) -> None:
    customer = env.emulator.add_customer("Acme")
    cursor = source.start_cursor()
    env.clock.advance(timedelta(minutes=6))
    env.emulator.knobs.drop_next = 10
    invoice = issue(env, customer)
    env.emulator.pay_invoice(invoice, Decimal("100.00"))
    env.emulator.flush_webhooks()
    assert [e.kind for e in receiver.events] == ["customer.created"]
    [found] = source.poll(cursor).batch.invoices
    assert found.status is InvoiceStatus.PAID


# ---------------------------------------------------------------------- webhooks + resolve


def test_webhook_to_resolved_invoice_and_customer(
    env: Served, source: StripeSource, receiver: Receiver
) -> None:
    customer = env.emulator.add_customer("Acme", "ap@acme.test")
    invoice = issue(env, customer, amount="5000", currency="JPY")
    env.emulator.flush_webhooks()
    kinds = [e.kind for e in receiver.events]
    assert kinds == ["customer.created", "invoice.created", "invoice.finalized"]
    batch = source.resolve(receiver.events[-1])
    [resolved] = batch.invoices
    assert resolved.source_id == invoice
    assert (resolved.currency, resolved.total, resolved.balance) == (
        "JPY",
        Decimal(5000),
        Decimal(5000),
    )
    assert resolved.number.endswith("-0001")
    assert resolved.link is not None
    assert invoice in resolved.link
    assert (resolved.issue_date, resolved.due_date) == (ISSUE, DUE)
    assert resolved.terms == "Net 30"
    assert [c.name for c in batch.customers] == ["Acme"]


def test_deleted_draft_becomes_a_deletion(
    env: Served, source: StripeSource, receiver: Receiver
) -> None:
    customer = env.emulator.add_customer("Acme")
    draft = env.emulator.draft_invoice(customer, currency="USD", amount=Decimal("12.00"))
    env.emulator.delete_invoice(draft)
    env.emulator.flush_webhooks()
    created, deleted = (e for e in receiver.events if e.kind.startswith("invoice."))
    # A late invoice.created for a draft that is gone: the re-read finds nothing.
    late = source.resolve(created)
    assert late.invoices == []
    assert [d.source_id for d in late.deleted] == [draft]
    batch = source.resolve(deleted)
    [gone] = batch.deleted
    assert gone.key == f"stripe:default:{draft}"
    assert gone.deleted_at == deleted.occurred_at


def test_dispute_resolves_to_its_invoice_through_the_payment(
    env: Served, source: StripeSource, receiver: Receiver
) -> None:
    customer = env.emulator.add_customer("Acme")
    other = issue(env, customer, amount="10.00")
    invoice = issue(env, customer, amount="250.00")
    env.emulator.pay_invoice(other, Decimal("10.00"))
    env.emulator.pay_invoice(invoice, Decimal("250.00"))
    dispute_id = env.emulator.open_dispute(invoice, "fraudulent")
    env.emulator.flush_webhooks()
    opened = next(e for e in receiver.events if e.kind == "charge.dispute.created")
    batch = source.resolve(opened)
    [dispute] = batch.disputes
    assert (dispute.source_id, dispute.invoice_id) == (dispute_id, invoice)
    assert (dispute.status, dispute.reason, str(dispute.amount)) == (
        DisputeStatus.OPEN,
        "fraudulent",
        "250.00 USD",
    )
    assert [i.source_id for i in batch.invoices] == [invoice]

    env.emulator.close_dispute(dispute_id, won=False)
    env.emulator.flush_webhooks()
    closed = next(e for e in receiver.events if e.kind == "charge.dispute.closed")
    [lost] = source.resolve(closed).disputes
    assert lost.status is DisputeStatus.LOST
    assert lost.version.is_newer_than(dispute.version)


def test_connect_accounts_are_kept_apart(
    env: Served, source: StripeSource, receiver: Receiver
) -> None:
    own = env.emulator.add_customer("Platform customer")
    theirs = env.emulator.add_customer("Connected customer", account="acct_1Connected")
    own_invoice = issue(env, own)
    their_invoice = env.emulator.issue_invoice(
        theirs,
        currency="EUR",
        amount=Decimal("75.00"),
        issue_date=ISSUE,
        due_date=DUE,
        terms="Net 30",
        account="acct_1Connected",
    )
    env.emulator.flush_webhooks()
    finalized = [e for e in receiver.events if e.kind == "invoice.finalized"]
    assert sorted(e.account for e in finalized) == ["acct_1Connected", "default"]
    keys = {i.key for e in finalized for i in source.resolve(e).invoices}
    assert keys == {f"stripe:default:{own_invoice}", f"stripe:acct_1Connected:{their_invoice}"}
    # The platform's backfill and poll do not see the connected account's objects.
    backfilled = {i.source_id for b in source.backfill() for i in b.invoices}
    assert backfilled == {own_invoice}


def test_duplicate_and_reordered_deliveries_converge_on_the_clean_run(
    env: Served, source: StripeSource, receiver: Receiver
) -> None:
    customer = env.emulator.add_customer("Acme")
    invoices = [issue(env, customer, amount="300.00") for _ in range(3)]
    env.emulator.pay_invoice(invoices[0], Decimal("100.00"))
    env.emulator.pay_invoice(invoices[0], Decimal("200.00"))
    env.emulator.pay_invoice(invoices[1], Decimal("50.00"))
    env.emulator.void_invoice(invoices[2])
    dispute = env.emulator.open_dispute(invoices[0], "product_not_received")
    env.emulator.close_dispute(dispute, won=True)
    env.emulator.flush_webhooks()
    clean = Ledger()
    for event in receiver.events:
        clean.apply(source.resolve(event))
    assert clean.invoices[f"stripe:default:{invoices[0]}"].status is InvoiceStatus.PAID

    # The same events delivered twice and shuffled, resolved from the same final state...
    shuffled = receiver.events * 2
    random.Random(7).shuffle(shuffled)
    messy = Ledger()
    for event in shuffled:
        messy.apply(source.resolve(event))
    assert messy.state() == clean.state()

    # ...and batches resolved early but applied late never overwrite newer state.
    early = [source.resolve(e) for e in receiver.events]
    env.clock.advance(timedelta(minutes=1))
    env.emulator.pay_invoice(invoices[1], Decimal("250.00"))
    env.emulator.flush_webhooks()
    latest = source.resolve(receiver.events[-1])
    late = Ledger()
    late.apply(latest)
    for batch in reversed(early):
        late.apply(batch)
    assert late.invoices[f"stripe:default:{invoices[1]}"].status is InvoiceStatus.PAID
    assert late.rejected > 0


# ---------------------------------------------------------------------- errors and health


def test_bad_key_is_an_auth_error_without_the_key(env: Served) -> None:
    bad = env.source(api_key="sk_test_wrongKeyThatShouldNeverBeShown")
    with pytest.raises(AuthError) as caught:
        list(bad.backfill())
    assert "stripe.api_key" in str(caught.value)
    assert "wrongKeyThatShouldNeverBeShown" not in str(caught.value)
    health = bad.health()
    assert not health.ok
    assert "stripe.api_key" in health.message
    assert env.emulator.stats()["http_401"] == 2


def test_health_ok(source: StripeSource) -> None:
    assert source.health().ok


def test_rate_limit_and_server_errors_are_mapped(env: Served, source: StripeSource) -> None:
    limit = {"error": {"type": "invalid_request_error", "code": "rate_limit", "message": "slow"}}
    env.emulator.http.fail_next.append((429, limit))
    with pytest.raises(RateLimitedError) as limited:
        source.poll(source.start_cursor())
    assert limited.value.status == 429

    env.emulator.http.fail_next.append((500, {"error": {"type": "api_error", "message": "boom"}}))
    with pytest.raises(TransientError) as failed:
        source.poll(source.start_cursor())
    assert failed.value.status == 500
    assert not isinstance(failed.value, RateLimitedError)


def test_library_retries_server_errors_when_configured(env: Served) -> None:
    retrying = env.source(max_network_retries=2)
    env.emulator.add_customer("Acme")
    env.emulator.http.fail_next.append((500, {"error": {"type": "api_error", "message": "x"}}))
    [batch] = list(retrying.backfill())
    assert len(batch.customers) == 1
    assert env.emulator.stats()["requests"]["GET /v1/customers"] == 2


def test_missing_dispute_is_not_found(env: Served, source: StripeSource) -> None:
    event = {
        "id": "evt_1",
        "object": "event",
        "type": "charge.dispute.created",
        "created": 1,
        "data": {"object": {"id": "dp_missing", "object": "dispute"}},
    }
    with pytest.raises(NotFoundError, match="dp_missing"):
        source.resolve(to_inbound(event, "default"))


def test_payments_come_with_their_invoice(env: Served, source: StripeSource) -> None:
    customer = env.emulator.add_customer("Acme")
    invoice = issue(env, customer, amount="5000", currency="JPY")
    env.emulator.pay_invoice(invoice, Decimal(1000))
    env.clock.advance(timedelta(days=2))
    env.emulator.pay_invoice(invoice, Decimal(4000))
    [batch] = [b for b in source.backfill() if b.invoices]
    received = sorted((p.received_date, str(p.amount)) for p in batch.payments)
    assert received == [(ISSUE, "1,000 JPY"), (ISSUE + timedelta(days=2), "4,000 JPY")]
    assert {p.invoice_ids for p in batch.payments} == {(invoice,)}
    assert {p.customer_id for p in batch.payments} == {customer}
    event = next(e for e in env.emulator.state.events if e["type"] == "invoice.paid")
    resolved = source.resolve(to_inbound(event, "default"))
    assert sorted(p.source_id for p in resolved.payments) == sorted(
        p.source_id for p in batch.payments
    )


def test_overdue_and_failed_payment_events_resolve_to_the_invoice(
    env: Served, source: StripeSource, receiver: Receiver
) -> None:
    customer = env.emulator.add_customer("Acme")
    invoice = issue(env, customer)
    env.clock.advance(timedelta(days=40))
    env.emulator.fail_payment(invoice)
    env.emulator.emit_overdue(invoice)
    env.emulator.flush_webhooks()
    for kind in ("invoice.payment_failed", "invoice.overdue"):
        event = next(e for e in receiver.events if e.kind == kind)
        [resolved] = source.resolve(event).invoices
        assert resolved.status is InvoiceStatus.OPEN
        assert resolved.days_overdue(env.clock.now().date()) == 10  # due 1 April, now 11 April


def test_rate_limited_reads_are_retried_with_backoff(env: Served) -> None:
    sleeps: list[float] = []
    api = StripeApi(env.settings(max_network_retries=2), sleep=sleeps.append)
    env.emulator.add_customer("Acme")
    limit = {"error": {"type": "invalid_request_error", "code": "rate_limit", "message": "slow"}}
    env.emulator.http.fail_next.extend([(429, limit), (429, limit)])
    page = api.list_customers(None, None)
    assert len(page.data) == 1
    assert len(sleeps) == 2
    assert sleeps[1] > sleeps[0] >= 1.0
    env.emulator.http.fail_next.extend([(429, limit)] * 3)
    with pytest.raises(RateLimitedError):
        api.list_customers(None, None)
    api.close()


def test_quiet_account_keeps_its_cursor_fresh(env: Served, source: StripeSource) -> None:
    customer = env.emulator.add_customer("Acme")
    cursor = source.start_cursor()
    for _ in range(2):
        env.clock.advance(timedelta(days=20))
        result = source.poll(cursor)
        assert not result.full_sweep
        cursor = result.cursor
    invoice = issue(env, customer)
    assert [i.source_id for i in source.poll(cursor).batch.invoices] == [invoice]


def test_backfill_under_test_mode_rate_limit(env: Served) -> None:
    """25 requests/s with a burst: the 429s are retried, nothing is lost."""
    sleeps: list[float] = []
    ticks = [0.0]

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        ticks[0] += seconds

    env.emulator.http.limiter = TokenBucket(2, monotonic=lambda: ticks[0])
    for n in range(3):
        env.emulator.add_customer(f"Customer {n}")
    api = StripeApi(env.settings(max_network_retries=3), sleep=sleep)
    pages = [api.list_customers(None, None) for _ in range(4)]
    assert all(len(p.data) == 3 for p in pages)
    assert sleeps
    assert env.emulator.stats()["http_429"] == len(sleeps)
    api.close()


def test_one_unreadable_invoice_does_not_hold_the_poll_back(
    env: Served, source: StripeSource, caplog: pytest.LogCaptureFixture
) -> None:
    customer = env.emulator.add_customer("Acme")
    cursor = source.start_cursor()
    env.clock.advance(timedelta(minutes=6))
    broken = env.emulator.state.create_invoice(customer, currency="xyz", amount=100)["id"]
    good = issue(env, customer)
    with caplog.at_level("WARNING", logger="arbridge_stripe.source"):
        result = source.poll(cursor)
    assert [i.source_id for i in result.batch.invoices] == [good]
    assert [r.__dict__["object"] for r in caplog.records] == [broken]
    assert EventCursor.decode(result.cursor) != EventCursor.decode(cursor)
    event = next(e for e in env.emulator.state.events if e["data"]["object"]["id"] == broken)
    with pytest.raises(MappingError, match=broken):
        source.resolve(to_inbound(event, "default"))
