"""The dunning pack over 60 simulated days: the evaluator fed day by day, history in memory."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from arbridge.automation import (
    CollectionState,
    Event,
    MemoryHistory,
    ScheduleTick,
    build_facts,
    evaluate,
    load_rules,
)
from arbridge.automation import intents as i
from arbridge.model.calendar import BusinessCalendar
from arbridge.model.invoice import Customer, Invoice, InvoiceStatus, Source, SourceVersion

RULES = Path(__file__).parents[2] / "rules"
TZ = ZoneInfo("Europe/Berlin")  # the clocks change on 2026-03-29, inside the run
DUE = date(2026, 3, 16)  # a Monday
START = DUE - timedelta(days=10)
CALENDAR = BusinessCalendar()


def _invoice(**changes: object) -> Invoice:
    base = Invoice(
        source=Source("quickbooks"),
        source_account="realm",
        source_id="42",
        number="INV-42",
        customer_id="7",
        customer_name="Acme Ltd",
        issue_date=DUE - timedelta(days=30),
        due_date=DUE,
        currency="EUR",
        total=Decimal("2400.00"),
        amount_paid=Decimal(0),
        balance=Decimal("2400.00"),
        status=InvoiceStatus.OPEN,
        version=SourceVersion(updated_at=datetime(2026, 2, 14, tzinfo=TZ)),
    )
    return base.model_copy(update=changes)


CUSTOMER = Customer(
    source=Source("quickbooks"), source_account="realm", source_id="7", name="Acme Ltd"
)


def simulate(
    *, replies: bool, paid_on: date | None = None, days: int = 60
) -> tuple[list[tuple[date, str]], list[i.Intent]]:
    """Run the dunning pack at 09:00 and 15:00 every day; returns (day, rule) per firing."""
    loaded = load_rules([RULES / "dunning.yaml", RULES / "paid.yaml"])
    assert loaded.ok
    history = MemoryHistory()
    state = CollectionState()
    invoice = _invoice()
    fired: list[tuple[date, str]] = []
    intents: list[i.Intent] = []
    for n in range(days):
        today = START + timedelta(days=n)
        if paid_on == today:
            invoice = invoice.model_copy(
                update={
                    "status": InvoiceStatus.PAID,
                    "amount_paid": invoice.total,
                    "balance": Decimal(0),
                    "paid_date": today,
                }
            )
        for hour in (9, 15):
            now = datetime.combine(today, time(hour), tzinfo=TZ)
            facts = build_facts(
                invoice,
                CUSTOMER,
                today=today,
                calendar=CALENDAR,
                collection=state,
                customer_invoices=[invoice],
            )
            triggers: list[ScheduleTick | Event] = [ScheduleTick()]
            if paid_on == today and hour == 15:
                triggers.append(Event("invoice.paid", invoice.key))
            for trigger in triggers:
                evaluation = evaluate(
                    loaded.rules, trigger, {invoice.key: facts}, history, now, CALENDAR, TZ
                )
                history.record(evaluation.firings)
                for firing in evaluation.firings:
                    fired.append((today, firing.rule_id))
                    intents.extend(firing.intents)
                    if firing.reminders:
                        state = replace(
                            state,
                            reminders_sent=state.reminders_sent + firing.reminders,
                            last_reminder_at=now,
                            # A customer who replies answers each reminder within the hour.
                            customer_replied_since_last_reminder=replies,
                        )
    return fired, intents


def d(offset: int) -> date:
    return DUE + timedelta(days=offset)


def test_ladder_without_replies_escalates_after_two_reminders() -> None:
    fired, intents = simulate(replies=False)
    assert fired == [
        (d(-3), "dunning-friendly"),  # Friday 13th
        (d(0), "dunning-due"),
        (d(1), "dunning-escalate"),  # two reminders, no reply
        (d(3), "dunning-firm-3"),
        (d(7), "dunning-firm-7"),
        (d(30), "dunning-final"),  # Wednesday 15 April
        (d(44), "dunning-final"),  # then every 14 days
    ]
    reminders = [x for x in intents if isinstance(x, i.PostComment) and x.reminder]
    assert len(reminders) == 6
    assert len({x.key for x in intents if isinstance(x, i.PostComment)}) == 7
    assert "2,400.00 EUR" in reminders[0].text
    finals = [x for x in reminders if x.text.startswith("Final notice")]
    assert [x.mentions for x in finals] == [("collections.manager@example.com",)] * 2


def test_ladder_with_replies_escalates_at_fourteen_days() -> None:
    fired, _ = simulate(replies=True)
    assert fired == [
        (d(-3), "dunning-friendly"),
        (d(0), "dunning-due"),
        (d(3), "dunning-firm-3"),
        (d(7), "dunning-firm-7"),
        (d(14), "dunning-escalate"),
        (d(30), "dunning-final"),
        (d(44), "dunning-final"),
    ]


def test_payment_ends_the_ladder_with_a_thank_you() -> None:
    fired, intents = simulate(replies=True, paid_on=d(10))
    assert fired == [
        (d(-3), "dunning-friendly"),
        (d(0), "dunning-due"),
        (d(3), "dunning-firm-3"),
        (d(7), "dunning-firm-7"),
        (d(10), "paid-close"),
    ]
    assert i.SetStatus(status="paid") in intents


def test_the_simulation_is_deterministic() -> None:
    assert simulate(replies=False) == simulate(replies=False)
