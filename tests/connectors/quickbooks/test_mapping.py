from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from arbridge_quickbooks.mapping import (
    linked_invoice_ids,
    parse_time,
    to_customer,
    to_invoice,
    to_payment,
)

from arbridge.api import MappingError
from arbridge.model.invoice import InvoiceStatus, Source
from tests.connectors.quickbooks.conftest import sample

REALM = "123145"


def invoice_sample() -> dict[str, Any]:
    body: dict[str, Any] = sample("invoice.object.json")["Invoice"]
    return body


def test_the_docs_invoice_maps_to_a_canonical_open_invoice() -> None:
    invoice = to_invoice(invoice_sample(), REALM, "USD")
    assert invoice.source == Source("quickbooks")
    assert invoice.key == f"quickbooks:{REALM}:{invoice_sample()['Id']}"
    assert invoice.number == "1037"
    assert invoice.customer_id == "24"
    assert invoice.customer_name == "Sonnenschein Family Store"
    assert invoice.issue_date == date(2014, 9, 19)
    assert invoice.due_date == date(2014, 10, 19)
    assert invoice.total == Decimal("362.07")
    assert invoice.balance == Decimal("362.07")
    assert invoice.amount_paid == Decimal("0.00")
    assert invoice.status is InvoiceStatus.OPEN
    assert invoice.billing_email == "Familiystore@intuit.com"
    # The sample has no CurrencyRef: the company's home currency applies.
    assert invoice.currency == "USD"
    pacific = timezone(timedelta(hours=-7))
    assert invoice.version.updated_at == datetime(2014, 9, 19, 13, 16, 17, tzinfo=pacific)
    assert invoice.version.sequence == 0


def test_balance_decides_paid_and_partially_paid() -> None:
    raw = invoice_sample() | {"Balance": Decimal("100.07"), "SyncToken": "3"}
    part = to_invoice(raw, REALM, "USD")
    assert part.status is InvoiceStatus.PARTIALLY_PAID
    assert part.amount_paid == Decimal("262.00")
    assert part.version.sequence == 3
    paid = to_invoice(raw | {"Balance": 0}, REALM, "USD", paid_date=date(2014, 10, 2))
    assert paid.status is InvoiceStatus.PAID
    assert paid.paid_date == date(2014, 10, 2)
    unknown_day = to_invoice(raw | {"Balance": 0}, REALM, "USD")
    assert unknown_day.paid_date == date(2014, 9, 19)  # the day QuickBooks last changed it


def test_overdue_comes_from_due_date_and_balance() -> None:
    invoice = to_invoice(invoice_sample(), REALM, "USD")
    assert invoice.is_overdue(date(2014, 10, 20))
    assert not invoice.is_overdue(date(2014, 10, 19))
    paid = to_invoice(invoice_sample() | {"Balance": 0}, REALM, "USD")
    assert not paid.is_overdue(date(2015, 1, 1))


def test_the_void_sample_maps_to_void() -> None:
    voided = sample("invoice.void-response.json")["Invoice"]
    voided["MetaData"] = {"LastUpdatedTime": "2016-03-16T12:27:10-07:00"}
    invoice = to_invoice(voided, REALM, "USD")
    assert invoice.status is InvoiceStatus.VOID
    assert invoice.balance == 0
    assert invoice.customer_name == "0969 Ocean View Road"
    assert invoice.version.sequence == 1


def test_zero_decimal_currency_keeps_whole_amounts() -> None:
    raw = invoice_sample() | {
        "CurrencyRef": {"value": "JPY", "name": "Japanese Yen"},
        "TotalAmt": Decimal("12000"),
        "Balance": Decimal("2000"),
    }
    invoice = to_invoice(raw, REALM, "USD")
    assert invoice.currency == "JPY"
    assert invoice.total == Decimal("12000")
    assert invoice.amount_paid == Decimal("10000")
    assert invoice.total.as_tuple().exponent == 0


def test_missing_customer_or_timestamp_is_a_mapping_error() -> None:
    raw = invoice_sample()
    del raw["CustomerRef"]
    with pytest.raises(MappingError, match="CustomerRef"):
        to_invoice(raw, REALM, "USD")
    raw = invoice_sample()
    del raw["MetaData"]
    with pytest.raises(MappingError, match="LastUpdatedTime"):
        to_invoice(raw, REALM, "USD")


def test_payment_sample_maps_with_linked_invoices() -> None:
    payment = to_payment(sample("payment.object.json")["Payment"], REALM, "EUR")
    assert payment.amount.amount == Decimal("25.00")
    assert payment.amount.currency == "USD"
    assert payment.customer_id == "20"
    assert payment.invoice_ids == ("67",)
    assert payment.received_date == date(2014, 9, 14)


def test_credit_memo_points_at_its_invoice() -> None:
    memo = sample("creditmemo.object.json")["CreditMemo"]
    memo["InvoiceRef"] = {"value": "130"}
    assert "130" in linked_invoice_ids(memo)


def test_customer_mapping() -> None:
    customer = to_customer(
        {"Id": "7", "DisplayName": "Bill's Windsurf Shop", "PrimaryEmailAddr": {"Address": "b@x"}},
        REALM,
    )
    assert (customer.source_id, customer.name, customer.email) == (
        "7",
        "Bill's Windsurf Shop",
        "b@x",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2015-10-05T14:42:19-0700", datetime(2015, 10, 5, 21, 42, 19, tzinfo=UTC)),
        ("2014-09-19T13:16:17-07:00", datetime(2014, 9, 19, 20, 16, 17, tzinfo=UTC)),
        ("2025-09-08T20:52:31.657Z", datetime(2025, 9, 8, 20, 52, 31, 657000, tzinfo=UTC)),
        ("2025-09-10T21:31:25.179851517Z", datetime(2025, 9, 10, 21, 31, 25, 179851, tzinfo=UTC)),
    ],
)
def test_intuit_time_formats(text: str, expected: datetime) -> None:
    assert parse_time(text) == expected
