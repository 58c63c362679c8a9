"""Triggers (schedule, business days, holidays, time zones, every event) and every action."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from arbridge.automation import Event, Outcome, ScheduleTick
from arbridge.automation import intents as i
from arbridge.automation.schema_base import EVENT_TYPES
from arbridge.model.calendar import BusinessCalendar
from tests.automation.builders import MONDAY, facts, one_rule, ruleset, run

BUSINESS = one_rule(triggers='[{schedule: {at: "09:00", business_days: true}}]')


@pytest.mark.parametrize(
    ("at", "fires"),
    [
        (datetime(2026, 3, 9, 8, 59, tzinfo=UTC), False),
        (datetime(2026, 3, 9, 9, 0, tzinfo=UTC), True),
        (datetime(2026, 3, 9, 17, 0, tzinfo=UTC), True),  # catches up later the same day
        (datetime(2026, 3, 7, 9, 0, tzinfo=UTC), True),  # Saturday: no business_days asked
    ],
)
def test_schedule_fires_at_or_after_its_time(at: datetime, fires: bool) -> None:
    rules = ruleset(one_rule())
    assert bool(run(rules, facts(at.date()), at).firings) is fires


def test_business_days_skip_weekends_and_holidays() -> None:
    rules = ruleset(BUSINESS)
    saturday = datetime(2026, 3, 7, 9, 0, tzinfo=UTC)
    evaluation = run(rules, facts(saturday.date()), saturday)
    assert evaluation.firings == ()
    assert evaluation.trace.rules[0].trigger == (
        "schedule 09:00 (business days): 2026-03-07 is not a business day"
    )
    christmas = datetime(2026, 12, 25, 9, 0, tzinfo=UTC)  # a Friday
    us = BusinessCalendar("US")
    assert run(rules, facts(christmas.date()), christmas, calendar=us).firings == ()
    assert len(run(rules, facts(christmas.date()), christmas).firings) == 1


def test_schedule_time_is_the_company_time() -> None:
    rules = ruleset(one_rule())
    berlin = "Europe/Berlin"
    before = datetime(2026, 3, 9, 7, 59, tzinfo=UTC)  # 08:59 in Berlin
    after = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)  # 09:00 in Berlin
    assert run(rules, facts(before.date()), before, timezone=berlin).firings == ()
    assert len(run(rules, facts(after.date()), after, timezone=berlin).firings) == 1
    # After the clocks change, 09:00 in Berlin is 07:00 UTC.
    summer = datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    assert len(run(rules, facts(summer.date()), summer, timezone=ZoneInfo(berlin)).firings) == 1


@pytest.mark.parametrize("event", EVENT_TYPES)
def test_every_event_triggers_its_rules_only(event: str) -> None:
    rules = ruleset(one_rule(triggers=f"[{{event: {event}}}]"))
    values = facts(MONDAY.date())
    key = next(iter(values))
    assert len(run(rules, values, trigger=Event(event, key)).firings) == 1
    other = next(e for e in EVENT_TYPES if e != event)
    evaluation = run(rules, values, trigger=Event(other, key))
    assert evaluation.firings == ()
    assert evaluation.trace.rules[0].outcome is Outcome.NOT_TRIGGERED
    assert run(rules, values, trigger=ScheduleTick()).firings == ()


def test_an_event_concerns_only_its_invoice_and_brings_its_facts() -> None:
    rules = ruleset(
        one_rule(
            triggers="[{event: collector.commented}]",
            conditions="{fact: event.actor, equals: carla@example.com}",
        )
    )
    values = facts(
        MONDAY.date(), {"invoice.key": "a"}, {"invoice.key": "b", "customer.key": "other"}
    )
    event = Event("collector.commented", "b", {"event.actor": "carla@example.com"})
    evaluation = run(rules, values, trigger=event)
    assert [f.invoice_key for f in evaluation.firings] == ["b"]
    assert run(rules, values, trigger=Event("collector.commented", "b")).firings == ()


def test_evaluation_inputs_are_checked() -> None:
    rules = ruleset(one_rule())
    with pytest.raises(ValueError, match="unknown event type"):
        Event("invoice.payed", "a")
    with pytest.raises(ValueError, match="no facts for invoice 'zzz'"):
        run(rules, facts(MONDAY.date()), trigger=Event("invoice.paid", "zzz"))
    with pytest.raises(ValueError, match="timezone-aware"):
        run(rules, facts(MONDAY.date()), datetime(2026, 3, 9, 9, 0))


def test_every_action_becomes_its_intent() -> None:
    text = """\
