"""Why a rule did or did not fire: every condition with its fact value, every decision made."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Outcome(StrEnum):
    FIRED = "fired"
    DISABLED = "disabled"
    NOT_TRIGGERED = "not triggered"
    CONDITIONS_FALSE = "conditions false"
    ALREADY_FIRED = "already fired"
    NOT_DUE = "not due yet"
    MAX_REACHED = "repeat limit reached"
    REMINDERS_PAUSED = "reminders paused"
    DEFERRED = "deferred"
    STOPPED = "skipped: an earlier rule stopped evaluation"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class ConditionEntry:
    """One node of a condition tree: a fact test or an all/any/not group."""

    depth: int
    kind: str
    result: bool
    fact: str | None = None
    operator: str | None = None
    expected: str | None = None
    actual: str | None = None

    def render(self) -> str:
        mark = "true " if self.result else "false"
        pad = "  " * self.depth
        if self.kind != "fact":
            return f"{pad}{mark} {self.kind}:"
        return f"{pad}{mark} {self.fact} {self.operator} {self.expected} (actual: {self.actual})"


@dataclass(frozen=True, slots=True)
class Conflict:
    """Two rules wanted different values for one slot (status, priority, a field)."""

    invoice_key: str
    slot: str
    winner_rule: str
    winner_value: str
    loser_rule: str
    loser_value: str

    def render(self) -> str:
        return (
            f"{self.slot} conflict on {self.invoice_key}: {self.winner_rule} wants "
            f"{self.winner_value!r}, {self.loser_rule} wants {self.loser_value!r}; "
            f"{self.winner_rule} wins (earlier in rule order: priority, then order, then file)"
        )


@dataclass
class RuleTrace:
    rule_id: str
    rule_version: str
    invoice_key: str
    outcome: Outcome = Outcome.NOT_TRIGGERED
    trigger: str = ""
    conditions: list[ConditionEntry] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    intents: list[str] = field(default_factory=list)

    def render(self) -> str:
        lines = [
            f"rule {self.rule_id} (version {self.rule_version}) on {self.invoice_key}: "
            f"{self.outcome.value}"
        ]
        if self.trigger:
            lines.append(f"  trigger: {self.trigger}")
        if self.conditions:
            lines.append("  conditions:")
            lines.extend(f"    {entry.render()}" for entry in self.conditions)
        lines.extend(f"  note: {note}" for note in self.notes)
        lines.extend(f"  intent: {intent}" for intent in self.intents)
        return "\n".join(lines)


@dataclass
class Trace:
    """Everything one evaluation decided, in rule order."""

    at: str
    trigger: str
    rules: list[RuleTrace] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)

    def find(self, rule_id: str, invoice_key: str | None = None) -> list[RuleTrace]:
        return [
            r
            for r in self.rules
            if r.rule_id == rule_id and (invoice_key is None or r.invoice_key == invoice_key)
        ]

    def for_invoice(self, invoice_key: str) -> list[RuleTrace]:
        return [r for r in self.rules if r.invoice_key == invoice_key]

    def render(self, rule_id: str | None = None, invoice_key: str | None = None) -> str:
        picked = [
            r
            for r in self.rules
            if (rule_id is None or r.rule_id == rule_id)
            and (invoice_key is None or r.invoice_key == invoice_key)
        ]
        lines = [f"evaluation at {self.at} ({self.trigger})"]
        lines.extend(r.render() for r in picked)
        lines.extend(
            c.render()
            for c in self.conflicts
            if invoice_key is None or c.invoice_key == invoice_key
        )
        return "\n".join(lines)
