"""Triggers and the firing policy: when a matching rule may fire, and under which key."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from arbridge.automation.history import History, HistoryEntry
from arbridge.automation.loader import CompiledRule
from arbridge.automation.schema import ScheduleTrigger
from arbridge.automation.schema_base import EVENT_TYPES
from arbridge.automation.trace import Outcome
from arbridge.model.calendar import BusinessCalendar


@dataclass(frozen=True)
class ScheduleTick:
    """The periodic evaluation: schedule triggers whose time has come today may fire."""

    def describe(self) -> str:
        return "schedule tick"


@dataclass(frozen=True)
class Event:
    """Something happened to one invoice; ``facts`` adds event facts (``event.actor``...)."""

    type: str
    invoice_key: str
    facts: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {self.type!r}")

    def describe(self) -> str:
        return f"event {self.type} on {self.invoice_key}"


Trigger = ScheduleTick | Event


@dataclass(frozen=True)
class Moment:
    """The evaluation time as the company sees it."""

    now: datetime
    tz: ZoneInfo
    calendar: BusinessCalendar

    # Cached: read once per rule and invoice in a tick, and the instance is frozen.
    @cached_property
    def local(self) -> datetime:
        return self.now.astimezone(self.tz)

    @cached_property
    def today(self) -> date:
        return self.local.date()

    def at(self, day: date, clock: time) -> datetime:
        return datetime.combine(day, clock, tzinfo=self.tz)


def match_trigger(rule: CompiledRule, trigger: Trigger, moment: Moment) -> tuple[bool, str]:
    """Whether ``trigger`` starts ``rule`` now, and why (for the trace)."""
    if isinstance(trigger, Event):
        if any(getattr(t, "event", None) == trigger.type for t in rule.triggers):
            return True, f"event {trigger.type}"
        return False, f"no trigger for event {trigger.type}"
    schedules = [t.schedule for t in rule.triggers if isinstance(t, ScheduleTrigger)]
    if not schedules:
        return False, "schedule tick, but the rule has only event triggers"
    local = moment.local
    reasons = []
    for schedule in schedules:
        label = f"schedule {schedule.at}" + (" (business days)" if schedule.business_days else "")
        if schedule.business_days and not moment.calendar.is_business_day(local.date()):
            reasons.append(f"{label}: {local.date().isoformat()} is not a business day")
        elif local.time() < time.fromisoformat(schedule.at):
            reasons.append(f"{label}: not yet ({local.strftime('%H:%M')})")
        else:
            return True, f"{label}: due at {local.strftime('%Y-%m-%d %H:%M %Z')}"
    return False, "; ".join(reasons)


def lookup(history: History, rule: CompiledRule, key: str) -> HistoryEntry | None:
    return history.get(rule.id, key, rule.version if rule.refire else None)


def check_policy(
    rule: CompiledRule, entry: HistoryEntry | None, moment: Moment
) -> tuple[Outcome | None, str]:
    """None when the policy lets the rule fire now; else the outcome and why."""
    if entry is None:
        return None, "first firing"
    repeat = rule.policy.repeat
    fired = entry.last_fired_at.astimezone(moment.tz)
    if repeat is None:
        return Outcome.ALREADY_FIRED, f"fired once already ({fired.isoformat()})"
    if repeat.max is not None and entry.count >= repeat.max:
        return Outcome.MAX_REACHED, f"fired {entry.count} of {repeat.max} times"
    if repeat.business_days:
        due = moment.calendar.add_business_days(fired.date(), repeat.every_days)
    else:
        due = fired.date() + timedelta(days=repeat.every_days)
    if moment.today < due:
        return Outcome.NOT_DUE, f"last fired {fired.date().isoformat()}, next on {due.isoformat()}"
    return None, f"repeat {entry.count + 1} (last fired {fired.date().isoformat()})"


def quiet_until(rule: CompiledRule, moment: Moment) -> datetime | None:
    """The end of the quiet hours the evaluation falls in, or None."""
    quiet = rule.policy.quiet_hours
    if quiet is None:
        return None
    start, end = time.fromisoformat(quiet.start), time.fromisoformat(quiet.end)
    now = moment.local.time()
    inside = start <= now < end if start < end else now >= start or now < end
    if not inside:
        return None
    day = moment.today if now < end else moment.today + timedelta(days=1)
    return moment.at(day, end)


def occurrence_key(rule: CompiledRule, key: str, entry: HistoryEntry | None) -> str:
    """Deterministic name of this firing: rule, invoice and the firing's ordinal.

    A re-evaluation after a crash (history unchanged) gives the same key, so the comment it
    posts carries the same key. The rule version is part of it only for ``refire`` rules.
    """
    head = f"{rule.id}@{rule.version}" if rule.refire else rule.id
    return f"{head}:{key}:{(entry.count if entry else 0) + 1}"


def group_occurrence_key(rule: CompiledRule, group_key: str, members: Sequence[str]) -> str:
    """Key of a group's shared comment, from the members' own occurrence keys."""
    head = f"{rule.id}@{rule.version}" if rule.refire else rule.id
    digest = hashlib.sha256("\n".join(sorted(members)).encode()).hexdigest()[:12]
    return f"{head}:{group_key}:{digest}"
