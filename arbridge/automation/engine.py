"""Pure evaluation: rules x trigger x facts x history -> firings (intents), deferrals, a trace.

No I/O and no clock: the caller passes ``now``, the facts and the history, and records the
firings it applies (see ``history``). Rules run in order (priority, order, file order); for
each invoice a ``stop`` action ends the evaluation of later rules, a ``pause_reminders`` holds
back later reminders, and for single-valued slots (status, priority, a field) the first rule in
order wins, the conflict written into the trace.
"""

from __future__ import annotations

import gc
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from arbridge.automation import conditions
from arbridge.automation import intents as i
from arbridge.automation.actions import FiringContext, fixed_intents, mentions_of, to_intents
from arbridge.automation.facts import FactSet
from arbridge.automation.firings import Deferred, Draft, Firing
from arbridge.automation.history import History
from arbridge.automation.loader import CompiledRule, RuleSet
from arbridge.automation.policy import (
    Event,
    Moment,
    ScheduleTick,
    Trigger,
    check_policy,
    group_occurrence_key,
    lookup,
    match_trigger,
    occurrence_key,
    quiet_until,
)
from arbridge.automation.sweep import Sweep, oldest_first, paused_until
from arbridge.automation.templates import context
from arbridge.automation.trace import Conflict, Outcome, RuleTrace, Trace
from arbridge.errors import TemplateProblem
from arbridge.model.calendar import BusinessCalendar

__all__ = [
    "Deferred",
    "Draft",
    "Evaluation",
    "Event",
    "Firing",
    "ScheduleTick",
    "Trigger",
    "evaluate",
]


@dataclass(frozen=True)
class Evaluation:
    at: datetime
    firings: tuple[Firing, ...]
    deferred: tuple[Deferred, ...]
    trace: Trace

    def intents_for(self, invoice_key: str) -> list[i.Intent]:
        return [x for f in self.firings if f.invoice_key == invoice_key for x in f.intents]

    def fired_rules(self, invoice_key: str | None = None) -> list[str]:
        return [
            f.rule_id for f in self.firings if invoice_key is None or f.invoice_key == invoice_key
        ]


@dataclass(slots=True)
class _InvoiceState:
    paused_until: date | None
    stopped_by: str | None = None
    claims: dict[str, tuple[str, object]] = field(default_factory=dict)


@dataclass
class _Run:
    moment: Moment
    history: History
    facts: Mapping[str, FactSet]
    states: dict[str, _InvoiceState]
    trace: Trace
    # Per rule (by identity, for this run): each action's intents when they are the same for
    # every firing, built once and shared.
    fixed: dict[int, tuple[list[i.Intent] | None, ...]] = field(default_factory=dict)
    firings: list[Firing] = field(default_factory=list)
    deferred: list[Deferred] = field(default_factory=list)


