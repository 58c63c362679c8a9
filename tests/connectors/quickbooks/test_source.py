"""Backfill, Change Data Capture and full sweeps against the emulated company."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from arbridge_quickbooks.source import QuickBooksSource, encode_cursor

from arbridge.model.invoice import InvoiceStatus
from tests.connectors.quickbooks.conftest import Company

ISSUED = date(2026, 3, 1)


def invoice(company: Company, customer: str, amount: str = "100.00") -> str:
    return company.emulator.issue_invoice(
        customer,
        currency="USD",
        amount=Decimal(amount),
        issue_date=ISSUED,
        due_date=ISSUED + timedelta(days=30),
        terms="Net 30",
    )


def test_backfill_pages_past_1000_customers_first(
    connected: tuple[Company, QuickBooksSource],
) -> None:
    company, source = connected
    customer = company.emulator.add_customer("Acme Ltd", "ap@acme.test")
    ids = [invoice(company, customer) for _ in range(1003)]
    seen: list[int] = []
    batches = list(source.backfill(seen.append))
    assert [len(b.customers) for b in batches] == [1, 0, 0]
    assert [len(b.invoices) for b in batches] == [0, 1000, 3]
    assert seen == [1, 1001, 1004]
    keys = {i.source_id for b in batches for i in b.invoices}
    assert keys == set(ids)
    # Customer (1 page), Invoice (1000 + 3), Payment (empty page).
    assert company.emulator.stats()["requests"]["query"] == 4


def test_cdc_poll_returns_what_changed_since_the_cursor(
    connected: tuple[Company, QuickBooksSource],
) -> None:
    company, source = connected
    customer = company.emulator.add_customer("Acme Ltd")
    paid_id = invoice(company, customer, "80.00")
    untouched = invoice(company, customer)
    company.clock.advance(timedelta(minutes=5))
    cursor = source.start_cursor()
    list(source.backfill())
    company.clock.advance(timedelta(minutes=10))
    company.emulator.pay_invoice(paid_id, Decimal("30.00"))
    result = source.poll(cursor)
    assert not result.full_sweep
    by_id = {i.source_id: i for i in result.batch.invoices}
    assert untouched not in by_id
    assert by_id[paid_id].status is InvoiceStatus.PARTIALLY_PAID
    assert by_id[paid_id].balance == Decimal("50.00")
    assert [p.invoice_ids for p in result.batch.payments] == [(paid_id,)]
    assert company.emulator.stats()["requests"]["cdc"] == 1
    # The next poll starts where this one began.
    assert json.loads(result.cursor)["since"] == company.clock.now().isoformat()


def test_full_payment_is_paid_on_the_payment_date(
    connected: tuple[Company, QuickBooksSource],
) -> None:
    company, source = connected
    customer = company.emulator.add_customer("Acme Ltd")
    invoice_id = invoice(company, customer, "80.00")
    cursor = source.start_cursor()
    company.clock.advance(timedelta(days=3))
    company.emulator.pay_invoice(invoice_id, Decimal("80.00"))
    paid = source.poll(cursor).batch.invoices[0]
    assert paid.status is InvoiceStatus.PAID
    assert paid.paid_date == company.clock.now().date()
    assert paid.version.sequence == 1


def test_void_and_delete_come_through_cdc(connected: tuple[Company, QuickBooksSource]) -> None:
    company, source = connected
    customer = company.emulator.add_customer("Acme Ltd")
    voided = invoice(company, customer)
    deleted = invoice(company, customer)
    cursor = source.start_cursor()
    company.clock.advance(timedelta(minutes=5))
    company.emulator.void_invoice(voided)
    company.emulator.delete_invoice(deleted)
    batch = source.poll(cursor).batch
    assert [(i.source_id, i.status) for i in batch.invoices] == [(voided, InvoiceStatus.VOID)]
    assert [d.source_id for d in batch.deleted] == [deleted]
    assert batch.deleted[0].key == f"quickbooks:{company.emulator.realm_id}:{deleted}"
    assert batch.deleted[0].deleted_at == company.clock.now()


def test_cursor_older_than_30_days_triggers_a_full_sweep(
    connected: tuple[Company, QuickBooksSource],
) -> None:
    company, source = connected
    customer = company.emulator.add_customer("Acme Ltd")
    old = invoice(company, customer)
    cursor = source.start_cursor()
    company.clock.advance(timedelta(days=31))
    gone = invoice(company, customer)
    company.emulator.delete_invoice(gone)
    result = source.poll(cursor)
    assert result.full_sweep
    assert [i.source_id for i in result.batch.invoices] == [old]
    assert [c.source_id for c in result.batch.customers] == [customer]
    # Queries cannot see deletions; the sweep asks CDC for the last 30 days of them.
    assert [d.source_id for d in result.batch.deleted] == [gone]
    assert company.emulator.stats()["http_429"] == 0
    again = source.poll(result.cursor)
    assert not again.full_sweep


def test_daily_full_sweep(connected: tuple[Company, QuickBooksSource]) -> None:
    company, source = connected
    now = company.clock.now()
    recent_sweep = encode_cursor(now - timedelta(minutes=5), now - timedelta(hours=23))
    assert not source.poll(recent_sweep).full_sweep
    stale_sweep = encode_cursor(now - timedelta(minutes=5), now - timedelta(hours=25))
    assert source.poll(stale_sweep).full_sweep


def test_unknown_cursor_means_full_sweep(connected: tuple[Company, QuickBooksSource]) -> None:
    _, source = connected
    assert source.poll(None).full_sweep
    assert source.poll("not json").full_sweep


def test_cdc_at_its_cap_falls_back_to_queries(
    connected: tuple[Company, QuickBooksSource],
) -> None:
    company, source = connected
    customer = company.emulator.add_customer("Acme Ltd")
    cursor = source.start_cursor()
    company.clock.advance(timedelta(seconds=30))
    ids = {invoice(company, customer) for _ in range(1001)}
    result = source.poll(cursor)
    assert not result.full_sweep
    assert {i.source_id for i in result.batch.invoices} == ids
    assert company.emulator.stats()["requests"]["cdc"] == 1


def test_home_currency_is_read_once_for_objects_without_currency(
    connected: tuple[Company, QuickBooksSource],
) -> None:
    company, source = connected
    company.emulator.company.home_currency = "EUR"
    customer = company.emulator.add_customer("Acme GmbH")
    for _ in range(2):
        created = invoice(company, customer)
        del company.emulator.company.objects["Invoice"][created]["CurrencyRef"]
    batches = list(source.backfill())
    currencies = {i.currency for b in batches for i in b.invoices}
    assert currencies == {"EUR"}
    # Customer, Invoice, Preferences (once), Payment.
    assert company.emulator.stats()["requests"]["query"] == 4


def test_an_unmappable_invoice_is_skipped_not_blocking(
    connected: tuple[Company, QuickBooksSource], caplog: pytest.LogCaptureFixture
) -> None:
    company, source = connected
    customer = company.emulator.add_customer("Acme Ltd")
    good = invoice(company, customer)
    bad = invoice(company, customer)
    company.emulator.company.objects["Invoice"][bad]["CurrencyRef"] = {"value": "XXQ"}
    batches = list(source.backfill())
    assert [i.source_id for b in batches for i in b.invoices] == [good]
    assert source.skipped == 1
    assert f"QuickBooks Invoice {bad} skipped" in caplog.text
