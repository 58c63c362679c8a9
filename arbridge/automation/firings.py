"""What an evaluation decides: firings (with their intents) and deferrals.

A traceless evaluation leaves comment and subtask texts as ``Draft``s: the decision (which rule
fires for which invoice, under which key, with which other intents) is complete, and the
template renders once, when the firing's intents are first read. A large tick decides hundreds
of thousands of firings; rendering each would be most of its time, and the daemon reads the
intents only of the firings it applies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from arbridge.automation import intents as i
from arbridge.automation.actions import CompiledAction, FiringContext, to_intents
from arbridge.automation.facts import FactSet
from arbridge.automation.templates import context
from arbridge.model.calendar import BusinessCalendar


@dataclass(frozen=True)
class Draft:
    """A templated action (comment, subtask) of one rule in one evaluation, not yet rendered;
    every firing of the rule shares it, and renders it with its own facts."""

    action: CompiledAction
    now: datetime  # in the company time zone
    variables: Mapping[str, Any]
    mentions: tuple[str, ...]
    calendar: BusinessCalendar

    @property
    def reminder(self) -> bool:
        return self.action.reminder

    def render(self, facts: FactSet, matched: Sequence[FactSet], key: str) -> tuple[i.Intent, ...]:
        """The action's intents for one firing; raises ``TemplateProblem`` when the template
        cannot render."""
        ctx = FiringContext(
            facts=facts,
            template_context=context(facts, matched, self.now, self.variables),
            today=self.now.date(),
            calendar=self.calendar,
            key=key,
            mentions=self.mentions,
        )
        return tuple(to_intents(self.action, ctx))


# A named tuple: a tick over a large book makes one per firing, and a frozen dataclass takes
# ten times as long to build.
class Firing(NamedTuple):
    """One rule fired for one invoice. Grouped firings share ``group_key`` and list the group's
    invoices oldest first; the shared comment is on the oldest's firing.

    ``planned`` holds the intents in action order, templated ones possibly still as drafts;
    ``intents`` renders those (each time it is read; ``TemplateProblem`` if a template fails on
    this firing's data) with ``matched``: the invoice's facts, or the group's oldest first."""

    rule_id: str
    rule_version: str
    invoice_key: str
    occurrence_key: str
    planned: tuple[i.Intent | Draft, ...]
    fired_at: datetime
    group_key: str | None = None
    group_occurrence_key: str | None = None
    group_invoice_keys: tuple[str, ...] = ()
    matched: tuple[FactSet, ...] = ()

    @property
    def intents(self) -> tuple[i.Intent, ...]:
        out: list[i.Intent] = []
        key = self.group_occurrence_key or self.occurrence_key
        for x in self.planned:
            if isinstance(x, Draft):
                out.extend(x.render(self.matched[0], self.matched, key))
            else:
                out.append(x)
        return tuple(out)

    @property
    def reminders(self) -> int:
        return sum(
            1
            for x in self.planned
            if (x.reminder if isinstance(x, Draft) else isinstance(x, i.PostComment) and x.reminder)
        )


@dataclass(frozen=True, slots=True)
class Deferred:
    """A firing held back (quiet hours, a group already served today); re-evaluate the same
    trigger at ``not_before``."""

    rule_id: str
    invoice_key: str
    not_before: datetime
    reason: str
