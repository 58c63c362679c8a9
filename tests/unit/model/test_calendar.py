"""Business-day arithmetic: weekends, and public holidays from the ``holidays`` package."""

from __future__ import annotations

from datetime import date, timedelta

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arbridge.model.calendar import BusinessCalendar

PLAIN = BusinessCalendar()
US = BusinessCalendar("US")
BAVARIA = BusinessCalendar("DE", "BY")

# 2026-07-04 is a Saturday; the US federal holiday is observed on Friday 2026-07-03.
THU_JUL_2 = date(2026, 7, 2)
FRI_JUL_3 = date(2026, 7, 3)
SAT_JUL_4 = date(2026, 7, 4)
SUN_JUL_5 = date(2026, 7, 5)
MON_JUL_6 = date(2026, 7, 6)

DAYS = st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31))
CALENDARS = st.sampled_from([PLAIN, US, BAVARIA])


def naive_count(calendar: BusinessCalendar, start: date, end: date) -> int:
    """Business days in (start, end], one day at a time, negated when end < start."""
    low, high = sorted((start, end))
    count = sum(
        1
        for offset in range(1, (high - low).days + 1)
        if calendar.is_business_day(low + timedelta(days=offset))
    )
    return count if end >= start else -count


def test_holidays_package_agrees_on_independence_day_2026() -> None:
    us = holidays.country_holidays("US", years=[2026])
    assert SAT_JUL_4.weekday() == 5
    assert FRI_JUL_3.weekday() == 4
    assert us.get(FRI_JUL_3) == "Independence Day (observed)"
    assert us.get(SAT_JUL_4) == "Independence Day"


@pytest.mark.parametrize(
    ("day", "plain", "us"),
    [
        (THU_JUL_2, True, True),
        (FRI_JUL_3, True, False),
        (SAT_JUL_4, False, False),
        (SUN_JUL_5, False, False),
        (MON_JUL_6, True, True),
        (date(2026, 1, 1), True, False),  # New Year's Day, a Thursday
        (date(2026, 11, 26), True, False),  # Thanksgiving
        (date(2026, 12, 25), True, False),  # Christmas, a Friday
        (date(2026, 12, 24), True, True),
    ],
)
def test_is_business_day(day: date, plain: bool, us: bool) -> None:
    assert PLAIN.is_business_day(day) is plain
    assert US.is_business_day(day) is us


def test_subdivision_holidays() -> None:
    epiphany = date(2026, 1, 6)  # a Tuesday; a holiday in Bavaria, not nationwide
    assert BAVARIA.is_business_day(epiphany) is False
    assert BusinessCalendar("DE").is_business_day(epiphany) is True
    unity_day = date(2025, 10, 3)  # a Friday; a holiday nationwide
    assert BusinessCalendar("DE").is_business_day(unity_day) is False
    assert BAVARIA.is_business_day(unity_day) is False
    assert US.is_business_day(unity_day) is True


def test_unknown_country_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^no holiday calendar for 'XX': "):
        BusinessCalendar("XX")


def test_unknown_subdivision_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^no holiday calendar for 'US': .*ZZ"):
        BusinessCalendar("US", "ZZ")


def test_attributes_are_kept() -> None:
    assert (BAVARIA.country, BAVARIA.subdivision) == ("DE", "BY")
    assert (PLAIN.country, PLAIN.subdivision) == (None, None)


