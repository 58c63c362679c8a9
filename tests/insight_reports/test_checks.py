from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal

import pytest

from arbridge.insight.checks import (
    Finding,
    check_invoice,
    currency_history,
    summarise,
    terms_days,
)
from arbridge.model.invoice import Invoice, Source
from tests.insight_reports.factory import TODAY, make_invoice

ISSUE = date(2026, 3, 1)


def _clean(number: str = "INV-1", **overrides: object) -> Invoice:
    fields: dict[str, object] = {
        "issue": ISSUE,
        "due": date(2026, 3, 31),
        "terms": "Net 30",
        "total": "150.00",
    }
    return make_invoice(number, **(fields | overrides))  # type: ignore[arg-type]


def _codes(findings: list[Finding]) -> list[str]:
    return [f.code for f in findings]


def test_clean_invoice_has_no_findings() -> None:
    invoice = _clean()
    found = check_invoice(
        invoice,
        today=TODAY,
        lines=[Decimal("100.00"), Decimal("50.00")],
        others=[invoice, _clean("INV-2", source_id="2")],
        customer_currencies={invoice.customer_key: Counter({"USD": 5})},
    )
    assert found == []
    assert summarise(found) is None


@pytest.mark.parametrize("email", [None, "", "  "])
def test_missing_billing_email(email: str | None) -> None:
    found = check_invoice(_clean(email=email), today=TODAY)
    assert found == [Finding("missing_billing_email", "no billing email: reminders cannot go out")]


def test_missing_due_date() -> None:
    assert check_invoice(_clean(due=None), today=TODAY) == [
        Finding("missing_due_date", "no due date")
    ]


def test_due_date_in_the_past() -> None:
    found = check_invoice(_clean(due=date(2026, 3, 3), terms=None), today=TODAY)
    assert found == [Finding("due_date_past", "due date 2026-03-03 is already past")]
    assert check_invoice(_clean(due=TODAY, terms=None), today=TODAY) == []


def test_due_before_issue() -> None:
    found = check_invoice(_clean(due=date(2026, 2, 28), terms=None), today=date(2026, 2, 1))
    assert _codes(found) == ["due_before_issue"]


def test_terms_mismatch() -> None:
    found = check_invoice(_clean(due=date(2026, 4, 15)), today=TODAY)
    assert found == [
        Finding(
            "terms_mismatch",
            "terms 'Net 30' give due date 2026-03-31, but it is 2026-04-15 (45 days after issue)",
        )
    ]


def test_due_on_receipt() -> None:
    later = check_invoice(
        _clean(terms="Due on receipt", issue=TODAY, due=date(2026, 3, 18)), today=TODAY
    )
    assert _codes(later) == ["terms_mismatch"]
    same_day = check_invoice(_clean(terms="Due upon receipt", issue=TODAY, due=TODAY), today=TODAY)
    assert same_day == []


@pytest.mark.parametrize(
    ("terms", "days"),
    [
        ("Net 30", 30),
        ("net30", 30),
        ("NET-15 days", 15),
        ("Net 60 Days", 60),
        ("Due on receipt", 0),
        ("upon receipt", 0),
        ("2/10 Net 30", None),
        ("End of month", None),
        (None, None),
    ],
)
def test_terms_days(terms: str | None, days: int | None) -> None:
    assert terms_days(terms) == days


def test_unparsed_terms_are_not_checked() -> None:
    assert check_invoice(_clean(terms="2/10 Net 30", due=date(2026, 4, 20)), today=TODAY) == []


def test_line_totals() -> None:
    invoice = _clean()
    found = check_invoice(invoice, today=TODAY, lines=[Decimal("100.00"), Decimal("40.00")])
    assert found == [
        Finding(
            "line_total_mismatch",
            "line amounts add up to 140.00 USD but the total is 150.00 USD",
        )
    ]
    assert check_invoice(invoice, today=TODAY, lines=[Decimal("150.00")]) == []


def test_duplicate_numbers_within_one_source_account() -> None:
    invoice = _clean("INV-7", source_id="70")
    others = [
        invoice,
        _clean("inv-7 ", source_id="71"),  # same number, other case and spacing
        _clean("INV-7", source_id="72", account="realm-2"),  # other account: fine
        _clean("INV-7", source_id="in_73", source=Source("stripe")),  # other source: fine
        _clean("INV-8", source_id="74"),
        _clean("INV-7", source_id="75"),
    ]
    found = check_invoice(invoice, today=TODAY, others=others)
    assert found == [Finding("duplicate_number", "number INV-7 is also used by invoice id 71, 75")]
    assert check_invoice(invoice, today=TODAY, others=[invoice]) == []


def test_unusual_currency() -> None:
    history = [_clean(f"H{i}", source_id=f"h{i}", currency="EUR") for i in range(5)]
    history.append(_clean("H9", source_id="h9"))
    counts = currency_history(history)
    usd = _clean()
    assert check_invoice(usd, today=TODAY, customer_currencies=counts) == [
        Finding(
            "unusual_currency",
            "currency USD is unusual for this customer: 5 of 6 earlier invoices were in EUR",
        )
    ]
    eur = _clean(currency="EUR")
    assert check_invoice(eur, today=TODAY, customer_currencies=counts) == []


def test_currency_not_flagged_without_enough_history_or_a_dominant_one() -> None:
    usd = _clean()
    short = {usd.customer_key: Counter({"EUR": 2})}
    assert check_invoice(usd, today=TODAY, customer_currencies=short) == []
    mixed = {usd.customer_key: Counter({"EUR": 5, "GBP": 5, "USD": 1})}
    assert check_invoice(usd, today=TODAY, customer_currencies=mixed) == []
    exactly_a_fifth = {usd.customer_key: Counter({"EUR": 4, "USD": 1})}
    assert check_invoice(usd, today=TODAY, customer_currencies=exactly_a_fifth) == []
    other_customer = {"quickbooks:realm-1:C9": Counter({"EUR": 10})}
    assert check_invoice(usd, today=TODAY, customer_currencies=other_customer) == []


def test_summarise() -> None:
    found = check_invoice(_clean(email=None, due=None), today=TODAY)
    assert summarise(found) == "2 problems: no billing email: reminders cannot go out; no due date"
    assert summarise([Finding("x", "one thing")]) == "1 problem: one thing"
    long = summarise([Finding("x", "y" * 600)])
    assert long is not None
    assert len(long) == 500
    assert long.endswith("…")
