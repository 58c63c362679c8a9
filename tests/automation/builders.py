"""Small builders for the automation tests."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from arbridge.automation import (
    Evaluation,
    FactSet,
    History,
    MemoryHistory,
    RuleSet,
    ScheduleTick,
    Trigger,
    evaluate,
    load_text,
)
from arbridge.automation.testing import case_facts
from arbridge.errors import TemplateProblem
from arbridge.model.calendar import BusinessCalendar

CALENDAR = BusinessCalendar()
MONDAY = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)


def ruleset(text: str, **variables: Any) -> RuleSet:
    result = load_text(text, "rules/test.yaml", variables=variables or None)
    assert result.problems == [], [str(p) for p in result.problems]
    return result.rules


def one_rule(
    *,
    conditions: str = "",
    actions: str = "[{set_status: overdue}]",
    triggers: str = '[{schedule: {at: "09:00"}}]',
    policy: str = "",
    extra: str = "",
    rule_id: str = "r",
    variables: str = "",
) -> str:
    """A rule file with one rule; the arguments are YAML flow snippets."""
    lines = [f"vars: {variables}"] if variables else []
    lines.append("rules:")
    lines += [f"  - id: {rule_id}", "    description: Test rule", f"    triggers: {triggers}"]
    if conditions:
        lines.append(f"    conditions: {conditions}")
    lines.append(f"    actions: {actions}")
    if policy:
        lines.append(f"    policy: {policy}")
    if extra:
        lines.append(extra)
    return "\n".join(lines) + "\n"


def facts(today: date, *invoices: Mapping[str, Any]) -> dict[str, FactSet]:
    """Complete fact sets; each mapping holds dotted facts (``{"invoice.due_date": ...}``)."""
    return case_facts([dict(i) for i in invoices] or [{}], today, CALENDAR)


def run(
    rules: RuleSet,
    facts_by_invoice: Mapping[str, FactSet],
    at: datetime = MONDAY,
    trigger: Trigger | None = None,
    history: History | None = None,
    timezone: str | ZoneInfo = "UTC",
    calendar: BusinessCalendar = CALENDAR,
) -> Evaluation:
    """The traced evaluation, checked against the daemon's traceless one on the same input."""
    args = (
        rules,
        trigger or ScheduleTick(),
        facts_by_invoice,
        history if history is not None else MemoryHistory(),
        at,
        calendar,
        timezone,
    )
    traced = evaluate(*args)
    assert decisions(evaluate(*args, explain=False)) == decisions(traced)
    return traced


def decisions(evaluation: Evaluation) -> tuple[list[object], list[object], list[object]]:
    """Firings (with rendered intents), deferrals and conflicts, comparable across modes. A
    firing whose template fails to render counts as not made (the traced run drops it)."""
    firings: list[object] = []
    for f in evaluation.firings:
        try:
            intents = f.intents
        except TemplateProblem:
            continue
        firings.append(
            (
                f.rule_id,
                f.rule_version,
                f.invoice_key,
                f.occurrence_key,
                intents,
                f.fired_at,
                f.group_key,
                f.group_occurrence_key,
                f.group_invoice_keys,
                f.reminders,
            )
        )
    return firings, list(evaluation.deferred), list(evaluation.trace.conflicts)
