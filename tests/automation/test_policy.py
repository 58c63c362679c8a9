"""Firing policy: once, repeat, quiet hours, grouping, order, stop, pause, conflicts, keys."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from arbridge.automation import Event, FactSet, MemoryHistory, Outcome, load_text
from arbridge.automation import intents as i
from tests.automation.builders import MONDAY, facts, one_rule, ruleset, run

DAY = timedelta(days=1)


def days_fired(text: str, days: int, start: datetime = MONDAY) -> list[date]:
    """Evaluate once a day, recording firings; the days the rule fired."""
    rules = ruleset(text)
    history = MemoryHistory()
    fired: list[date] = []
    for n in range(days):
        at = start + n * DAY
        evaluation = run(rules, facts(at.date()), at, history=history)
        history.record(evaluation.firings)
        fired.extend(at.date() for _ in evaluation.firings)
    return fired


def test_once_per_invoice_is_the_default() -> None:
    assert days_fired(one_rule(), 5) == [date(2026, 3, 9)]


def test_repeat_every_n_days_up_to_m_times() -> None:
    text = one_rule(policy="{repeat: {every_days: 3, max: 3}}")
    assert days_fired(text, 15) == [date(2026, 3, 9), date(2026, 3, 12), date(2026, 3, 15)]


def test_repeat_in_business_days() -> None:
    text = one_rule(policy="{repeat: {every_days: 2, business_days: true}}")
    # Mon, Wed, Fri, then two business days after Friday is Tuesday.
    assert days_fired(text, 9) == [
        date(2026, 3, 9),
        date(2026, 3, 11),
        date(2026, 3, 13),
        date(2026, 3, 17),
    ]


def test_repeat_trace_names_the_next_day() -> None:
    rules = ruleset(one_rule(policy="{repeat: {every_days: 3}}"))
    history = MemoryHistory()
    history.record(run(rules, facts(MONDAY.date()), history=history).firings)
    evaluation = run(rules, facts(MONDAY.date()), MONDAY + DAY, history=history)
    (trace,) = evaluation.trace.rules
    assert trace.outcome is Outcome.NOT_DUE
    assert trace.notes == ["policy: last fired 2026-03-09, next on 2026-03-12"]


def test_quiet_hours_defer_to_their_end() -> None:
    text = one_rule(
        triggers="[{event: invoice.paid}]", policy='{quiet_hours: {start: "20:00", end: "08:00"}}'
    )
    rules = ruleset(text)
    values = facts(MONDAY.date())
    event = Event("invoice.paid", "test:INV-1")
    late = datetime(2026, 3, 9, 22, 0, tzinfo=UTC)
    evaluation = run(rules, values, late, trigger=event, timezone="Europe/Berlin")
    assert evaluation.firings == ()
    (deferred,) = evaluation.deferred
    assert deferred.not_before == datetime(2026, 3, 10, 7, 0, tzinfo=UTC)  # 08:00 in Berlin
    assert deferred.reason == "quiet hours until 2026-03-10T08:00:00+01:00"
    early = datetime(2026, 3, 10, 6, 0, tzinfo=UTC)  # 07:00 in Berlin: same day's 08:00
    (deferred,) = run(rules, values, early, trigger=event, timezone="Europe/Berlin").deferred
    assert deferred.not_before == datetime(2026, 3, 10, 7, 0, tzinfo=UTC)
    allowed = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)
    assert len(run(rules, values, allowed, trigger=event, timezone="Europe/Berlin").firings) == 1


def test_quiet_hours_within_a_day() -> None:
    text = one_rule(
        triggers="[{event: invoice.paid}]", policy='{quiet_hours: {start: "12:00", end: "13:30"}}'
    )
    event = Event("invoice.paid", "test:INV-1")
    noon = datetime(2026, 3, 9, 12, 15, tzinfo=UTC)
    (deferred,) = run(ruleset(text), facts(noon.date()), noon, trigger=event).deferred
    assert deferred.not_before == datetime(2026, 3, 9, 13, 30, tzinfo=UTC)


GROUPED = """\
rules:
  - id: statement
    description: One notice per customer listing its overdue invoices
    triggers: [{schedule: {at: "09:00"}}]
    conditions: {fact: invoice.days_overdue, gte: 1}
    actions:
      - comment:
          reminder: true
          template: |
            {{ customer.name }}, these invoices are overdue:
            {% for inv in matched_invoices %}
            - {{ inv.number }} due {{ inv.due_date | date("%d %b %Y") }}: {{
              inv.balance | money(inv.currency) }}
            {% endfor %}
      - add_tag: statement-sent
    policy: {group_by: customer, repeat: {every_days: 1}}
