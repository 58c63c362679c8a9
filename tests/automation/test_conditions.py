"""Every operator against the fact types it applies to, null handling, and the trace."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from arbridge.automation import Outcome
from tests.automation.builders import MONDAY, facts, one_rule, ruleset, run

TODAY = MONDAY.date()  # 2026-03-09


def holds(condition: str, values: dict[str, Any], at: datetime = MONDAY, tz: str = "UTC") -> bool:
    rules = ruleset(one_rule(conditions=condition))
    evaluation = run(rules, facts(at.date(), values), at, timezone=tz)
    return bool(evaluation.firings)


@pytest.mark.parametrize(
    ("condition", "values", "expected"),
    [
        ("{fact: invoice.status, equals: open}", {}, True),
        ("{fact: invoice.status, equals: paid}", {}, False),
        ("{fact: invoice.status, not_equals: paid}", {}, True),
        ("{fact: invoice.status, in: [open, partially_paid]}", {}, True),
        ("{fact: invoice.status, not_in: [open, partially_paid]}", {}, False),
        ("{fact: invoice.currency, equals: USD}", {}, True),
        ("{fact: invoice.days_overdue, gt: 2}", {"invoice.days_overdue": 3}, True),
        ("{fact: invoice.days_overdue, gt: 3}", {"invoice.days_overdue": 3}, False),
        ("{fact: invoice.days_overdue, gte: 3}", {"invoice.days_overdue": 3}, True),
        ("{fact: invoice.days_overdue, lt: 3}", {"invoice.days_overdue": 3}, False),
        ("{fact: invoice.days_overdue, lte: 3}", {"invoice.days_overdue": 3}, True),
        ("{fact: invoice.days_overdue, between: [3, 6]}", {"invoice.days_overdue": 6}, True),
        ("{fact: invoice.days_overdue, between: [3, 6]}", {"invoice.days_overdue": 7}, False),
        ("{fact: invoice.days_overdue, in: [1, 3]}", {"invoice.days_overdue": 3}, True),
        # Decimals compare exactly, whether written as int, float or string.
        ("{fact: invoice.amount, gte: 1000}", {"invoice.amount": "1000.00"}, True),
        ("{fact: invoice.amount, gt: 999.99}", {"invoice.amount": "1000.00"}, True),
        ('{fact: invoice.amount, equals: "1000.001"}', {"invoice.amount": "1000.00"}, False),
        ("{fact: invoice.balance, between: [0.01, 500]}", {"invoice.amount": "500"}, True),
        ("{fact: insight.p_late, gte: 0.5}", {"insight.p_late": 0.72}, True),
        ("{fact: customer.average_days_late, lt: 3}", {"customer.average_days_late": 2}, True),
        ("{fact: customer.key_account, equals: true}", {"customer.key_account": True}, True),
        ("{fact: customer.key_account, not_equals: true}", {}, True),
        ("{fact: customer.tags, contains: vip}", {"customer.tags": ["vip", "eu"]}, True),
        ("{fact: customer.tags, contains: vip}", {"customer.tags": ["eu"]}, False),
        ("{fact: invoice.due_date, lt: 2026-03-09}", {"invoice.due_date": date(2026, 3, 6)}, True),
        (
            "{fact: invoice.due_date, equals: '2026-03-06'}",
            {"invoice.due_date": date(2026, 3, 6)},
            True,
        ),
        (
            "{fact: invoice.due_date, between: [2026-03-01, 2026-03-31]}",
            {"invoice.due_date": date(2026, 3, 6)},
            True,
        ),
        ("{fact: customer.segment, equals: reliable}", {"customer.segment": "reliable"}, True),
        ("{fact: customer.segment, is_null: true}", {}, True),
        ("{fact: customer.segment, is_null: false}", {}, False),
        ("{fact: invoice.source, equals: stripe}", {"invoice.source": "stripe"}, True),
        (
            "{fact: invoice.aging_bucket, equals: 1-30}",
            {"invoice.due_date": date(2026, 3, 1)},
            True,
        ),
    ],
)
def test_operators(condition: str, values: dict[str, Any], expected: bool) -> None:
    assert holds(condition, values) is expected


@pytest.mark.parametrize(
    ("operator", "days", "value", "expected"),
    [
        ("within_next_days", 3, date(2026, 3, 12), True),
        ("within_next_days", 3, date(2026, 3, 13), False),
        ("within_next_days", 3, date(2026, 3, 8), False),
        ("within_last_days", 7, date(2026, 3, 2), True),
        ("within_last_days", 7, date(2026, 3, 1), False),
        ("within_last_days", 0, TODAY, True),
        ("older_than_days", 3, date(2026, 3, 5), True),
        ("older_than_days", 3, date(2026, 3, 6), False),
    ],
)
def test_date_windows_relative_to_today(
    operator: str, days: int, value: date, expected: bool
) -> None:
    condition = f"{{fact: invoice.promise_to_pay_date, {operator}: {days}}}"
    assert holds(condition, {"invoice.promise_to_pay_date": value}) is expected


def test_datetime_facts_use_the_company_day() -> None:
    # 23:30 UTC on the 8th is already the 9th in Berlin: "today" there.
    sent = datetime(2026, 3, 8, 23, 30, tzinfo=UTC)
    condition = "{fact: invoice.last_reminder_at, within_last_days: 0}"
    values = {"invoice.last_reminder_at": sent}
    assert holds(condition, values, tz="Europe/Berlin") is True
    assert holds(condition, values, tz="UTC") is False


@pytest.mark.parametrize(
    "condition",
    [
        "{fact: customer.segment, equals: reliable}",
        "{fact: customer.segment, in: [reliable]}",
        "{fact: insight.risk_score, gt: 0}",
        "{fact: insight.risk_score, lte: 100}",
        "{fact: insight.risk_score, between: [0, 100]}",
        "{fact: invoice.promise_to_pay_date, within_next_days: 30}",
    ],
)
def test_null_never_satisfies_a_comparison(condition: str) -> None:
    assert holds(condition, {}) is False


def test_null_is_not_equal_to_anything() -> None:
    assert holds("{fact: customer.segment, not_equals: reliable}", {}) is True
    assert holds("{fact: customer.segment, not_in: [reliable]}", {}) is True


def test_groups_and_the_trace() -> None:
    condition = """
      all:
        - {fact: invoice.days_overdue, gte: 3}
        - any:
            - {fact: customer.key_account, equals: true}
            - {fact: invoice.amount, gte: 5000}
        - not: {fact: invoice.disputed, equals: true}"""
    rules = ruleset(one_rule(conditions=condition))
    values = {"invoice.due_date": date(2026, 3, 4), "invoice.amount": 6000}
    evaluation = run(rules, facts(TODAY, values))
    (trace,) = evaluation.trace.rules
    assert trace.outcome is Outcome.FIRED
    assert [e.render() for e in trace.conditions] == [
        "true  all:",
        "  true  invoice.days_overdue gte 3 (actual: 5)",
        "  true  any:",
        "    false customer.key_account equals true (actual: false)",
        "    true  invoice.amount gte 5000 (actual: 6000)",
        "  true  not:",
        "    false invoice.disputed equals true (actual: false)",
    ]
    assert trace.conditions[1].fact == "invoice.days_overdue"
    assert trace.conditions[1].actual == "5"


def test_a_list_of_conditions_means_all() -> None:
    condition = "[{fact: invoice.status, equals: open}, {fact: invoice.amount, gt: 5000}]"
    assert holds(condition, {"invoice.amount": Decimal(6000)}) is True
    assert holds(condition, {"invoice.amount": Decimal(4000)}) is False


def test_no_conditions_always_hold() -> None:
    assert holds("", {}) is True
