"""Calendar and business-day arithmetic, with an optional public-holiday calendar."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=32)
def _holiday_set(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    calendar = holidays.country_holidays(country, subdiv=subdivision, years=[year])
    return frozenset(calendar.keys())


class BusinessCalendar:
    """Weekdays minus the public holidays of ``country`` (ISO 3166 code), if one is given."""

    def __init__(self, country: str | None = None, subdivision: str | None = None) -> None:
        if country is not None:
            try:
                holidays.country_holidays(country, subdiv=subdivision)
            except NotImplementedError as exc:
                raise ValueError(f"no holiday calendar for {country!r}: {exc}") from exc
        self.country = country
        self.subdivision = subdivision

    def is_business_day(self, day: date) -> bool:
        if day.weekday() >= 5:
            return False
        if self.country is None:
            return True
        return day not in _holiday_set(self.country, self.subdivision, day.year)

    def business_days_between(self, start: date, end: date) -> int:
        """Business days in (start, end], negative when ``end`` is before ``start``."""
        if end == start:
            return 0
        sign = 1 if end > start else -1
        low, high = (start, end) if sign == 1 else (end, start)
        count = 0
        day = low + timedelta(days=1)
        # Whole weeks first so a 90-day-old invoice costs a handful of steps, not 90.
        while (high - day).days >= 7:
            week = [day + timedelta(days=i) for i in range(7)]
            count += sum(1 for d in week if self.is_business_day(d))
            day += timedelta(days=7)
        while day <= high:
            if self.is_business_day(day):
                count += 1
            day += timedelta(days=1)
        return sign * count

    def add_business_days(self, start: date, days: int) -> date:
        step = 1 if days >= 0 else -1
        remaining = abs(days)
        day = start
        while remaining:
            day += timedelta(days=step)
            if self.is_business_day(day):
                remaining -= 1
        return day
