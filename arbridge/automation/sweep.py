"""The traceless evaluation (the daemon's tick): the same decisions as the traced one in
``engine``, made for the whole book at once.

Conditions are answered by column (see ``columns``); only invoices that pass them, and are
neither stopped nor paused, are looked at one by one for the firing policy. Firings share the
intents that read nothing of the invoice, and leave templated ones as drafts (see ``firings``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import NamedTuple

import numpy as np

from arbridge.automation import intents as i
from arbridge.automation.actions import (
    CompiledAction,
    FiringContext,
    fixed_intents,
    mentions_of,
    to_intents,
)
from arbridge.automation.columns import Columns, fact_names
from arbridge.automation.facts import FactSet
from arbridge.automation.firings import Deferred, Draft, Firing
from arbridge.automation.history import History, HistoryEntry
from arbridge.automation.loader import CompiledRule, RuleSet
from arbridge.automation.policy import (
    Moment,
    Trigger,
    check_policy,
    group_occurrence_key,
    lookup,
    match_trigger,
    occurrence_key,
    quiet_until,
)
from arbridge.automation.trace import Conflict


@dataclass
class Sweep:
    """One traceless evaluation; ``run`` fills ``firings``, ``deferred`` and ``conflicts``."""

    moment: Moment
    history: History
    facts: Mapping[str, FactSet]
    firings: list[Firing] = field(default_factory=list)
    deferred: list[Deferred] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)

    def run(self, ruleset: RuleSet, trigger: Trigger) -> None:
        self.keys = sorted(self.facts)
        self.book = book = [self.facts[k] for k in self.keys]
        self.columns = Columns(book)
        self.columns.prepare(
            [name for rule in ruleset if rule.enabled for name in fact_names(rule.condition)]
        )
        today = self.moment.today
        paused = [paused_until(f) for f in book]
        self.paused = np.fromiter(
            (p is not None and p >= today for p in paused), dtype=np.bool_, count=len(book)
        )
        self.stopped = np.zeros(len(book), dtype=np.bool_)
        # Per slot, per invoice position: the rule that set it first, and its value.
        self.claims: dict[str, dict[int, tuple[str, object]]] = {}
        for rule in ruleset:
            self._rule(rule, trigger)

    def _rule(self, rule: CompiledRule, trigger: Trigger) -> None:
        moment, keys, get = self.moment, self.keys, self.history.get
        if not rule.enabled or not match_trigger(rule, trigger, moment)[0]:
            return
        open_ = self.columns.mask(rule.condition, moment.today, moment.tz)
        open_ &= ~self.stopped
        if rule.sends_reminders:
            open_ &= ~self.paused
        until = quiet_until(rule, moment)
        reason = f"quiet hours until {until.isoformat()}" if until is not None else ""
        version = rule.version if rule.refire else None  # as ``policy.lookup`` asks
        eligible: list[tuple[int, HistoryEntry | None]] = []
        # With a MemoryHistory, only invoices the rule fired for need a look-up.
        subjects = getattr(self.history, "subjects", None)
        fired: frozenset[str] | set[str] | None = subjects(rule.id) if callable(subjects) else None
        for n in np.flatnonzero(open_).tolist():
            entry = (
                None
                if fired is not None and keys[n] not in fired
                else get(rule.id, keys[n], version)
            )
            if entry is not None and check_policy(rule, entry, moment)[0] is not None:
                continue
            if until is not None:
                self.deferred.append(Deferred(rule.id, keys[n], until, reason))
                continue
            eligible.append((n, entry))
        actions = _Actions(rule, moment, self.claims)
        if rule.policy.group_by is None:
            self._fire_each(rule, actions, eligible)
            return
        by_customer: dict[str, list[tuple[int, HistoryEntry | None]]] = {}
        for n, entry in eligible:
            by_customer.setdefault(self.book[n].customer_key, []).append((n, entry))
        for customer, members in sorted(by_customer.items()):
            self._group(rule, actions, customer, members)

    def _group(
        self,
        rule: CompiledRule,
        actions: _Actions,
        customer: str,
        members: list[tuple[int, HistoryEntry | None]],
    ) -> None:
        moment = self.moment
        group_key = f"customer:{customer}"
        entry = lookup(self.history, rule, group_key)
        if entry is not None and entry.last_fired_at.astimezone(moment.tz).date() == moment.today:
            not_before = moment.at(moment.today + timedelta(days=1), time(0, 0))
            reason = f"already fired for {group_key} today"
            self.deferred.extend(
                Deferred(rule.id, self.keys[n], not_before, reason) for n, _ in members
            )
            return
        ordered = sorted(members, key=lambda m: oldest_first(self.book[m[0]]))
        keys = tuple(self.keys[n] for n, _ in ordered)
        occurrences = [occurrence_key(rule, self.keys[n], e) for n, e in ordered]
        shared = group_occurrence_key(rule, group_key, occurrences)
        matched = tuple(self.book[n] for n, _ in ordered)
        for position, ((n, _), occurrence) in enumerate(zip(ordered, occurrences, strict=True)):
            steps = actions.steps if position == 0 else actions.later_steps
            planned = self._planned(rule, steps, n, shared)
            self.firings.append(
                Firing(
                    rule.id,
                    rule.version,
                    keys[position],
                    occurrence,
                    planned,
                    moment.now,
                    group_key,
                    shared,
                    keys,
                    matched if position == 0 and actions.templated else (),
                )
            )

    def _fire_each(
        self, rule: CompiledRule, actions: _Actions, eligible: list[tuple[int, HistoryEntry | None]]
    ) -> None:
        """Fire a rule without grouping for each eligible invoice: the tick's hot loop."""
        keys, book, append, new = self.keys, self.book, self.firings.append, tuple.__new__
        rule_id, version, now, steps = rule.id, rule.version, self.moment.now, actions.steps
        templated, static, checks = actions.templated, actions.static, actions.checks
        for n, entry in eligible:
            key = keys[n]
            occurrence = occurrence_key(rule, key, entry)
            if static is None:
                planned = self._planned(rule, steps, n, occurrence)
            else:
                planned = static
                for intent, slot, claims in checks:
                    if not self._keep(rule, n, intent, slot, claims):
                        planned = tuple(x for x in planned if x is not intent)
            matched = (book[n],) if templated else ()
            fields = (rule_id, version, key, occurrence, planned, now, None, None, (), matched)
            append(new(Firing, fields))

    def _planned(
        self, rule: CompiledRule, steps: list[_Step], n: int, key: str
    ) -> tuple[i.Intent | Draft, ...]:
        """One firing's intents, settled as ``engine._settle`` settles them: the first rule in
        order keeps a slot; stop and pause apply to later rules."""
        planned: list[i.Intent | Draft] = []
        for step in steps:
            if step.draft is not None:
                planned.append(step.draft)
            elif step.intent is None:
                moment = self.moment
                ctx = FiringContext(self.book[n], {}, moment.today, moment.calendar, key)
                for intent in to_intents(step.action, ctx):
                    slot = i.conflict_slot(intent)
                    claims = None if slot is None else self.claims.setdefault(slot, {})
                    if self._keep(rule, n, intent, slot, claims):
                        planned.append(intent)
            elif (step.claims is None and not step.effect) or self._keep(
                rule, n, step.intent, step.slot, step.claims
            ):
                planned.append(step.intent)
        return tuple(planned)

    def _keep(
        self,
        rule: CompiledRule,
        n: int,
        intent: i.Intent,
        slot: str | None,
        claims: dict[int, tuple[str, object]] | None,
    ) -> bool:
        """Settle one intent; False when it loses a conflict to an earlier rule."""
        if slot is not None and claims is not None:
            value = i.intent_value(intent)
            claim = claims.get(n)
            if claim is None:
                claims[n] = (rule.id, value)
            elif claim[1] != value:
                key = self.keys[n]
                self.conflicts.append(
                    Conflict(key, slot, claim[0], str(claim[1]), rule.id, str(value))
                )
                return False
        elif isinstance(intent, i.PauseReminders):
            if intent.until >= self.moment.today:
                self.paused[n] = True
        elif isinstance(intent, i.Stop):
            self.stopped[n] = True
        return True


