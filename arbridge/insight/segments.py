"""Customer segments and preferred payment weekdays, from payment history.

Rules pick a template variant by ``customer.segment`` and may send "on the customer's preferred
day". The thresholds, checked in this order:

- ``new``: fewer than ``MIN_INVOICES`` settled invoices; too little to judge.
- ``disputer``: at least ``DISPUTER_MIN`` disputed invoices making up ``DISPUTER_SHARE`` of them.
- ``chronic_late``: pays ``CHRONIC_MEAN`` or more days late on average, or more than 30 days late
  on ``CHRONIC_SHARE_30`` of its invoices.
- ``occasionally_late``: late on ``OCCASIONAL_SHARE`` of its invoices or more, or on average
  ``OCCASIONAL_MEAN`` days or more.
- ``reliable``: everyone else.

The preferred weekday is the weekday most payments fell on, once at least ``PAY_DAY_MIN_COUNT``
payments and ``PAY_DAY_MIN_SHARE`` of them did; otherwise there is none.
"""

from __future__ import annotations

import calendar
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from arbridge.insight.features import LATE_30, PAY_DAY_MIN_COUNT, PAY_DAY_MIN_SHARE
from arbridge.insight.history import PaymentRecord

MIN_INVOICES = 3
DISPUTER_MIN = 2
DISPUTER_SHARE = 0.15
CHRONIC_MEAN = 12.0
CHRONIC_SHARE_30 = 0.25
OCCASIONAL_SHARE = 0.4
OCCASIONAL_MEAN = 2.0


class Segment(StrEnum):
    NEW = "new"
    RELIABLE = "reliable"
    OCCASIONALLY_LATE = "occasionally_late"
    CHRONIC_LATE = "chronic_late"
    DISPUTER = "disputer"


@dataclass(frozen=True, slots=True)
class CustomerProfile:
    customer_id: str
    segment: Segment
    settled: int
    mean_days_late: float
    share_late: float
    share_late_30: float
    disputed: int
    preferred_weekday: int | None  # 0 = Monday

    @property
    def preferred_weekday_name(self) -> str | None:
        if self.preferred_weekday is None:
            return None
        return calendar.day_name[self.preferred_weekday]


def profile_customers(
    records: Sequence[PaymentRecord], as_of: date | None = None
) -> dict[str, CustomerProfile]:
    """A profile per customer in ``records``, from invoices settled before ``as_of`` (or all)."""
    settled: dict[str, list[PaymentRecord]] = {}
    for r in records:
        settled.setdefault(r.customer_id, [])
        if r.paid_date is not None and (as_of is None or r.paid_date < as_of):
            settled[r.customer_id].append(r)
    return {customer: _profile(customer, paid) for customer, paid in sorted(settled.items())}


def _profile(customer_id: str, paid: list[PaymentRecord]) -> CustomerProfile:
    late = [r.days_late or 0 for r in paid]
    n = len(late)
    mean = sum(late) / n if n else 0.0
    share_late = sum(1 for days in late if days > 0) / n if n else 0.0
    share_30 = sum(1 for days in late if days > LATE_30) / n if n else 0.0
    disputed = sum(1 for r in paid if r.disputed)
    return CustomerProfile(
        customer_id=customer_id,
        segment=segment_of(n, mean, share_late, share_30, disputed),
        settled=n,
        mean_days_late=round(mean, 2),
        share_late=round(share_late, 3),
        share_late_30=round(share_30, 3),
        disputed=disputed,
        preferred_weekday=preferred_weekday([r.paid_date for r in paid if r.paid_date]),
    )


def segment_of(n: int, mean: float, share_late: float, share_30: float, disputed: int) -> Segment:
    """The segment for these figures (thresholds in the module docstring)."""
    if n < MIN_INVOICES:
        return Segment.NEW
    if disputed >= DISPUTER_MIN and disputed >= DISPUTER_SHARE * n:
        return Segment.DISPUTER
    if mean >= CHRONIC_MEAN or share_30 >= CHRONIC_SHARE_30:
        return Segment.CHRONIC_LATE
    if share_late >= OCCASIONAL_SHARE or mean >= OCCASIONAL_MEAN:
        return Segment.OCCASIONALLY_LATE
    return Segment.RELIABLE


def preferred_weekday(paid_dates: Sequence[date]) -> int | None:
    """The weekday (0 = Monday) most payments fell on, if clearly preferred; else None."""
    if len(paid_dates) < PAY_DAY_MIN_COUNT:
        return None
    (weekday, count), *_ = Counter(day.weekday() for day in paid_dates).most_common(1)
    if count < PAY_DAY_MIN_COUNT or count < PAY_DAY_MIN_SHARE * len(paid_dates):
        return None
    return weekday