def evaluate(
    ruleset: RuleSet,
    trigger: Trigger,
    facts_by_invoice: Mapping[str, FactSet],
    history: History,
    now: datetime,
    calendar: BusinessCalendar,
    timezone: ZoneInfo | str,
    *,
    explain: bool = True,
) -> Evaluation:
    """Evaluate every rule for the invoices a trigger concerns (an event: its invoice; a tick:
    all of ``facts_by_invoice``). ``now`` must be timezone-aware.

    With ``explain=False`` (the daemon's tick, see ``sweep``) the firings and deferrals are the
    same but the trace keeps only the conflicts, with no per-rule, per-invoice entries, and
    comment and subtask texts render when a firing's ``intents`` are first read: a template
    failing on an invoice's data then raises ``TemplateProblem`` there (the traced run drops
    that firing and traces the error instead). A tick over a large book would spend most of its
    time and memory on those entries and texts, and only ``rules explain`` and tests read them."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    tz = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
    moment = Moment(now, tz, calendar)
    facts = dict(facts_by_invoice)
    if isinstance(trigger, Event):
        if trigger.invoice_key not in facts:
            raise ValueError(f"no facts for invoice {trigger.invoice_key!r}")
        event_facts = facts[trigger.invoice_key]
        facts = {trigger.invoice_key: event_facts.with_values(trigger.facts)}
    trace = Trace(at=moment.local.isoformat(), trigger=trigger.describe())
    # A tick over a large book allocates millions of short-lived objects; the collector's
    # repeated passes over the (long-lived) facts then cost a third of the tick, and nothing
    # made here needs collecting before the tick ends.
    collecting = gc.isenabled()
    gc.disable()
    try:
        if not explain:
            sweep = Sweep(moment, history, facts)
            sweep.run(ruleset, trigger)
            trace.conflicts.extend(sweep.conflicts)
            return Evaluation(now, tuple(sweep.firings), tuple(sweep.deferred), trace)
        run = _Run(
            moment=moment,
            history=history,
            facts=facts,
            states={k: _InvoiceState(paused_until(f)) for k, f in facts.items()},
            trace=trace,
        )
        _run_rules(run, ruleset, trigger, sorted(facts))
    finally:
        if collecting:
            gc.enable()
    return Evaluation(now, tuple(run.firings), tuple(run.deferred), run.trace)


def _run_rules(run: _Run, ruleset: RuleSet, trigger: Trigger, keys: list[str]) -> None:
    moment, facts = run.moment, run.facts
    for rule in ruleset:
        plan = _plan(rule, trigger, moment)
        eligible = [
            (key, t)
            for key in keys
            if (t := _screen(run, rule, plan, key)).outcome is Outcome.FIRED
        ]
        if rule.policy.group_by is None:
            for key, rule_trace in eligible:
                _fire(run, rule, [key], {key: rule_trace})
        else:
            by_customer: dict[str, list[str]] = {}
            for key, _ in eligible:
                by_customer.setdefault(facts[key].customer_key, []).append(key)
            traces = dict(eligible)
            for customer, members in sorted(by_customer.items()):
                _fire_group(run, rule, customer, members, traces)


@dataclass(frozen=True)
class _Plan:
    """What screening a rule needs that depends on the rule and the time, not the invoice."""

    matched: bool
    trigger: str
    sends_reminders: bool
    quiet_until: datetime | None


def _plan(rule: CompiledRule, trigger: Trigger, moment: Moment) -> _Plan:
    matched, why = match_trigger(rule, trigger, moment)
    return _Plan(matched, why, rule.sends_reminders, quiet_until(rule, moment))


def _screen(run: _Run, rule: CompiledRule, plan: _Plan, key: str) -> RuleTrace:
    """Trace of the checks before firing; ``FIRED`` here means "may fire"."""
    trace = RuleTrace(rule.id, rule.version, key)
    run.trace.rules.append(trace)
    state = run.states[key]
    if not rule.enabled:
        trace.outcome = Outcome.DISABLED
        return trace
    if state.stopped_by is not None:
        trace.outcome = Outcome.STOPPED
        trace.notes.append(f"stopped by rule {state.stopped_by}")
        return trace
    trace.trigger = plan.trigger
    if not plan.matched:
        trace.outcome = Outcome.NOT_TRIGGERED
        return trace
    ok = conditions.evaluate(
        rule.condition, run.facts[key], run.moment.today, run.moment.tz, trace.conditions
    )
    if not ok:
        trace.outcome = Outcome.CONDITIONS_FALSE
        return trace
    if plan.sends_reminders and state.paused_until and state.paused_until >= run.moment.today:
        trace.outcome = Outcome.REMINDERS_PAUSED
        trace.notes.append(f"reminders paused until {state.paused_until.isoformat()}")
        return trace
    outcome, why = check_policy(rule, lookup(run.history, rule, key), run.moment)
    trace.notes.append(f"policy: {why}")
    if outcome is not None:
        trace.outcome = outcome
        return trace
    until = plan.quiet_until
    if until is not None:
        trace.outcome = Outcome.DEFERRED
        reason = f"quiet hours until {until.isoformat()}"
        trace.notes.append(reason)
        run.deferred.append(Deferred(rule.id, key, until, reason))
        return trace
    trace.outcome = Outcome.FIRED
    return trace


def _fire_group(
    run: _Run,
    rule: CompiledRule,
    customer: str,
    members: list[str],
    traces: Mapping[str, RuleTrace],
) -> None:
    group_key = f"customer:{customer}"
    entry = lookup(run.history, rule, group_key)
    if (
        entry is not None
        and entry.last_fired_at.astimezone(run.moment.tz).date() == run.moment.today
    ):
        not_before = run.moment.at(run.moment.today + timedelta(days=1), time(0, 0))
        reason = f"already fired for {group_key} today"
        for key in members:
            traces[key].outcome = Outcome.DEFERRED
            traces[key].notes.append(reason)
            run.deferred.append(Deferred(rule.id, key, not_before, reason))
        return
    ordered = sorted(members, key=lambda k: oldest_first(run.facts[k]))
    _fire(run, rule, ordered, traces, group_key=group_key)


def _fire(
    run: _Run,
    rule: CompiledRule,
    keys: list[str],
    traces: Mapping[str, RuleTrace],
    group_key: str | None = None,
) -> None:
    """Fire ``rule`` for ``keys`` (one invoice, or a group with the oldest first)."""
    moment = run.moment
    occurrences = {k: occurrence_key(rule, k, lookup(run.history, rule, k)) for k in keys}
    shared_key = (
        group_occurrence_key(rule, group_key, list(occurrences.values())) if group_key else None
    )
    matched = [run.facts[k] for k in keys]
    mentions = mentions_of(rule.actions)
    fixed = run.fixed.get(id(rule))
    if fixed is None:
        fixed = run.fixed[id(rule)] = tuple(fixed_intents(a) for a in rule.actions)
    templated = any(action.template is not None for action in rule.actions)
    split = {k: run.facts[k].namespaces() for k in keys} if templated else {}
    summaries = [split[k].get("invoice", {}) for k in split]
    produced: dict[str, list[i.Intent]] = {}
    try:
        for position, key in enumerate(keys):
            facts = run.facts[key]
            # Only templates read the context, and building it is most of a firing's cost.
            template_context = (
                context(
                    facts,
                    matched,
                    moment.local,
                    rule.variables,
                    matched_summaries=summaries,
                    namespaces=split[key],
                )
                if templated
                else {}
            )
            ctx = FiringContext(
                facts=facts,
                template_context=template_context,
                today=moment.today,
                calendar=moment.calendar,
                key=shared_key or occurrences[key],
                mentions=mentions,
            )
            produced[key] = [
                intent
                for action, same in zip(rule.actions, fixed, strict=True)
                if position == 0 or not action.per_group
                for intent in (to_intents(action, ctx) if same is None else same)
            ]
    except TemplateProblem as exc:
        for key in keys:
            traces[key].outcome = Outcome.ERROR
            traces[key].notes.append(str(exc))
        return
    for key in keys:
        kept = _settle(run, rule, key, produced[key], traces[key])
        traces[key].intents.extend(_describe(x) for x in kept)
        if group_key:
            traces[key].notes.append(f"group {group_key}: {', '.join(keys)}")
        run.firings.append(
            Firing(
                rule_id=rule.id,
                rule_version=rule.version,
                invoice_key=key,
                occurrence_key=occurrences[key],
                planned=tuple(kept),
                fired_at=moment.now,
                group_key=group_key,
                group_occurrence_key=shared_key,
                group_invoice_keys=tuple(keys) if group_key else (),
            )
        )


def _settle(
    run: _Run, rule: CompiledRule, key: str, produced: list[i.Intent], trace: RuleTrace
) -> list[i.Intent]:
    """Apply conflicts, stop and pause to one invoice's intents; returns those kept."""
    state = run.states[key]
    kept: list[i.Intent] = []
    for intent in produced:
        slot = i.conflict_slot(intent)
        value = i.intent_value(intent)
        if slot is not None:
            claim = state.claims.get(slot)
            if claim is not None and claim[1] != value:
                conflict = Conflict(key, slot, claim[0], str(claim[1]), rule.id, str(value))
                run.trace.conflicts.append(conflict)
                trace.notes.append(conflict.render())
                continue
            state.claims.setdefault(slot, (rule.id, value))
        if isinstance(intent, i.PauseReminders) and (
            state.paused_until is None or intent.until > state.paused_until
        ):
            state.paused_until = intent.until
        if isinstance(intent, i.Stop):
            state.stopped_by = rule.id
        kept.append(intent)
    return kept


def _describe(intent: i.Intent) -> str:
    fields = intent.model_dump(mode="json", exclude={"kind"})
    if isinstance(intent, i.PostComment):
        first = intent.text.splitlines()[0] if intent.text else ""
        fields["text"] = first[:80] + ("..." if len(intent.text) > len(first[:80]) else "")
    return f"{intent.kind} " + ", ".join(
        f"{k}={v!r}" for k, v in fields.items() if v not in ((), [], None, False)
    )
