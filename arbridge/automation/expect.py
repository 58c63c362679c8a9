"""Matching expected intents (as written in rule tests) against produced ones.

An expectation is one mapping per intent, keyed by the action name: ``set_status: overdue``,
``comment: {contains: "INV-1", reminder: true}``, ``assign: [sam@example.com]``, ``stop: true``.
A scalar or list stands for the intent's main field; a mapping lists the fields to compare;
``contains`` checks text (a comment's text, a subtask's name) for each given substring.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from arbridge.automation import intents as i

_KINDS = {"comment": "post_comment"}
_MAIN = {
    "set_status": "status",
    "set_priority": "priority",
    "add_tag": "tag",
    "assign": "users",
    "unassign": "users",
    "mention": "users",
    "pause_reminders": "until",
    "post_comment": "text",
    "create_subtask": "name",
    "set_field": "field",
}
_TEXT = {"post_comment": "text", "create_subtask": "name"}


def match_intents(expected: Sequence[Mapping[str, Any]], actual: Sequence[i.Intent]) -> list[str]:
    """Differences between the expected and the produced intents, in order; empty if none."""
    failures: list[str] = []
    if len(expected) != len(actual):
        failures.append(
            f"expected {len(expected)} intents, got {len(actual)}: "
            + ", ".join(x.kind for x in actual)
        )
    for n, (want, got) in enumerate(zip(expected, actual, strict=False)):
        problem = _match(want, got)
        if problem:
            failures.append(f"intent {n + 1}: {problem}")
    return failures


def _normal(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_normal(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def _match(want: Mapping[str, Any], got: i.Intent) -> str | None:
    if len(want) != 1:
        return f"an expected intent has one key (the action), got {sorted(want)}"
    name, spec = next(iter(want.items()))
    kind = _KINDS.get(name, name)
    if got.kind != kind:
        return f"expected {name}, got {got.kind}"
    if kind == "stop":
        return None
    fields = spec if isinstance(spec, Mapping) else {_MAIN[kind]: spec}
    for field, value in fields.items():
        if field == "contains":
            text = str(getattr(got, _TEXT.get(kind, "text"), ""))
            for part in value if isinstance(value, list) else [value]:
                if str(part) not in text:
                    return f"{name}: {part!r} not in {text!r}"
            continue
        if field not in type(got).model_fields:
            return f"{name} has no field {field!r}"
        actual = getattr(got, field)
        wanted = [value] if field in ("users", "mentions") and isinstance(value, str) else value
        if _normal(actual) != _normal(wanted):
            return f"{name}.{field}: expected {wanted!r}, got {actual!r}"
    return None