@pytest.mark.parametrize(
    ("start", "end", "plain", "us"),
    [
        (THU_JUL_2, THU_JUL_2, 0, 0),
        (THU_JUL_2, FRI_JUL_3, 1, 0),
        (THU_JUL_2, SAT_JUL_4, 1, 0),
        (THU_JUL_2, MON_JUL_6, 2, 1),
        (FRI_JUL_3, MON_JUL_6, 1, 1),
        (SAT_JUL_4, SUN_JUL_5, 0, 0),
        (SAT_JUL_4, MON_JUL_6, 1, 1),
        # Reversed: the same days, negative.
        (MON_JUL_6, THU_JUL_2, -2, -1),
        (FRI_JUL_3, THU_JUL_2, -1, 0),
        (MON_JUL_6, FRI_JUL_3, -1, -1),
        # Across a plain weekend in March.
        (date(2026, 3, 6), date(2026, 3, 9), 1, 1),
        (date(2026, 3, 6), date(2026, 3, 13), 5, 5),
        (date(2026, 3, 9), date(2026, 3, 6), -1, -1),
        # Across New Year: 2026-01-01 is a US holiday, 2026-01-02 a Friday.
        (date(2025, 12, 31), date(2026, 1, 2), 2, 1),
        # All of 2026 after New Year's Day: 260 weekdays, 10 of them US holidays.
        (date(2026, 1, 1), date(2026, 12, 31), 260, 250),
    ],
)
def test_business_days_between(start: date, end: date, plain: int, us: int) -> None:
    assert PLAIN.business_days_between(start, end) == plain
    assert US.business_days_between(start, end) == us


@settings(deadline=None, max_examples=60)
@given(calendar=CALENDARS, start=DAYS, end=DAYS)
def test_business_days_between_matches_a_day_by_day_count(
    calendar: BusinessCalendar, start: date, end: date
) -> None:
    assert calendar.business_days_between(start, end) == naive_count(calendar, start, end)


@settings(deadline=None, max_examples=60)
@given(calendar=CALENDARS, a=DAYS, b=DAYS, c=DAYS)
def test_business_days_between_is_antisymmetric_and_additive(
    calendar: BusinessCalendar, a: date, b: date, c: date
) -> None:
    assert calendar.business_days_between(a, b) == -calendar.business_days_between(b, a)
    assert calendar.business_days_between(a, b) + calendar.business_days_between(
        b, c
    ) == calendar.business_days_between(a, c)


@pytest.mark.parametrize(
    ("start", "days", "plain", "us"),
    [
        (THU_JUL_2, 0, THU_JUL_2, THU_JUL_2),
        (SAT_JUL_4, 0, SAT_JUL_4, SAT_JUL_4),
        (THU_JUL_2, 1, FRI_JUL_3, MON_JUL_6),
        (THU_JUL_2, 2, MON_JUL_6, date(2026, 7, 7)),
        (FRI_JUL_3, 1, MON_JUL_6, MON_JUL_6),
        (SAT_JUL_4, 1, MON_JUL_6, MON_JUL_6),
        (MON_JUL_6, -1, FRI_JUL_3, THU_JUL_2),
        (MON_JUL_6, -2, THU_JUL_2, date(2026, 7, 1)),
        (SUN_JUL_5, -1, FRI_JUL_3, THU_JUL_2),
        (date(2026, 3, 6), 5, date(2026, 3, 13), date(2026, 3, 13)),
    ],
)
def test_add_business_days(start: date, days: int, plain: date, us: date) -> None:
    assert PLAIN.add_business_days(start, days) == plain
    assert US.add_business_days(start, days) == us


@settings(deadline=None, max_examples=60)
@given(calendar=CALENDARS, start=DAYS, days=st.integers(min_value=0, max_value=300))
def test_add_business_days_inverts_business_days_between(
    calendar: BusinessCalendar, start: date, days: int
) -> None:
    end = calendar.add_business_days(start, days)
    assert calendar.business_days_between(start, end) == days
    if days:
        assert calendar.is_business_day(end)


@settings(deadline=None, max_examples=60)
@given(calendar=CALENDARS, start=DAYS, days=st.integers(min_value=1, max_value=300))
def test_add_negative_business_days_lands_on_a_business_day(
    calendar: BusinessCalendar, start: date, days: int
) -> None:
    end = calendar.add_business_days(start, -days)
    assert end < start
    assert calendar.is_business_day(end)
    # (end, start] holds ``days`` business days when start is one, one fewer otherwise.
    expected = days if calendar.is_business_day(start) else days - 1
    assert calendar.business_days_between(end, start) == expected