"""


def _group_facts(today: date) -> dict[str, FactSet]:
    acme = {"customer.key": "acme", "customer.name": "Acme Ltd"}
    return facts(
        today,
        {
            **acme,
            "invoice.number": "A-3",
            "invoice.due_date": date(2026, 3, 5),
            "invoice.amount": 90,
        },
        {
            **acme,
            "invoice.number": "A-1",
            "invoice.due_date": date(2026, 2, 1),
            "invoice.amount": 1500,
        },
        {
            **acme,
            "invoice.number": "A-2",
            "invoice.due_date": date(2026, 2, 20),
            "invoice.amount": 75.5,
        },
        {**acme, "invoice.number": "A-4", "invoice.due_date": date(2026, 3, 20)},  # not overdue
        {
            "customer.key": "globex",
            "customer.name": "Globex",
            "invoice.number": "G-1",
            "invoice.due_date": date(2026, 3, 1),
            "invoice.currency": "JPY",
            "invoice.amount": 50000,
        },
    )


def test_grouping_posts_one_comment_per_customer_on_the_oldest_invoice() -> None:
    evaluation = run(ruleset(GROUPED), _group_facts(MONDAY.date()))
    comments = [
        (f.invoice_key, x)
        for f in evaluation.firings
        for x in f.intents
        if isinstance(x, i.PostComment)
    ]
    assert [key for key, _ in comments] == ["test:A-1", "test:G-1"]
    assert comments[0][1].text == (
        "Acme Ltd, these invoices are overdue:\n"
        "- A-1 due 01 Feb 2026: 1,500.00 USD\n"
        "- A-2 due 20 Feb 2026: 75.50 USD\n"
        "- A-3 due 05 Mar 2026: 90.00 USD"
    )
    assert comments[1][1].text.endswith("- G-1 due 01 Mar 2026: 50,000 JPY")
    acme = [f for f in evaluation.firings if f.group_key == "customer:acme"]
    assert [f.invoice_key for f in acme] == ["test:A-1", "test:A-2", "test:A-3"]
    assert all(f.group_invoice_keys == ("test:A-1", "test:A-2", "test:A-3") for f in acme)
    # The tag goes on every invoice of the group; the comment only on the oldest.
    assert [len(f.intents) for f in acme] == [2, 1, 1]
    assert comments[0][1].key == f"{acme[0].group_occurrence_key}#0"


def test_a_group_is_served_once_a_day() -> None:
    rules = ruleset(GROUPED)
    history = MemoryHistory()
    values = _group_facts(MONDAY.date())
    history.record(run(rules, values, history=history).firings)
    # Later that day A-4 becomes overdue too (say its due date was corrected).
    later = MONDAY + timedelta(hours=6)
    changed = dict(values)
    changed["test:A-4"] = values["test:A-4"].with_values(
        {"invoice.days_overdue": 2, "invoice.overdue": True}
    )
    evaluation = run(rules, changed, later, history=history)
    assert evaluation.firings == ()
    assert [(d.invoice_key, d.not_before) for d in evaluation.deferred] == [
        ("test:A-4", datetime(2026, 3, 10, tzinfo=UTC))
    ]
    next_day = run(rules, changed, MONDAY + DAY, history=history)
    assert {f.invoice_key for f in next_day.firings} >= {"test:A-1", "test:A-4"}


TWO_RULES = """\
rules:
  - id: first
    description: First
    triggers: [{schedule: {at: "09:00"}}]
    actions: [{set_status: overdue}, {set_priority: high}]
    {first}
  - id: second
    description: Second
    triggers: [{schedule: {at: "09:00"}}]
    actions: [{set_status: disputed}, {add_tag: seen}]
    {second}
"""


def test_status_conflicts_go_to_the_first_rule_in_order_and_are_traced() -> None:
    rules = ruleset(TWO_RULES.replace("{first}", "").replace("{second}", ""))
    evaluation = run(rules, facts(MONDAY.date()))
    assert [x for f in evaluation.firings for x in f.intents] == [
        i.SetStatus(status="overdue"),
        i.SetPriority(priority="high"),
        i.AddTag(tag="seen"),
    ]
    (conflict,) = evaluation.trace.conflicts
    assert conflict.render() == (
        "set_status conflict on test:INV-1: first wants 'overdue', second wants 'disputed'; "
        "first wins (earlier in rule order: priority, then order, then file)"
    )
    assert evaluation.trace.find("second")[0].notes[-1] == conflict.render()
    # Priority decides, whatever the file order; the result is the same on every run.
    flipped = ruleset(TWO_RULES.replace("{first}", "").replace("{second}", "priority: 1"))
    for _ in range(3):
        statuses = [
            x.status
            for f in run(flipped, facts(MONDAY.date())).firings
            for x in f.intents
            if isinstance(x, i.SetStatus)
        ]
        assert statuses == ["disputed"]


def test_stop_ends_evaluation_for_that_invoice() -> None:
    rules = ruleset(
        TWO_RULES.replace("{first}", "")
        .replace("{second}", "")
        .replace("[{set_status: overdue}, {set_priority: high}]", "[{stop: true}]")
    )
    evaluation = run(rules, facts(MONDAY.date()))
    assert evaluation.fired_rules() == ["first"]
    assert evaluation.trace.find("second")[0].outcome is Outcome.STOPPED


PAUSING = """\
rules:
  - id: pause
    description: Pause on dispute
    priority: 10
    triggers: [{schedule: {at: "09:00"}}]
    conditions: {fact: invoice.disputed, equals: true}
    actions: [{pause_reminders: {days: 10}}]
  - id: remind
    description: Reminder
    triggers: [{schedule: {at: "09:00"}}]
    actions: [{comment: {template: "Pay {{ invoice.number }}", reminder: true}}]
  - id: note
    description: Not a reminder
    triggers: [{schedule: {at: "09:00"}}]
    actions: [{comment: {template: "Internal note"}}]
