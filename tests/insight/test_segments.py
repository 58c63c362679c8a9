"""Customer segments and preferred payment weekdays."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from arbridge.insight.generate import customer_habits, generate_history
from arbridge.insight.history import PaymentRecord
from arbridge.insight.segments import Segment, preferred_weekday, profile_customers

MONDAY = date(2024, 1, 1)


def paid(customer: str, lateness: list[int], *, disputed: int = 0) -> list[PaymentRecord]:
    records = []
    for i, days in enumerate(lateness):
        issued = MONDAY + timedelta(days=7 * i)
        due = issued + timedelta(days=30)
        records.append(
            PaymentRecord(
                customer_id=customer,
                invoice_id=f"{customer}-{i}",
                issue_date=issued,
                due_date=due,
                amount=Decimal(100),
                currency="USD",
                paid_date=due + timedelta(days=days),
                disputed=i < disputed,
            )
        )
    return records


def test_each_segment_from_its_thresholds() -> None:
    records = [
        *paid("ONTIME", [0, -2, 0, 1, 0, 0, 0, 0, 0, 0]),
        *paid("SOMETIMES", [0, 0, 6, 0, 9, 0, 5, 4, 0, 0]),
        *paid("CHRONIC", [20, 14, 35, 18, 9, 25, 16, 22, 30, 12]),
        *paid("DISPUTES", [20, 40, 3, 60, 5, 0, 2, 8, 1, 45], disputed=3),
        *paid("FRESH", [50, 50]),
    ]
    segments = {c: p.segment for c, p in profile_customers(records).items()}
    assert segments == {
        "ONTIME": Segment.RELIABLE,
        "SOMETIMES": Segment.OCCASIONALLY_LATE,
        "CHRONIC": Segment.CHRONIC_LATE,
        "DISPUTES": Segment.DISPUTER,
        "FRESH": Segment.NEW,
    }


def test_profiles_count_only_what_was_settled_before_the_date() -> None:
    records = paid("CHRONIC", [20] * 10)
    cutoff = records[4].paid_date
    assert cutoff is not None
    profile = profile_customers(records, as_of=cutoff)["CHRONIC"]
    assert profile.settled == 4
    assert profile.mean_days_late == 20
    assert profile_customers([replace(r, paid_date=None) for r in records])["CHRONIC"].settled == 0


def test_preferred_weekday_needs_enough_payments_on_one_day() -> None:
    thursdays = [date(2024, 1, 4) + timedelta(weeks=i) for i in range(6)]
    assert preferred_weekday(thursdays) == 3
    assert preferred_weekday(thursdays[:4]) is None
    every_day = [date(2024, 1, 1) + timedelta(days=i) for i in range(14)]
    assert preferred_weekday(every_day) is None
    # Issued on Mondays, due 30 days later on Wednesdays, paid a day late: Thursdays.
    profile = profile_customers(paid("RUN", [1] * 8))["RUN"]
    assert profile.preferred_weekday == 3
    assert profile.preferred_weekday_name == "Thursday"


def test_segments_mostly_recover_the_generated_habits() -> None:
    habits = customer_habits(100, 1)
    book = generate_history(100, 2500, 1)
    judged = [(habits[c], p.segment) for c, p in profile_customers(book).items() if p.settled >= 10]
    agreement = sum(1 for habit, segment in judged if habit == segment) / len(judged)
    assert agreement > 0.6
