"""The daemon's traceless tick (``explain=False``) decides exactly what the traced one does.

The shipped packs, with extra rules for conflicts, stops and quiet hours, run over a varied
book for three weeks, each mode with its own history; every day the two make the same firings
(same keys, same rendered intents), deferrals and conflicts.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from arbridge.automation import (
    CollectionState,
    CustomerStats,
    FactSet,
    MemoryHistory,
    Outcome,
    RuleSet,
    ScheduleTick,
    build_facts,
    evaluate,
    load_rules,
    load_text,
)
from arbridge.automation.firings import Draft
from arbridge.errors import TemplateProblem
from arbridge.model.calendar import BusinessCalendar
from arbridge.model.invoice import Customer, Invoice, InvoiceStatus, Source, SourceVersion
from tests.automation.builders import decisions

RULES = Path(__file__).parents[2] / "rules"
CALENDAR = BusinessCalendar()
START = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
SEGMENTS = (None, "new", "reliable", "chronic_late")

EXTRA = """
rules:
  - id: extra-status
    description: Competes for the status with the packs
    order: -1
    triggers: [{schedule: {at: "09:00"}}]
    conditions: [{fact: invoice.days_overdue, between: [5, 40]}]
    actions: [{set_status: open}, {set_priority: low}, {add_tag: checked}]
  - id: extra-stop
    description: Stops later rules for large invoices well overdue
    order: -2
    triggers: [{schedule: {at: "09:00"}}]
    conditions: [{fact: invoice.balance, gt: 4000}, {fact: invoice.days_overdue, gte: 10}]
    actions: [{add_tag: stopped}, {stop: true}]
    policy: {repeat: {every_days: 4, max: 3}}
  - id: extra-pause
    description: Holds back later reminders for chronic late payers
    order: -3
    triggers: [{schedule: {at: "09:00"}}]
    conditions: [{fact: customer.segment, equals: chronic_late}]
    actions: [{pause_reminders: {days: 2}}]
    policy: {repeat: {every_days: 5}}
  - id: extra-quiet
    description: Always inside its quiet hours at 09:30
    triggers: [{schedule: {at: "08:00"}}]
    conditions: [{fact: customer.segment, equals: reliable}]
    actions: [{comment: {template: "Quiet {{ invoice.number }}"}}]
    policy: {quiet_hours: {start: "09:00", end: "10:00"}}
