"""Stripe objects to canonical ones, starting from Stripe's official sample objects."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from arbridge_stripe.mapping import (
    canonical_status,
    invoice_sequence,
    map_customer,
    map_dispute,
    map_invoice,
    map_payments,
)

from arbridge.api import MappingError
from arbridge.errors import PermanentError
from arbridge.model.invoice import DisputeStatus, InvoiceStatus, Source

from .kit import sample

READ_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
UTC_ZONE = ZoneInfo("UTC")
MAR_1_NOON = int(datetime(2026, 3, 1, 12, 0, tzinfo=UTC).timestamp())
MAR_31_NOON = int(datetime(2026, 3, 31, 12, 0, tzinfo=UTC).timestamp())


def invoice(**changes: Any) -> dict[str, Any]:
    obj = sample("invoice")
    obj.update(
        number="ACME-0001",
        status="open",
        effective_at=MAR_1_NOON,
        due_date=MAR_31_NOON,
        hosted_invoice_url="https://invoice.stripe.com/i/acct_1/test_x",
        customer_name="Acme GmbH",
        customer_email="ap@acme.test",
    )
    obj["status_transitions"]["finalized_at"] = MAR_1_NOON
    obj.update(changes)
    return obj


def mapped(obj: dict[str, Any], zone: ZoneInfo = UTC_ZONE) -> Any:
    return map_invoice(obj, account="acct_main", read_at=READ_AT, zone=zone)


def test_sample_open_usd_invoice_maps_cents_to_dollars() -> None:
    result = mapped(invoice(total=123456, amount_due=123456, amount_remaining=123456))
    assert result.source == Source("stripe")
    assert result.key == "stripe:acct_main:in_1Pgc6tB7WZ01zgkWu9fdqL6I"
    assert result.customer_key == "stripe:acct_main:cus_QXg1o8vcGmoR32"
    assert result.currency == "USD"
    assert result.total == Decimal("1234.56")
    assert result.balance == Decimal("1234.56")
    assert result.amount_paid == Decimal("0.00")
    assert result.status is InvoiceStatus.OPEN
    assert (result.issue_date, result.due_date) == (date(2026, 3, 1), date(2026, 3, 31))
    assert result.link == "https://invoice.stripe.com/i/acct_1/test_x"
    assert (result.customer_name, result.billing_email) == ("Acme GmbH", "ap@acme.test")


def test_jpy_is_zero_decimal_whole_yen() -> None:
    result = mapped(invoice(currency="jpy", total=50000, amount_due=50000, amount_remaining=50000))
    assert result.currency == "JPY"
    assert result.total == Decimal(50000)
    assert result.total_money.to_minor() == 50000
    assert str(result.total_money) == "50,000 JPY"


def test_partial_payment_is_partially_paid_with_the_rest_due() -> None:
    result = mapped(invoice(total=10000, amount_due=10000, amount_paid=2500, amount_remaining=7500))
    assert result.status is InvoiceStatus.PARTIALLY_PAID
    assert (result.amount_paid, result.balance) == (Decimal("25.00"), Decimal("75.00"))


def test_paid_invoice_has_no_balance_and_a_paid_date() -> None:
    obj = invoice(status="paid", total=10000, amount_paid=10000, amount_remaining=0)
    paid_at = datetime(2026, 3, 20, 23, 30, tzinfo=UTC)
    obj["status_transitions"]["paid_at"] = int(paid_at.timestamp())
    result = mapped(obj)
    assert result.status is InvoiceStatus.PAID
    assert result.balance == 0
    assert result.paid_date == date(2026, 3, 20)
    # The company's day, not UTC's: 23:30 UTC is already the 21st in Tokyo.
    assert mapped(obj, ZoneInfo("Asia/Tokyo")).paid_date == date(2026, 3, 21)


def test_void_invoice_owes_nothing_even_if_stripe_keeps_amount_remaining() -> None:
    result = mapped(invoice(status="void", total=10000, amount_remaining=10000))
    assert result.status is InvoiceStatus.VOID
    assert result.balance == 0
    assert not result.is_receivable


def test_uncollectible_keeps_its_balance_but_does_not_age() -> None:
    result = mapped(invoice(status="uncollectible", total=10000, amount_remaining=10000))
    assert result.status is InvoiceStatus.UNCOLLECTIBLE
    assert result.balance == Decimal("100.00")
    assert result.days_overdue(date(2026, 6, 1)) == 0


def test_draft_sample_uses_its_id_until_numbered() -> None:
    obj = sample("invoice")  # the official sample is a draft with no number
    result = mapped(obj)
    assert result.status is InvoiceStatus.DRAFT
    assert result.number == obj["id"]
    # No customer name on the sample: the customer id stands in.
    assert result.customer_name == "cus_QXg1o8vcGmoR32"
    assert result.issue_date == datetime.fromtimestamp(obj["effective_at"], UTC).date()


def test_expanded_customer_supplies_the_name_and_email() -> None:
    customer = sample("customer")
    customer.update(name="Initech", email="billing@initech.test")
    result = mapped(invoice(customer=customer, customer_name=None, customer_email=None))
    assert result.customer_id == customer["id"]
    assert (result.customer_name, result.billing_email) == ("Initech", "billing@initech.test")


def test_overdue_is_computed_from_due_date_and_balance() -> None:
    result = mapped(invoice())
    assert result.days_overdue(date(2026, 4, 10)) == 10
    assert result.days_overdue(date(2026, 3, 31)) == 0


def test_terms_come_from_metadata() -> None:
    assert mapped(invoice(metadata={"terms": "Net 30"})).terms == "Net 30"
    assert mapped(invoice(metadata={})).terms is None


def test_unknown_status_is_a_clear_error() -> None:
    with pytest.raises(MappingError, match="unknown status 'pending'"):
        canonical_status({"id": "in_1", "status": "pending"})


def test_lifecycle_sequence_only_moves_forward() -> None:
    stages = [
        {"status": "draft", "total": 1000, "amount_paid": 0},
        {"status": "open", "total": 1000, "amount_paid": 0},
        {"status": "open", "total": 1000, "amount_paid": 300},
        {"status": "open", "total": 1000, "amount_paid": 999},
        {"status": "uncollectible", "total": 1000, "amount_paid": 999},
        {"status": "paid", "total": 1000, "amount_paid": 1000},
    ]
    sequences = [invoice_sequence(s) for s in stages]
    assert sequences == sorted(sequences)
    assert len(set(sequences)) == len(sequences)
    assert max(sequences) < 2**31  # the store keeps it in a 32-bit integer column


def test_a_later_read_wins_over_a_more_advanced_older_read() -> None:
    paid = invoice(status="paid", total=100, amount_paid=100, amount_remaining=0)
    older = map_invoice(paid, account="a", read_at=READ_AT, zone=UTC_ZONE)
    newer = map_invoice(
        invoice(total=100), account="a", read_at=READ_AT + timedelta(seconds=1), zone=UTC_ZONE
    )
    assert newer.version.is_newer_than(older.version)


def test_customer_sample() -> None:
    obj = sample("customer")
    assert map_customer(obj, account="default").name == obj["id"]
    obj.update(name="Acme", email="ap@acme.test")
    result = map_customer(obj, account="default")
    assert (result.key, result.name, result.email) == (
        "stripe:default:cus_QXg1o8vcGmoR32",
        "Acme",
        "ap@acme.test",
    )


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("warning_needs_response", DisputeStatus.OPEN),
        ("needs_response", DisputeStatus.OPEN),
        ("under_review", DisputeStatus.OPEN),
        ("won", DisputeStatus.WON),
        ("warning_closed", DisputeStatus.WON),
        ("lost", DisputeStatus.LOST),
    ],
)
def test_dispute_sample_statuses(status: str, expected: DisputeStatus) -> None:
    obj = sample("dispute")
    obj["status"] = status
    result = map_dispute(obj, account="default", invoice_id="in_9", read_at=READ_AT)
    assert result.status is expected
    assert result.invoice_id == "in_9"
    assert str(result.amount) == "10.00 USD"
    assert result.reason == "general"
    assert result.opened_at == datetime.fromtimestamp(obj["created"], UTC)


def test_closed_dispute_outranks_open_one_read_at_the_same_instant() -> None:
    obj = sample("dispute")
    opened = map_dispute(obj, account="d", invoice_id=None, read_at=READ_AT)
    obj["status"] = "lost"
    closed = map_dispute(obj, account="d", invoice_id=None, read_at=READ_AT)
    assert closed.version.is_newer_than(opened.version)


def test_payments_from_the_official_invoice_payment_sample() -> None:
    paid = sample("invoice_payment")
    paid.update(status="paid", amount_paid=2500, currency="usd")
    paid["status_transitions"]["paid_at"] = MAR_31_NOON
    pending = sample("invoice_payment")  # the sample itself: not paid yet
    obj = invoice(payments={"object": "list", "data": [paid, pending], "has_more": False})
    [payment] = map_payments(obj, account="acct_main", read_at=READ_AT, zone=UTC_ZONE)
    assert (payment.source_id, str(payment.amount)) == ("obj_123", "25.00 USD")
    assert (payment.received_date, payment.invoice_ids) == (date(2026, 3, 31), (obj["id"],))
    assert payment.customer_id == "cus_QXg1o8vcGmoR32"
    assert map_payments(invoice(), account="a", read_at=READ_AT, zone=UTC_ZONE) == []


def test_unreadable_invoice_is_a_permanent_error_naming_it() -> None:
    with pytest.raises(PermanentError, match=r"in_1Pgc6tB7WZ01zgkWu9fdqL6I cannot be read.*XYZ"):
        mapped(invoice(currency="xyz"))
    with pytest.raises(MappingError, match="has no customer"):
        mapped(invoice(customer=None))
