"""The generated history: deterministic, about eight days late, attributes that matter."""

from __future__ import annotations

from datetime import date, timedelta
from statistics import mean

import pytest

from arbridge.insight.generate import generate_history
from arbridge.insight.history import PaymentRecord


def test_same_seed_same_history_other_seed_other_history() -> None:
    assert generate_history(30, 400, seed=5) == generate_history(30, 400, seed=5)
    assert generate_history(30, 400, seed=5) != generate_history(30, 400, seed=6)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_average_lateness_is_near_eight_days(seed: int) -> None:
    book = generate_history(100, 2500, seed)
    lateness = [r.days_late for r in book if r.days_late is not None]
    assert 6.0 <= mean(lateness) <= 10.0


def test_shape_of_the_book(book: list[PaymentRecord]) -> None:
    assert len(book) == 2500
    assert len({r.customer_id for r in book}) <= 100
    assert len({r.invoice_id for r in book}) == 2500
    issued = [r.issue_date for r in book]
    assert min(issued) == date(2024, 1, 1)
    assert max(issued) - min(issued) > timedelta(days=700)
    assert {r.terms_days for r in book} == {15, 30, 60}
    assert {r.currency for r in book} == {"USD", "EUR", "JPY"}
    assert all(set(r.attributes) == {"region", "channel"} for r in book)
    open_share = sum(r.paid_date is None for r in book) / len(book)
    assert 0.01 < open_share < 0.15
    # Still-open invoices are mostly recent ones.
    assert (
        mean(r.issue_date.toordinal() for r in book if r.paid_date is None)
        > date(2025, 9, 1).toordinal()
    )
    assert all(r.paid_date is None or r.paid_date >= r.issue_date for r in book)


def test_amounts_are_log_normal_with_a_long_tail(book: list[PaymentRecord]) -> None:
    usd = sorted(float(r.amount) for r in book if r.currency == "USD")
    median = usd[len(usd) // 2]
    assert 800 < median < 4000
    assert usd[-1] > 10 * median


def test_the_billing_channel_moves_lateness(book: list[PaymentRecord]) -> None:
    by_channel: dict[str, list[int]] = {}
    for r in book:
        if r.days_late is not None:
            by_channel.setdefault(r.attributes["channel"], []).append(r.days_late)
    assert mean(by_channel["post"]) > mean(by_channel["email"]) > mean(by_channel["portal"])


def _late_share(book: list[PaymentRecord], first_day: int, last_day: int) -> float:
    start = date(2024, 1, 1)
    window = [
        r.days_late > 0
        for r in book
        if r.days_late is not None and first_day <= (r.issue_date - start).days < last_day
    ]
    return sum(window) / len(window)


def test_a_drifting_book_pays_later_and_later() -> None:
    steady = generate_history(100, 2500, 2)
    drifting = generate_history(100, 2500, 2, regime="drifting")
    assert _late_share(drifting, 600, 730) > _late_share(drifting, 0, 130) + 0.2
    assert _late_share(steady, 600, 730) < _late_share(steady, 0, 130) + 0.15
    # A steady book does not depend on the regime argument.
    assert generate_history(30, 400, 5, regime="steady") == generate_history(30, 400, 5)


def test_a_seasonal_book_is_slow_in_december_and_fast_at_quarter_ends() -> None:
    book = generate_history(100, 2500, 2, regime="seasonal")
    steady = generate_history(100, 2500, 2)

    def mean_late(records: list[PaymentRecord], month: int, last_days: bool) -> float:
        # Signed (early payments negative): days late alone would hide a shift toward early.
        chosen = [
            (r.paid_date - r.due_date).days
            for r in records
            if r.paid_date is not None
            and r.due_date.month == month
            and (r.due_date.day > 21) == last_days
        ]
        return mean(chosen)

    assert mean_late(book, 12, False) > mean_late(steady, 12, False) + 4
    assert mean_late(book, 9, True) < mean_late(steady, 9, True) - 3


def test_unknown_regime_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown regime 'weekly'"):
        generate_history(10, 10, 1, regime="weekly")