"""


def test_a_pause_holds_back_later_reminders_but_not_other_comments() -> None:
    rules = ruleset(PAUSING)
    evaluation = run(rules, facts(MONDAY.date(), {"invoice.disputed": True}))
    assert evaluation.fired_rules() == ["pause", "note"]
    (trace,) = evaluation.trace.find("remind")
    assert trace.outcome is Outcome.REMINDERS_PAUSED
    assert trace.notes == ["reminders paused until 2026-03-19"]
    paused = facts(MONDAY.date(), {"invoice.reminders_paused_until": date(2026, 3, 9)})
    assert run(rules, paused).fired_rules() == ["note"]
    resumed = facts(MONDAY.date(), {"invoice.reminders_paused_until": date(2026, 3, 8)})
    assert run(rules, resumed).fired_rules() == ["remind", "note"]


def test_occurrence_keys_survive_a_crash_and_count_repeats() -> None:
    rules = ruleset(one_rule(policy="{repeat: {every_days: 1}}", actions=REMINDER))
    history = MemoryHistory()
    values = facts(MONDAY.date())
    first = run(rules, values, history=history)
    # Crash after applying, before recording: the re-run produces the same keys.
    again = run(rules, values, history=history)
    assert first.firings == again.firings
    assert first.firings[0].occurrence_key == "r:test:INV-1:1"
    assert first.firings[0].intents[0].key == "r:test:INV-1:1#0"  # type: ignore[union-attr]
    history.record(first.firings)
    history.record(again.firings)  # recording twice is harmless: same occurrence
    assert run(rules, values, history=history).firings == ()
    tomorrow = run(rules, values, MONDAY + DAY, history=history)
    assert tomorrow.firings[0].occurrence_key == "r:test:INV-1:2"


REMINDER = '[{comment: {template: "Please pay {{ invoice.number }}", reminder: true}}]'


def test_editing_a_rule_does_not_refire_it_unless_asked() -> None:
    history = MemoryHistory()
    values = facts(MONDAY.date())
    original = ruleset(one_rule(actions=REMINDER))
    history.record(run(original, values, history=history).firings)
    edited_text = one_rule(actions=REMINDER.replace("Please pay", "Kindly pay"))
    edited = ruleset(edited_text)
    rule, old = edited.get("r"), original.get("r")
    assert rule is not None
    assert old is not None
    assert rule.version != old.version
    assert run(edited, values, MONDAY + DAY, history=history).firings == ()
    # The occurrence key of an edited rule is the same as before the edit.
    fresh = MemoryHistory()
    assert (
        run(edited, values, history=fresh).firings[0].occurrence_key
        == run(original, values, history=fresh).firings[0].occurrence_key
    )
    refire = one_rule(actions=REMINDER, extra="    refire: true")
    refire_edited = one_rule(
        actions=REMINDER.replace("Please pay", "Kindly pay"), extra="    refire: true"
    )
    history = MemoryHistory()
    before = run(ruleset(refire), values, history=history).firings
    history.record(before)
    assert run(ruleset(refire), values, MONDAY + DAY, history=history).firings == ()
    after = run(ruleset(refire_edited), values, MONDAY + DAY, history=history).firings
    assert len(after) == 1
    assert after[0].occurrence_key != before[0].occurrence_key
    assert after[0].occurrence_key.startswith(f"r@{after[0].rule_version}:")


def test_description_and_enabled_do_not_change_the_version() -> None:
    base = load_text(one_rule()).rules.get("r")
    reworded = load_text(one_rule().replace("Test rule", "Reworded")).rules.get("r")
    toggled = load_text(one_rule(extra="    enabled: false")).rules.get("r")
    changed = load_text(one_rule(actions="[{set_status: paid}]")).rules.get("r")
    assert base is not None
    assert reworded is not None
    assert toggled is not None
    assert changed is not None
    assert base.version == reworded.version == toggled.version != changed.version
