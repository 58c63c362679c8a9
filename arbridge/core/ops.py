"""The operations a task can receive, and the task state each one leaves behind.

Stored by name in the outbox (``OpKind`` values never change: rows queued by an older version
must still run). ``apply_op`` is the single definition of what an operation does to the state
arbridge keeps of a task; the planner, the outbox worker and the tests all use it, so "what
was planned" and "what was applied" can never disagree about an operation's effect.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

CORE = ("name", "description", "status", "due_date", "priority")
# Where the state keeps the markers of one-shot effects (comments, subtasks) already planned or
# applied: a marker in it is never queued again.
MARKERS = "markers"


class OpKind(StrEnum):
    CREATE_TASK = "create_task"
    UPDATE_TASK = "update_task"
    SET_FIELD = "set_field"
    POST_COMMENT = "post_comment"
    # What rules add on top of the mirror (see ``arbridge.core.effects``).
    ADD_TAG = "add_tag"
    SET_RULE_FIELD = "set_rule_field"
    CREATE_SUBTASK = "create_subtask"


@dataclass(frozen=True)
class PlannedOp:
    kind: OpKind
    payload: dict[str, Any]

    @property
    def coalesce_key(self) -> str | None:
        """Ops with the same key on one task can be merged while neither has been sent."""
        if self.kind is OpKind.UPDATE_TASK:
            return "update"
        if self.kind is OpKind.SET_FIELD:
            return f"field:{self.payload['fact']}"
        return None


def apply_op(state: dict[str, Any] | None, kind: OpKind, payload: dict[str, Any]) -> dict[str, Any]:
    """The task state after ``kind``/``payload`` succeeded on a task in ``state``."""
    if kind is OpKind.CREATE_TASK:
        return dict(payload["spec"])
    if state is None:
        raise ValueError(f"{kind.value} before the task exists")
    new = dict(state)
    if kind is OpKind.UPDATE_TASK:
        for name in CORE:
            if name in payload:
                new[name] = payload[name]
        if "assignees_add" in payload or "assignees_remove" in payload:
            current = set(new.get("assignees", []))
            current |= set(payload.get("assignees_add", []))
            current -= set(payload.get("assignees_remove", []))
            new["assignees"] = sorted(current)
    elif kind is OpKind.SET_FIELD:
        fields = dict(new.get("fields", {}))
        fields[payload["fact"]] = payload["value"]
        new["fields"] = fields
    elif kind is OpKind.ADD_TAG:
        new["tags"] = sorted({*new.get("tags", []), payload["tag"]})
    elif kind is OpKind.SET_RULE_FIELD:
        new["rule_fields"] = {**new.get("rule_fields", {}), payload["field"]: payload["value"]}
    if "marker" in payload:
        # Any one-shot effect, whatever its kind: a new action needs no line here.
        new[MARKERS] = sorted({*new.get(MARKERS, []), payload["marker"]})
    return new


def merge_payloads(kind: OpKind, older: dict[str, Any], newer: dict[str, Any]) -> dict[str, Any]:
    """One payload with the effect of ``older`` then ``newer``."""
    if kind is OpKind.SET_FIELD:
        return dict(newer)
    if kind is not OpKind.UPDATE_TASK:
        raise ValueError(f"{kind.value} operations are never merged")
    merged = {k: v for k, v in older.items() if k in CORE}
    merged.update({k: v for k, v in newer.items() if k in CORE})
    add = set(older.get("assignees_add", [])) - set(newer.get("assignees_remove", []))
    add |= set(newer.get("assignees_add", []))
    remove = set(older.get("assignees_remove", [])) - set(newer.get("assignees_add", []))
    remove |= set(newer.get("assignees_remove", []))
    if add or remove:
        merged["assignees_add"] = sorted(add)
        merged["assignees_remove"] = sorted(remove)
    return merged
