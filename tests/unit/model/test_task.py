"""normalise_fact: one canonical string per value, so equal values always compare equal."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from arbridge.model.invoice import AgingBucket, InvoiceStatus, Source
from arbridge.model.task import CHOICES, FACTS, TASK_STATUSES, FactKind, TaskSpec, normalise_fact
from arbridge.settings import installed_sources

NUMBER = FactKind.NUMBER
DATE = FactKind.DATE


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12.50", "12.5"),
        ("12.5", "12.5"),
        (12.5, "12.5"),
        (Decimal("12.500"), "12.5"),
        (Decimal("12.5"), "12.5"),
        ("100", "100"),
        (100, "100"),
        (100.0, "100"),
        ("100.00", "100"),
        (Decimal("1E+2"), "100"),
        (Decimal("100.000"), "100"),
        ("0.10", "0.1"),
        (0.1, "0.1"),
        ("-5.50", "-5.5"),
        (-5.5, "-5.5"),
        ("1234567.89", "1234567.89"),
        (Decimal("1E-7"), "0.0000001"),
        (1e-7, "0.0000001"),
        (1e20, "100000000000000000000"),
        ("  42  ", "42"),
    ],
)
def test_numbers_have_one_canonical_form(value: Any, expected: str) -> None:
    assert normalise_fact(NUMBER, value) == expected


@pytest.mark.parametrize(
    "value",
    [
        0,
        0.0,
        "0",
        "0.00",
        Decimal(0),
        Decimal("0.00"),
        Decimal("0E+3"),
        "-0",
        -0.0,
        Decimal("-0.00"),
    ],
)
def test_every_zero_is_the_same_zero(value: Any) -> None:
    assert normalise_fact(NUMBER, value) == "0"


@pytest.mark.parametrize("value", ["abc", "12,50", "1.2.3", "€5", True])
def test_not_a_number(value: Any) -> None:
    with pytest.raises(ValueError, match=r"^not a number: ") as info:
        normalise_fact(NUMBER, value)
    assert str(info.value) == f"not a number: {value!r}"


@pytest.mark.parametrize(
    "value", ["NaN", "nan", "sNaN", "Infinity", "-inf", float("nan"), float("inf")]
)
def test_non_finite_numbers_are_not_numbers(value: Any) -> None:
    # No number field can hold these; they must fail like any other non-number.
    with pytest.raises(ValueError, match=r"^not a number: "):
        normalise_fact(NUMBER, value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (date(2026, 3, 1), "2026-03-01"),
        ("2026-03-01", "2026-03-01"),
        ("20260301", "2026-03-01"),
        (date(1999, 12, 31), "1999-12-31"),
    ],
)
def test_dates_are_iso(value: Any, expected: str) -> None:
    assert normalise_fact(DATE, value) == expected


@pytest.mark.parametrize("value", ["2026-02-30", "01/03/2026", "tomorrow"])
def test_invalid_dates_raise(value: str) -> None:
    with pytest.raises(ValueError, match=r"Invalid isoformat string|day is out of range"):
        normalise_fact(DATE, value)


@pytest.mark.parametrize("kind", list(FactKind))
@pytest.mark.parametrize("value", [None, ""])
def test_empty_is_none(kind: FactKind, value: Any) -> None:
    assert normalise_fact(kind, value) is None


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        (FactKind.TEXT, "INV-1001", "INV-1001"),
        (FactKind.TEXT, 0, "0"),
        (FactKind.TEXT, " padded ", " padded "),
        (FactKind.CHOICE, InvoiceStatus.PARTIALLY_PAID, "partially_paid"),
        (FactKind.CHOICE, AgingBucket.D1_30, "1-30"),
        (FactKind.CHOICE, Source("stripe"), "stripe"),
        (FactKind.URL, "https://example.com/i/1", "https://example.com/i/1"),
        (NUMBER, 0, "0"),
    ],
)
def test_text_like_values_are_str(kind: FactKind, value: Any, expected: str) -> None:
    assert normalise_fact(kind, value) == expected


@st.composite
def decimals_with_places(draw: st.DrawFn) -> Decimal:
    places = draw(st.integers(min_value=0, max_value=6))
    value: Decimal = draw(
        st.decimals(
            min_value=Decimal("-1e9"),
            max_value=Decimal("1e9"),
            places=places,
            allow_nan=False,
            allow_infinity=False,
        )
    )
    return value


@given(decimals_with_places())
def test_decimal_and_its_str_and_float_forms_normalise_identically(value: Decimal) -> None:
    canonical = normalise_fact(NUMBER, value)
    assert canonical is not None
    assert Decimal(canonical) == value
    assert normalise_fact(NUMBER, str(value)) == canonical
    assert normalise_fact(NUMBER, canonical) == canonical
    as_float = float(value)
    assume(Decimal(repr(as_float)) == value)
    assert normalise_fact(NUMBER, as_float) == canonical


@given(
    value=st.decimals(
        min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=3, allow_nan=False
    ),
    extra=st.integers(min_value=0, max_value=5),
)
def test_trailing_zeros_never_matter(value: Decimal, extra: int) -> None:
    padded = value.quantize(Decimal(1).scaleb(-(3 + extra)))
    assert padded == value
    assert normalise_fact(NUMBER, padded) == normalise_fact(NUMBER, value)
    assert "E" not in (normalise_fact(NUMBER, padded) or "")


@given(st.integers(min_value=-(10**20), max_value=10**20))
def test_integers_normalise_to_their_digits(value: int) -> None:
    assert normalise_fact(NUMBER, value) == str(value)
    assert normalise_fact(NUMBER, Decimal(value).scaleb(0)) == str(value)


def test_fact_tables_are_consistent() -> None:
    # The source's choices are the installed sources (an open identifier, not an enum).
    assert set(CHOICES) | {"source"} == {
        fact for fact, kind in FACTS.items() if kind is FactKind.CHOICE
    }
    assert CHOICES["invoice_status"] == tuple(status.value for status in InvoiceStatus)
    assert CHOICES["aging"] == tuple(bucket.value for bucket in AgingBucket)
    assert installed_sources() == ("quickbooks", "stripe")
    assert set(TASK_STATUSES) == {s.value for s in InvoiceStatus} | {"overdue"}


def test_task_spec_state_is_json() -> None:
    spec = TaskSpec(
        key="quickbooks:realm-1:130",
        name="INV-1001 · Acme",
        description="d",
        status="open",
        due_date=date(2026, 3, 31),
        fields={"total": "100", "link": None},
    )
    assert spec.state() == {
        "key": "quickbooks:realm-1:130",
        "name": "INV-1001 · Acme",
        "description": "d",
        "status": "open",
        "due_date": "2026-03-31",
        "priority": None,
        "assignees": [],
        "fields": {"total": "100", "link": None},
    }
