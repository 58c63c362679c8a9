"""Money: ISO 4217 currencies, minor units, rounding and refusal to mix currencies."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from arbridge.model.money import ISO_4217, Money, minor_units, quantize

CURRENCIES = sorted(ISO_4217)
# Stripe caps amounts at 8 digits; 15 digits of minor units is far beyond any real invoice.
MINOR = st.integers(min_value=-(10**15), max_value=10**15)


# --- minor units and quantize ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "digits"),
    [
        ("USD", 2),
        ("EUR", 2),
        ("GBP", 2),
        ("JPY", 0),
        ("KRW", 0),
        ("CLP", 0),
        ("VND", 0),
        ("KWD", 3),
        ("BHD", 3),
        ("TND", 3),
        ("usd", 2),
        ("jpy", 0),
        ("kwd", 3),
    ],
)
def test_minor_units(currency: str, digits: int) -> None:
    assert minor_units(currency) == digits


@pytest.mark.parametrize("code", ["", "US", "USDD", "XXX", "ABC", "usd ", " USD", "U$D"])
def test_minor_units_rejects_unknown_codes(code: str) -> None:
    with pytest.raises(ValueError, match="unknown ISO 4217 currency code") as info:
        minor_units(code)
    assert str(info.value) == f"unknown ISO 4217 currency code {code!r}"


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        # Banker's rounding: ties go to the even digit.
        ("0.125", "USD", "0.12"),
        ("0.135", "USD", "0.14"),
        ("0.1251", "USD", "0.13"),
        ("-0.125", "USD", "-0.12"),
        ("2.5", "JPY", "2"),
        ("3.5", "JPY", "4"),
        ("1.0005", "KWD", "1.000"),
        ("1.0015", "KWD", "1.002"),
        ("7", "USD", "7.00"),
        ("7", "KWD", "7.000"),
        ("7.00", "JPY", "7"),
    ],
)
def test_quantize_rounds_half_even_to_the_minor_unit(
    amount: str, currency: str, expected: str
) -> None:
    result = quantize(Decimal(amount), currency)
    assert str(result) == expected


# --- construction ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("5", "USD", "5.00"),
        (5, "USD", "5.00"),
        (Decimal("5.1"), "USD", "5.10"),
        ("1.500", "USD", "1.50"),
        ("500", "JPY", "500"),
        ("100.000", "JPY", "100"),
        ("1.5", "KWD", "1.500"),
        ("-12.3", "EUR", "-12.30"),
        ("0", "USD", "0.00"),
    ],
)
def test_of_pads_to_minor_units(amount: Decimal | int | str, currency: str, expected: str) -> None:
    money = Money.of(amount, currency)
    assert str(money.amount) == expected
    assert money.currency == currency


def test_currency_is_upper_cased() -> None:
    assert Money.of("1", "usd").currency == "USD"
    assert Money.of("1", "jpy") == Money.of("1", "JPY")


@pytest.mark.parametrize(
    ("amount", "currency", "message"),
    [
        ("1.005", "USD", "1.005 has more decimals than USD allows (2)"),
        ("0.001", "EUR", "0.001 has more decimals than EUR allows (2)"),
        ("1.5", "JPY", "1.5 has more decimals than JPY allows (0)"),
        ("1.2345", "KWD", "1.2345 has more decimals than KWD allows (3)"),
    ],
)
def test_too_many_decimals_is_refused(amount: str, currency: str, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        Money.of(amount, currency)
    assert message in str(info.value)


@pytest.mark.parametrize("code", ["", "US", "USDD", "XXX", "ABC", "EURO", "usd "])
def test_invalid_currency_is_refused(code: str) -> None:
    with pytest.raises(ValidationError) as info:
        Money.of("1", code)
    assert f"unknown ISO 4217 currency code {code.upper()!r}" in str(info.value)


def test_non_string_currency_is_refused() -> None:
    with pytest.raises(ValidationError):
        Money(amount=Decimal(1), currency=840)  # type: ignore[arg-type]


@pytest.mark.parametrize("amount", ["NaN", "Infinity", "-Infinity", "abc", ""])
def test_non_finite_or_garbage_amounts_are_refused(amount: str) -> None:
    with pytest.raises(ValidationError):
        Money(amount=amount, currency="USD")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda: Money.of("1e30", "USD"), id="of-1e30"),
        pytest.param(lambda: Money.of("123456789012345678901234567", "USD"), id="of-27-digits"),
        pytest.param(lambda: Money.from_minor(10**30, "USD"), id="from-minor-1e30"),
    ],
)
def test_amounts_beyond_decimal_precision_fail_validation(build: object) -> None:
    # Must be a validation error (a ValueError), never a raw decimal.InvalidOperation.
    with pytest.raises(ValueError, match="USD"):
        build()  # type: ignore[operator]


# --- floats ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [
        (0.1, "USD", "0.10"),
        (19.99, "USD", "19.99"),
        (1234.5, "EUR", "1234.50"),
        (500.0, "JPY", "500"),
        (1.234, "KWD", "1.234"),
        (-0.01, "USD", "-0.01"),
    ],
)
def test_floats_are_taken_through_their_repr(value: float, currency: str, expected: str) -> None:
    money = Money(amount=value, currency=currency)  # type: ignore[arg-type]
    assert str(money.amount) == expected


def test_float_that_lost_its_cents_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        Money(amount=0.1 + 0.2, currency="USD")  # type: ignore[arg-type]
    assert "0.30000000000000004 has more decimals than USD allows (2)" in str(info.value)


def test_float_is_never_expanded_to_its_binary_value() -> None:
    # Decimal(0.1) would be 0.1000000000000000055511151231257827...; repr gives 0.1.
    assert Money(amount=0.1, currency="KWD").amount == Decimal("0.100")  # type: ignore[arg-type]


# --- arithmetic -----------------------------------------------------------------------------


def test_addition_and_subtraction() -> None:
    a = Money.of("10.25", "USD")
    b = Money.of("0.75", "USD")
    assert a + b == Money.of("11.00", "USD")
    assert str((a + b).amount) == "11.00"
    assert a - b == Money.of("9.50", "USD")
    assert b - a == Money.of("-9.50", "USD")


def test_addition_in_zero_and_three_decimal_currencies() -> None:
    assert Money.of("500", "JPY") + Money.of("250", "JPY") == Money.of("750", "JPY")
    assert Money.of("1.001", "KWD") + Money.of("0.999", "KWD") == Money.of("2", "KWD")
    assert str((Money.of("1.001", "KWD") + Money.of("0.999", "KWD")).amount) == "2.000"


def test_arithmetic_is_exact_where_floats_are_not() -> None:
    total = Money.of("0", "USD")
    for _ in range(10):
        total = total + Money.of("0.10", "USD")
    assert total == Money.of("1.00", "USD")


@pytest.mark.parametrize(
    "operation",
    [
        pytest.param(lambda a, b: a + b, id="add"),
        pytest.param(lambda a, b: a - b, id="sub"),
        pytest.param(lambda a, b: a < b, id="lt"),
        pytest.param(lambda a, b: a <= b, id="le"),
        pytest.param(lambda a, b: a > b, id="gt"),
        pytest.param(lambda a, b: a >= b, id="ge"),
    ],
)
def test_mixing_currencies_is_refused(operation: object) -> None:
    usd = Money.of("1", "USD")
    eur = Money.of("1", "EUR")
    # ``>`` and ``>=`` run as the reflected ``<`` / ``<=`` of the other operand.
    with pytest.raises(ValueError, match=r"^cannot combine (USD with EUR|EUR with USD)$"):
        operation(usd, eur)  # type: ignore[operator]
    with pytest.raises(ValueError, match=r"^cannot combine (USD with EUR|EUR with USD)$"):
        operation(eur, usd)  # type: ignore[operator]


def test_comparisons() -> None:
    one = Money.of("1.00", "USD")
    two = Money.of("2", "USD")
    assert one < two
    assert one <= two
    assert one <= Money.of("1", "USD")
    assert two > one
    assert two >= one
    assert not two < one
    assert not one > two


def test_equality_and_hash_ignore_trailing_zeros_but_not_currency() -> None:
    assert Money.of("1", "USD") == Money.of("1.00", "USD")
    assert hash(Money.of("1", "USD")) == hash(Money.of("1.00", "USD"))
    assert Money.of("1", "USD") != Money.of("1", "EUR")
    assert Money.of("1", "USD") != Money.of("1.01", "USD")
    assert len({Money.of("1", "USD"), Money.of("1.00", "USD"), Money.of("1", "EUR")}) == 2


def test_money_is_frozen() -> None:
    money = Money.of("1", "USD")
    with pytest.raises(ValidationError):
        money.amount = Decimal(2)  # type: ignore[misc]
    assert money.amount == Decimal("1.00")


def test_zero_and_is_zero() -> None:
    zero = Money.of("12.34", "KWD").zero()
    assert zero.currency == "KWD"
    assert str(zero.amount) == "0.000"
    assert zero.is_zero()
    assert not Money.of("0.01", "USD").is_zero()
    assert Money.of("-0.00", "USD").is_zero()
    assert (Money.of("5", "USD") - Money.of("5", "USD")).is_zero()


@pytest.mark.parametrize(
    ("money", "text"),
    [
        (Money.of("1234567.5", "USD"), "1,234,567.50 USD"),
        (Money.of("1000000", "JPY"), "1,000,000 JPY"),
        (Money.of("1.234", "KWD"), "1.234 KWD"),
        (Money.of("-1234", "EUR"), "-1,234.00 EUR"),
        (Money.of("0", "USD"), "0.00 USD"),
    ],
)
def test_str(money: Money, text: str) -> None:
    assert str(money) == text


# --- Stripe-style integer minor units -------------------------------------------------------


@pytest.mark.parametrize(
    ("minor", "currency", "amount"),
    [
        (500, "USD", "5.00"),
        (1999, "USD", "19.99"),
        (1, "EUR", "0.01"),
        (0, "USD", "0.00"),
        (-250, "USD", "-2.50"),
        (500, "JPY", "500"),
        (1, "JPY", "1"),
        (1234, "KWD", "1.234"),
        (5, "KWD", "0.005"),
        (500, "usd", "5.00"),
    ],
)
def test_from_minor(minor: int, currency: str, amount: str) -> None:
    money = Money.from_minor(minor, currency)
    assert str(money.amount) == amount
    assert money.currency == currency.upper()


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("19.99", "USD", 1999),
        ("5", "USD", 500),
        ("0.01", "USD", 1),
        ("-2.5", "USD", -250),
        ("500", "JPY", 500),
        ("1.234", "KWD", 1234),
        ("0", "KWD", 0),
    ],
)
def test_to_minor(amount: str, currency: str, minor: int) -> None:
    result = Money.of(amount, currency).to_minor()
    assert result == minor
    assert type(result) is int


def test_from_minor_refuses_unknown_currency() -> None:
    with pytest.raises(ValueError, match="unknown ISO 4217 currency code 'ABC'"):
        Money.from_minor(100, "ABC")


@given(minor=MINOR, currency=st.sampled_from(CURRENCIES))
def test_minor_round_trip(minor: int, currency: str) -> None:
    money = Money.from_minor(minor, currency)
    assert money.to_minor() == minor
    assert money.amount.as_tuple().exponent == -minor_units(currency)


@given(minor=MINOR, currency=st.sampled_from(CURRENCIES))
def test_amount_round_trip_through_minor(minor: int, currency: str) -> None:
    amount = Decimal(minor).scaleb(-minor_units(currency))
    money = Money(amount=amount, currency=currency)
    assert Money.from_minor(money.to_minor(), currency) == money
    assert Money.of(str(money.amount), currency) == money


@given(a=MINOR, b=MINOR, currency=st.sampled_from(CURRENCIES))
def test_arithmetic_matches_integer_minor_units(a: int, b: int, currency: str) -> None:
    x = Money.from_minor(a, currency)
    y = Money.from_minor(b, currency)
    assert (x + y).to_minor() == a + b
    assert (x - y).to_minor() == a - b
    assert x + y == y + x
    assert (x < y) == (a < b)
    assert (x <= y) == (a <= b)
