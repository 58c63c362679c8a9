from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from arbridge_clickup.schema import FieldDef, Option
from arbridge_clickup.values import (
    ValueConversionError,
    date_from_ms,
    date_to_ms,
    from_clickup,
    number_from_clickup,
    number_to_clickup,
    to_clickup,
)
from hypothesis import given
from hypothesis import strategies as st

from arbridge.model.task import CHOICES, FactKind, normalise_fact

ZONES = [
    ZoneInfo(name)
    for name in (
        "UTC",
        "Europe/Berlin",
        "America/Los_Angeles",
        "America/St_Johns",
        "Asia/Kolkata",
        "Pacific/Auckland",
        "Pacific/Kiritimati",
        "Pacific/Pago_Pago",
    )
]
BERLIN = ZoneInfo("Europe/Berlin")


def drop_down(fact: str, names: list[str], indexes: list[int]) -> FieldDef:
    options = tuple(
        Option(id=str(uuid.uuid5(uuid.NAMESPACE_URL, n)), name=n, orderindex=i)
        for n, i in zip(names, indexes, strict=True)
    )
    return FieldDef(fact=fact, id="field", name=fact.title(), type="drop_down", options=options)


def clickup_reads_back_number(written: int | float) -> str:
    # ClickUp answers with the number as a string.
    return json.dumps(written)


def test_numbers_are_written_as_json_numbers() -> None:
    assert number_to_clickup("1234.50") == 1234.5
    assert number_to_clickup("1234.5") == 1234.5
    assert number_to_clickup("100") == 100
    assert isinstance(number_to_clickup("100"), int)
    assert isinstance(number_to_clickup("1E+3"), int)
    assert number_to_clickup("-0.01") == -0.01


def test_numbers_are_read_back_from_strings() -> None:
    assert number_from_clickup("8") == "8"
    assert number_from_clickup("1234.50") == "1234.5"
    assert number_from_clickup(8000) == "8000"
    assert number_from_clickup(None) is None
    assert number_from_clickup("") is None


@pytest.mark.parametrize("bad", ["abc", "NaN", "Infinity"])
def test_non_numbers_are_refused(bad: str) -> None:
    with pytest.raises(ValueConversionError):
        number_to_clickup(bad)


# Exact for up to 15 significant digits, the precision of a double; invoice amounts fit easily.
@given(
    cents=st.integers(min_value=-(10**15), max_value=10**15),
    places=st.sampled_from([0, 1, 2, 3, 4]),
)
def test_number_round_trip(cents: int, places: int) -> None:
    canonical = normalise_fact(FactKind.NUMBER, Decimal(cents).scaleb(-places))
    assert canonical is not None
    written = number_to_clickup(canonical)
    assert isinstance(written, int | float)
    assert number_from_clickup(clickup_reads_back_number(written)) == canonical


def test_date_is_written_at_noon_in_the_company_zone() -> None:
    ms = date_to_ms("2026-03-29", BERLIN)  # the day Berlin moves to summer time
    moment = datetime.fromtimestamp(ms / 1000, tz=BERLIN)
    assert (moment.date(), moment.hour, moment.minute) == (date(2026, 3, 29), 12, 0)
    assert ms == int(datetime(2026, 3, 29, 10, tzinfo=UTC).timestamp()) * 1000


def test_date_reads_clickup_ms_strings() -> None:
    assert date_from_ms("1508369194377", ZoneInfo("UTC")) == "2017-10-18"
    assert date_from_ms("1508369194377", ZoneInfo("Pacific/Auckland")) == "2017-10-19"
    assert date_from_ms(None, BERLIN) is None
    with pytest.raises(ValueConversionError):
        date_from_ms("yesterday", BERLIN)


@given(
    day=st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)),
    zone=st.sampled_from(ZONES),
)
def test_date_round_trip(day: date, zone: ZoneInfo) -> None:
    canonical = day.isoformat()
    written = date_to_ms(canonical, zone)
    assert isinstance(written, int)
    assert date_from_ms(str(written), zone) == canonical
    field = FieldDef(fact="issue_date", id="f", name="Issue date", type="date")
    assert from_clickup(field, str(to_clickup(field, canonical, zone)), zone) == canonical


@st.composite
def choice_fields(draw: st.DrawFn) -> tuple[FieldDef, str]:
    fact = draw(st.sampled_from(sorted(CHOICES)))
    extra = draw(st.lists(st.text(min_size=1, max_size=8), max_size=3))
    names = [*CHOICES[fact], *(e for e in extra if e.casefold() not in CHOICES[fact])]
    names = list(dict.fromkeys(draw(st.permutations(names))))
    # The list's spelling may differ in case from arbridge's.
    names = [n.upper() if draw(st.booleans()) else n for n in names]
    names = list({n.casefold(): n for n in names}.values())
    indexes = draw(
        st.lists(
            st.integers(min_value=0, max_value=500),
            min_size=len(names),
            max_size=len(names),
            unique=True,
        )
    )
    return drop_down(fact, names, indexes), draw(st.sampled_from(CHOICES[fact]))


@given(case=choice_fields())
def test_choice_round_trip_through_uuid_and_orderindex(case: tuple[FieldDef, str]) -> None:
    field, choice = case
    written = to_clickup(field, choice, BERLIN)
    option = field.option_with_id(written)
    assert option is not None, "a drop-down is written as the option's UUID"
    # ClickUp reads a drop-down back as the option's orderindex.
    assert from_clickup(field, option.orderindex, BERLIN) == choice
    assert from_clickup(field, str(option.orderindex), BERLIN) == choice
    # Some payloads (webhooks) carry the UUID instead.
    assert from_clickup(field, written, BERLIN) == choice


@given(choice=st.sampled_from(CHOICES["invoice_status"]))
def test_choice_in_a_text_field_is_written_as_its_name(choice: str) -> None:
    field = FieldDef(fact="invoice_status", id="f", name="Status", type="short_text")
    assert to_clickup(field, choice, BERLIN) == choice
    assert from_clickup(field, choice.upper(), BERLIN) == choice


def test_unknown_choice_is_refused() -> None:
    field = drop_down("source", ["quickbooks", "stripe"], [0, 1])
    with pytest.raises(ValueConversionError, match='no option "xero"'):
        to_clickup(field, "xero", BERLIN)
    with pytest.raises(ValueConversionError):
        from_clickup(field, 7, BERLIN)
    assert from_clickup(field, None, BERLIN) is None


def test_text_and_url_pass_through() -> None:
    text = FieldDef(fact="customer", id="f", name="Customer", type="text")
    url = FieldDef(fact="link", id="g", name="Link", type="url")
    assert to_clickup(text, "Acme GmbH", BERLIN) == "Acme GmbH"
    assert from_clickup(text, "Acme GmbH", BERLIN) == "Acme GmbH"
    assert from_clickup(text, "", BERLIN) is None
    assert from_clickup(text, None, BERLIN) is None
    link = "https://app.qbo.intuit.com/app/invoice?txnId=1042"
    assert from_clickup(url, to_clickup(url, link, BERLIN), BERLIN) == link


def test_currency_field_converts_like_a_number() -> None:
    field = FieldDef(fact="total", id="f", name="Invoice total", type="currency")
    assert to_clickup(field, "1234.50", BERLIN) == 1234.5
    assert from_clickup(field, "1234.5", BERLIN) == "1234.5"
