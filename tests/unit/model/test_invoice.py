"""Invoices and friends: validation, versions, and the derived overdue/aging facts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from arbridge.model.calendar import BusinessCalendar
from arbridge.model.invoice import (
    AgingBucket,
    Customer,
    Dispute,
    DisputeStatus,
    Invoice,
    InvoiceStatus,
    Payment,
    Source,
    SourceVersion,
)
from arbridge.model.money import Money

DUE = date(2026, 3, 31)
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def version(updated_at: datetime = T0, sequence: int = 0) -> SourceVersion:
    return SourceVersion(updated_at=updated_at, sequence=sequence)


def make_invoice(**changes: Any) -> Invoice:
    fields: dict[str, Any] = {
        "source": Source("quickbooks"),
        "source_account": "realm-1",
        "source_id": "130",
        "number": "INV-1001",
        "customer_id": "58",
        "customer_name": "Acme GmbH",
        "issue_date": date(2026, 3, 1),
        "due_date": DUE,
        "currency": "USD",
        "total": Decimal("100.00"),
        "amount_paid": Decimal("0"),
        "balance": Decimal("100.00"),
        "status": InvoiceStatus.OPEN,
        "version": version(),
    }
    fields.update(changes)
    return Invoice(**fields)


def error_text(**changes: Any) -> str:
    with pytest.raises(ValidationError) as info:
        make_invoice(**changes)
    return str(info.value)


# --- validation -----------------------------------------------------------------------------


def test_valid_invoice_normalises_amounts_and_currency() -> None:
    invoice = make_invoice(
        currency="usd", total=Decimal("100"), amount_paid=Decimal("40"), balance=Decimal("60")
    )
    assert invoice.currency == "USD"
    assert (str(invoice.total), str(invoice.amount_paid), str(invoice.balance)) == (
        "100.00",
        "40.00",
        "60.00",
    )


def test_amounts_in_zero_and_three_decimal_currencies() -> None:
    yen = make_invoice(
        currency="JPY", total=Decimal("5000"), amount_paid=Decimal(0), balance=Decimal("5000")
    )
    assert str(yen.total) == "5000"
    dinar = make_invoice(
        currency="KWD", total=Decimal("1.5"), amount_paid=Decimal(0), balance=Decimal("1.5")
    )
    assert str(dinar.balance) == "1.500"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"total": Decimal("100.001")}, "total 100.001 has more decimals than USD allows (2)"),
        (
            {"amount_paid": Decimal("0.005")},
            "amount_paid 0.005 has more decimals than USD allows (2)",
        ),
        ({"balance": Decimal("99.999")}, "balance 99.999 has more decimals than USD allows (2)"),
        (
            {"currency": "JPY", "total": Decimal("100.5"), "balance": Decimal("100")},
            "total 100.5 has more decimals than JPY allows (0)",
        ),
        (
            {"currency": "KWD", "total": Decimal("1.0001"), "balance": Decimal("1")},
            "total 1.0001 has more decimals than KWD allows (3)",
        ),
        ({"total": Decimal("-1.00"), "balance": Decimal(0)}, "total must not be negative"),
        ({"amount_paid": Decimal("-5")}, "amount_paid must not be negative (got -5)"),
        ({"balance": Decimal("-0.01")}, "balance must not be negative (got -0.01)"),
        ({"balance": Decimal("150")}, "balance 150.00 exceeds total 100.00"),
        ({"status": InvoiceStatus.PAID}, "a paid invoice must have a zero balance"),
        ({"currency": "ABC"}, "unknown ISO 4217 currency code 'ABC'"),
        ({"currency": "dollars"}, "unknown ISO 4217 currency code 'DOLLARS'"),
    ],
)
def test_invalid_invoices_are_refused(changes: dict[str, Any], message: str) -> None:
    assert message in error_text(**changes)


def test_negative_total_message_names_the_value() -> None:
    assert "total must not be negative (got -1.00)" in error_text(
        total=Decimal("-1.00"), balance=Decimal(0)
    )


@pytest.mark.parametrize(
    "field", ["source_account", "source_id", "number", "customer_id", "customer_name"]
)
def test_identifiers_must_not_be_empty(field: str) -> None:
    with pytest.raises(ValidationError) as info:
        make_invoice(**{field: ""})
    assert [(e["loc"], e["type"]) for e in info.value.errors()] == [((field,), "string_too_short")]


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError) as info:
        make_invoice(colour="red")
    assert [(e["loc"], e["type"]) for e in info.value.errors()] == [
        (("colour",), "extra_forbidden")
    ]


def test_naive_version_is_refused() -> None:
    with pytest.raises(ValidationError, match="updated_at must be timezone-aware"):
        SourceVersion(updated_at=datetime(2026, 3, 1, 12, 0))


def test_paid_invoice_with_zero_balance_is_valid() -> None:
    invoice = make_invoice(
        status=InvoiceStatus.PAID,
        amount_paid=Decimal("100"),
        balance=Decimal(0),
        paid_date=date(2026, 3, 20),
    )
    assert invoice.balance == 0
    assert not invoice.is_receivable


def test_invoice_is_frozen() -> None:
    invoice = make_invoice()
    with pytest.raises(ValidationError):
        invoice.balance = Decimal(0)  # type: ignore[misc]


def test_keys_and_money_views() -> None:
    invoice = make_invoice(
        source=Source("stripe"), source_account="acct_1", source_id="in_9", customer_id="cus_7"
    )
    assert invoice.key == "stripe:acct_1:in_9"
    assert invoice.customer_key == "stripe:acct_1:cus_7"
    assert invoice.total_money == Money.of("100", "USD")
    assert invoice.balance_money == Money.of("100.00", "USD")


# --- receivable, overdue and aging ----------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "balance", "receivable"),
    [
        (InvoiceStatus.OPEN, "100", True),
        (InvoiceStatus.PARTIALLY_PAID, "60", True),
        (InvoiceStatus.DISPUTED, "100", True),
        (InvoiceStatus.OPEN, "0", False),
        (InvoiceStatus.DRAFT, "100", False),
        (InvoiceStatus.VOID, "100", False),
        (InvoiceStatus.UNCOLLECTIBLE, "100", False),
        (InvoiceStatus.PAID, "0", False),
    ],
)
def test_is_receivable(status: InvoiceStatus, balance: str, receivable: bool) -> None:
    invoice = make_invoice(status=status, balance=Decimal(balance))
    assert invoice.is_receivable is receivable


@pytest.mark.parametrize(
    ("days_late", "bucket"),
    [
        (-10, AgingBucket.CURRENT),
        (-1, AgingBucket.CURRENT),
        (0, AgingBucket.CURRENT),
        (1, AgingBucket.D1_30),
        (30, AgingBucket.D1_30),
        (31, AgingBucket.D31_60),
        (60, AgingBucket.D31_60),
        (61, AgingBucket.D61_90),
        (90, AgingBucket.D61_90),
        (91, AgingBucket.D90_PLUS),
        (400, AgingBucket.D90_PLUS),
    ],
)
def test_days_overdue_and_aging_at_the_boundaries(days_late: int, bucket: AgingBucket) -> None:
    invoice = make_invoice()
    today = DUE + timedelta(days=days_late)
    assert invoice.days_overdue(today) == max(0, days_late)
    assert invoice.days_until_due(today) == -days_late
    assert invoice.is_overdue(today) is (days_late > 0)
    assert invoice.aging_bucket(today) is bucket


@pytest.mark.parametrize(
    ("days", "bucket"),
    [
        (-5, "current"),
        (0, "current"),
        (1, "1-30"),
        (30, "1-30"),
        (31, "31-60"),
        (60, "31-60"),
        (61, "61-90"),
        (90, "61-90"),
        (91, "90+"),
    ],
)
def test_aging_bucket_for_days_overdue(days: int, bucket: str) -> None:
    assert AgingBucket.for_days_overdue(days).value == bucket


@pytest.mark.parametrize(
    "changes",
    [
        {"status": InvoiceStatus.PAID, "amount_paid": Decimal(100), "balance": Decimal(0)},
        {"status": InvoiceStatus.VOID},
        {"status": InvoiceStatus.VOID, "balance": Decimal(0)},
        {"status": InvoiceStatus.DRAFT},
        {"status": InvoiceStatus.UNCOLLECTIBLE},
        {"status": InvoiceStatus.OPEN, "amount_paid": Decimal(100), "balance": Decimal(0)},
    ],
)
def test_settled_or_dead_invoices_are_never_overdue(changes: dict[str, Any]) -> None:
    invoice = make_invoice(**changes)
    long_after = DUE + timedelta(days=365)
    assert invoice.days_overdue(long_after) == 0
    assert not invoice.is_overdue(long_after)
    assert invoice.aging_bucket(long_after) is AgingBucket.CURRENT
    assert invoice.business_days_overdue(long_after, BusinessCalendar()) == 0
    # The due date itself is still a fact.
    assert invoice.days_until_due(long_after) == -365


@pytest.mark.parametrize(
    "status", [InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.DISPUTED]
)
def test_receivable_statuses_age(status: InvoiceStatus) -> None:
    invoice = make_invoice(status=status, amount_paid=Decimal(40), balance=Decimal(60))
    assert invoice.days_overdue(DUE + timedelta(days=45)) == 45
    assert invoice.aging_bucket(DUE + timedelta(days=45)) is AgingBucket.D31_60


def test_invoice_without_due_date() -> None:
    invoice = make_invoice(due_date=None)
    today = date(2027, 1, 1)
    assert invoice.days_overdue(today) == 0
    assert invoice.days_until_due(today) is None
    assert invoice.business_days_overdue(today, BusinessCalendar()) == 0
    assert invoice.business_days_until_due(today, BusinessCalendar()) is None
    assert invoice.aging_bucket(today) is AgingBucket.CURRENT


def test_business_days_overdue_across_independence_day() -> None:
    # Due Thursday 2026-07-02; Friday 07-03 is the observed US holiday, 07-04/05 the weekend.
    invoice = make_invoice(issue_date=date(2026, 6, 1), due_date=date(2026, 7, 2))
    monday = date(2026, 7, 6)
    assert invoice.days_overdue(monday) == 4
    assert invoice.business_days_overdue(monday, BusinessCalendar("US")) == 1
    assert invoice.business_days_overdue(monday, BusinessCalendar()) == 2
    assert invoice.business_days_overdue(date(2026, 7, 3), BusinessCalendar("US")) == 0
    assert invoice.business_days_overdue(date(2026, 7, 3), BusinessCalendar()) == 1
    assert invoice.business_days_overdue(date(2026, 7, 2), BusinessCalendar()) == 0
    assert invoice.business_days_overdue(date(2026, 7, 1), BusinessCalendar()) == 0


def test_business_days_until_due_across_a_weekend_and_holiday() -> None:
    invoice = make_invoice(issue_date=date(2026, 6, 1), due_date=date(2026, 7, 6))
    thursday = date(2026, 7, 2)
    assert invoice.days_until_due(thursday) == 4
    assert invoice.business_days_until_due(thursday, BusinessCalendar("US")) == 1
    assert invoice.business_days_until_due(thursday, BusinessCalendar()) == 2
    assert invoice.business_days_until_due(date(2026, 7, 6), BusinessCalendar()) == 0
    # Past due: negative.
    assert invoice.business_days_until_due(date(2026, 7, 8), BusinessCalendar()) == -2


# --- versions -------------------------------------------------------------------------------


def test_later_update_wins_whatever_the_sequence() -> None:
    older = version(T0, sequence=9)
    newer = version(T0 + timedelta(seconds=1), sequence=0)
    assert newer.is_newer_than(older)
    assert not older.is_newer_than(newer)


def test_same_time_higher_sequence_wins() -> None:
    first = version(T0, sequence=3)
    second = version(T0, sequence=4)
    assert second.is_newer_than(first)
    assert not first.is_newer_than(second)


def test_equal_versions_are_not_newer() -> None:
    assert not version(T0, 2).is_newer_than(version(T0, 2))


def test_versions_compare_instants_across_time_zones() -> None:
    berlin_noon = datetime(2026, 3, 1, 13, 0, tzinfo=timezone(timedelta(hours=1)))
    assert berlin_noon == T0
    assert not version(berlin_noon, 0).is_newer_than(version(T0, 0))
    assert version(berlin_noon, 1).is_newer_than(version(T0, 0))
    # 12:30 in UTC+1 is 11:30 UTC: earlier, despite the larger wall-clock hour.
    assert not version(
        datetime(2026, 3, 1, 12, 30, tzinfo=timezone(timedelta(hours=1))), 5
    ).is_newer_than(version(T0, 0))


def test_version_parses_iso_strings() -> None:
    parsed = SourceVersion.model_validate({"updated_at": "2026-03-01T12:00:00Z", "sequence": 7})
    assert parsed.updated_at == T0
    assert parsed.sequence == 7
    with pytest.raises(ValidationError, match="updated_at must be timezone-aware"):
        SourceVersion.model_validate({"updated_at": "2026-03-01T12:00:00"})


# --- customers, payments, disputes ----------------------------------------------------------


def test_customer() -> None:
    customer = Customer(
        source=Source("quickbooks"), source_account="realm-1", source_id="58", name="Acme GmbH"
    )
    assert customer.key == "quickbooks:realm-1:58"
    assert customer.tags == ()
    assert customer.key_account is False
    with pytest.raises(ValidationError):
        Customer(source=Source("quickbooks"), source_account="realm-1", source_id="58", name="")


def test_payment_amount_is_validated_money() -> None:
    payment = Payment(
        source=Source("stripe"),
        source_account="acct_1",
        source_id="py_1",
        customer_id="cus_1",
        amount={"amount": "12.5", "currency": "eur"},  # type: ignore[arg-type]
        received_date=date(2026, 3, 5),
        invoice_ids=("in_1", "in_2"),
        version=version(),
    )
    assert payment.amount == Money.of("12.50", "EUR")
    with pytest.raises(ValidationError, match="has more decimals than JPY allows"):
        Payment(
            source=Source("stripe"),
            source_account="acct_1",
            source_id="py_1",
            customer_id="cus_1",
            amount={"amount": "12.5", "currency": "JPY"},  # type: ignore[arg-type]
            received_date=date(2026, 3, 5),
            version=version(),
        )


def test_dispute() -> None:
    dispute = Dispute(
        source=Source("stripe"),
        source_account="acct_1",
        source_id="dp_1",
        invoice_id=None,
        amount=Money.from_minor(2500, "USD"),
        reason="fraudulent",
        status=DisputeStatus.OPEN,
        opened_at=T0,
        version=version(),
    )
    assert dispute.amount == Money.of("25", "USD")
    assert dispute.invoice_id is None
    with pytest.raises(ValidationError):
        Dispute.model_validate({**dispute.model_dump(), "status": "pending"})