"""


def _rules() -> RuleSet:
    packs = load_rules(sorted(p for p in RULES.glob("*.yaml") if ".tests." not in p.name))
    extra = load_text(EXTRA, "rules/extra.yaml")
    assert packs.problems == []
    assert extra.problems == [], [str(p) for p in extra.problems]
    ordered = sorted([*packs.rules, *extra.rules], key=lambda r: r.sort_key)
    return RuleSet(rules=tuple(ordered))


def _book(today: date, seed: int) -> dict[str, FactSet]:
    rnd = random.Random(seed)
    invoices: list[tuple[Invoice, Customer, CollectionState, CustomerStats]] = []
    for n in range(240):
        customer_id = f"C{n // 6}"
        customer = Customer(
            source=Source("stripe"),
            source_account="acct",
            source_id=customer_id,
            name=f"Customer {customer_id}",
            key_account=n // 6 % 5 == 0,
            tags=("vip",) if n % 7 == 0 else (),
        )
        due = START.date() + timedelta(days=rnd.randint(-50, 25))
        total = Decimal(rnd.choice([300, 1200, 4500, 12000, 60000]))
        paid = total / 2 if rnd.random() < 0.2 else Decimal(0)
        invoice = Invoice(
            source=Source("stripe"),
            source_account="acct",
            source_id=f"in_{n}",
            number=f"INV-{n}",
            customer_id=customer_id,
            customer_name=customer.name,
            issue_date=due - timedelta(days=30),
            due_date=due,
            currency=rnd.choice(["USD", "USD", "EUR", "JPY"]),
            total=total,
            amount_paid=paid,
            balance=total - paid,
            status=InvoiceStatus.PARTIALLY_PAID if paid else InvoiceStatus.OPEN,
            billing_email="ap@example.com",
            version=SourceVersion(updated_at=datetime(2026, 1, 1, tzinfo=UTC)),
        )
        state = CollectionState(
            reminders_sent=rnd.randint(0, 3),
            customer_replied_since_last_reminder=rnd.random() < 0.3,
            reminders_paused_until=START.date() + timedelta(days=rnd.randint(-3, 6))
            if rnd.random() < 0.15
            else None,
            disputed=rnd.random() < 0.1,
        )
        stats = CustomerStats(segment=SEGMENTS[n // 6 % len(SEGMENTS)])
        invoices.append((invoice, customer, state, stats))
    siblings = [inv for inv, *_ in invoices]
    return {
        inv.key: build_facts(
            inv,
            customer,
            today=today,
            calendar=CALENDAR,
            collection=state,
            stats=stats,
            customer_invoices=[i for i in siblings if i.customer_id == inv.customer_id],
        )
        for inv, customer, state, stats in invoices
    }


@pytest.mark.parametrize("seed", [1, 2])
def test_the_traceless_tick_decides_as_the_traced_one_day_after_day(seed: int) -> None:
    rules = _rules()
    histories = {True: MemoryHistory(), False: MemoryHistory()}
    fired = deferred = conflicts = stops = pauses = 0
    for day in range(21):
        now = START + timedelta(days=day)
        facts = _book(now.date(), seed)
        results = {
            explain: evaluate(
                rules, ScheduleTick(), facts, history, now, CALENDAR, "UTC", explain=explain
            )
            for explain, history in histories.items()
        }
        assert decisions(results[False]) == decisions(results[True]), now
        for explain, history in histories.items():
            history.record(results[explain].firings)
        fired += len(results[True].firings)
        deferred += len(results[True].deferred)
        conflicts += len(results[True].trace.conflicts)
        stops += results[True].fired_rules().count("extra-stop")
        pauses += results[True].fired_rules().count("extra-pause")
    # The book exercises what the comparison is about.
    assert fired > 300
    assert deferred > 0
    assert conflicts > 0
    assert stops > 0
    assert pauses > 0


def test_templates_render_when_the_intents_are_read() -> None:
    now = START
    rules = _rules()
    facts = _book(now.date(), 3)
    evaluation = evaluate(
        rules, ScheduleTick(), facts, MemoryHistory(), now, CALENDAR, "UTC", explain=False
    )
    commented = [f for f in evaluation.firings if any(isinstance(x, Draft) for x in f.planned)]
    assert commented
    firing = commented[0]
    assert firing.reminders == sum(1 for x in firing.intents if getattr(x, "reminder", False))
    assert firing.intents == firing.intents  # reading twice renders the same text


def test_a_template_failing_on_the_data_raises_when_read() -> None:
    text = """
rules:
  - id: divide
    description: Fails for invoices not overdue
    triggers: [{schedule: {at: "09:00"}}]
    actions: [{comment: {template: "{{ 100 // invoice.days_overdue }}"}}]
"""
    rules = load_text(text, "rules/t.yaml").rules
    facts = _book(START.date(), 4)
    quiet = evaluate(
        rules, ScheduleTick(), facts, MemoryHistory(), START, CALENDAR, "UTC", explain=False
    )
    traced = evaluate(rules, ScheduleTick(), facts, MemoryHistory(), START, CALENDAR, "UTC")
    failing = []
    for firing in quiet.firings:
        try:
            assert firing.intents
        except TemplateProblem as exc:
            failing.append((firing.invoice_key, str(exc)))
    assert failing
    assert {k for k, _ in failing} == {
        t.invoice_key for t in traced.trace.rules if t.outcome is Outcome.ERROR
    }
    assert failing[0][1] == "template failed: ZeroDivisionError: integer division or modulo by zero"