vars: {manager: mia@example.com}
rules:
  - id: all
    description: Every action
    triggers: [{schedule: {at: "09:00"}}]
    actions:
      - set_status: overdue
      - assign: {users: [sam@example.com, {var: manager}]}
      - unassign: {users: [old@example.com]}
      - set_priority: urgent
      - set_field: {field: Stage, value: 2}
      - comment: {template: "{{ invoice.number }} for {{ customer.name }}", reminder: true}
      - create_subtask:
          name: "Call {{ customer.name }} about {{ invoice.number }}"
          users: [sam@example.com]
          due_in_days: 2
      - mention: {users: [{var: manager}]}
      - add_tag: chased
      - pause_reminders: {days: 5}
      - pause_reminders: {days: 5, business_days: true}
      - pause_reminders: {until_fact: invoice.promise_to_pay_date, plus_days: 1}
      - stop: true
"""
    values = facts(MONDAY.date(), {"invoice.promise_to_pay_date": date(2026, 3, 20)})
    (firing,) = run(ruleset(text), values).firings
    key = firing.occurrence_key
    assert key == "all:test:INV-1:1"
    assert list(firing.intents) == [
        i.SetStatus(status="overdue"),
        i.Assign(users=("sam@example.com", "mia@example.com")),
        i.Unassign(users=("old@example.com",)),
        i.SetPriority(priority="urgent"),
        i.SetField(field="Stage", value=2),
        i.PostComment(
            text="INV-1 for Acme Ltd", key=f"{key}#5", reminder=True, mentions=("mia@example.com",)
        ),
        i.CreateSubtask(
            name="Call Acme Ltd about INV-1",
            key=f"{key}#6",
            assignees=("sam@example.com",),
            due_date=date(2026, 3, 11),
        ),
        i.Mention(users=("mia@example.com",)),
        i.AddTag(tag="chased"),
        i.PauseReminders(until=date(2026, 3, 14)),
        i.PauseReminders(until=date(2026, 3, 16)),
        i.PauseReminders(until=date(2026, 3, 21)),
        i.Stop(),
    ]
    assert firing.reminders == 1


def test_pause_until_a_missing_date_pauses_nothing() -> None:
    text = one_rule(actions="[{pause_reminders: {until_fact: invoice.promise_to_pay_date}}]")
    (firing,) = run(ruleset(text), facts(MONDAY.date())).firings
    assert firing.intents == ()


def test_a_template_failing_at_run_time_is_traced_not_raised() -> None:
    text = one_rule(actions='[{comment: {template: "{{ 100 // invoice.days_overdue }}"}}]')
    evaluation = run(ruleset(text), facts(MONDAY.date()))
    assert evaluation.firings == ()
    (trace,) = evaluation.trace.rules
    assert trace.outcome is Outcome.ERROR
    assert (
        trace.notes[-1] == "template failed: ZeroDivisionError: integer division or modulo by zero"
    )


def test_disabled_rules_are_loaded_but_never_fire() -> None:
    rules = ruleset(one_rule(extra="    enabled: false"))
    evaluation = run(rules, facts(MONDAY.date()))
    assert evaluation.firings == ()
    assert evaluation.trace.rules[0].outcome is Outcome.DISABLED