class _Step(NamedTuple):
    action: CompiledAction
    intent: i.Intent | None  # the same for every firing (see ``fixed_intents``)
    slot: str | None
    claims: dict[int, tuple[str, object]] | None  # the slot's claims so far
    effect: bool  # stops or pauses later rules
    draft: Draft | None


class _Actions:
    """A rule's actions as a sweep uses them, with what every firing shares built once.
    ``later_steps`` leave out what a group posts once (on its oldest invoice). When no action
    depends on the invoice, ``static`` is every firing's intents before settling, and
    ``checks`` the steps to settle."""

    def __init__(
        self,
        rule: CompiledRule,
        moment: Moment,
        claims: dict[str, dict[int, tuple[str, object]]],
    ) -> None:
        mentions = mentions_of(rule.actions)
        self.steps: list[_Step] = []
        self.later_steps: list[_Step] = []
        for action in rule.actions:
            fixed = fixed_intents(action)
            steps: list[_Step] = []
            if fixed is None:
                draft = None
                if action.template is not None:
                    draft = Draft(action, moment.local, rule.variables, mentions, moment.calendar)
                steps.append(_Step(action, None, None, None, False, draft))
            for intent in fixed or ():
                slot = i.conflict_slot(intent)
                effect = isinstance(intent, i.PauseReminders | i.Stop)
                slot_claims = None if slot is None else claims.setdefault(slot, {})
                steps.append(_Step(action, intent, slot, slot_claims, effect, None))
            self.steps.extend(steps)
            if not action.per_group:
                self.later_steps.extend(steps)
        self.templated = any(action.template is not None for action in rule.actions)
        shared = [step.draft or step.intent for step in self.steps]
        self.static: tuple[i.Intent | Draft, ...] | None = (
            tuple(x for x in shared if x is not None) if None not in shared else None
        )
        self.checks = [
            (step.intent, step.slot, step.claims)
            for step in self.steps
            if step.intent is not None and (step.claims is not None or step.effect)
        ]


def paused_until(facts: FactSet) -> date | None:
    value = facts.values.get("invoice.reminders_paused_until")
    return value if isinstance(value, date) else None


def oldest_first(facts: FactSet) -> tuple[date, date, str, str]:
    """Sort key of a group's members: the oldest (the one carrying the comment) first."""
    issued = facts.get("invoice.issue_date")
    due = facts.get("invoice.due_date")
    assert isinstance(issued, date)
    return (
        due if isinstance(due, date) else issued,
        issued,
        str(facts.get("invoice.number")),
        facts.invoice_key,
    )
