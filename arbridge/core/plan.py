"""Diff a desired task against the state queued operations will leave it in: the fewest requests.

Pure functions only. ``apply_op`` gives the state after an operation; the planner's contract is
that planning again after applying its own plan yields nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from arbridge.model.task import TaskSpec

CORE = ("name", "description", "status", "due_date", "priority")


class OpKind(StrEnum):
    CREATE_TASK = "create_task"
    UPDATE_TASK = "update_task"
    SET_FIELD = "set_field"
    POST_COMMENT = "post_comment"
    # Rule actions on the task; the mirror's planner never makes these.
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


def plan(desired: TaskSpec, planned: dict[str, Any] | None) -> list[PlannedOp]:
    want = desired.state()
    if planned is None:
        return [PlannedOp(OpKind.CREATE_TASK, {"spec": want})]
    ops: list[PlannedOp] = []
    changes: dict[str, Any] = {k: want[k] for k in CORE if want[k] != planned.get(k)}
    have_assignees = set(planned.get("assignees", []))
    want_assignees = set(want["assignees"])
    if want_assignees != have_assignees:
        changes["assignees_add"] = sorted(want_assignees - have_assignees)
        changes["assignees_remove"] = sorted(have_assignees - want_assignees)
    if changes:
        ops.append(PlannedOp(OpKind.UPDATE_TASK, changes))
    have_fields: dict[str, Any] = planned.get("fields", {})
    # Only facts the desired spec carries are owned; anything else on the task is not ours.
    for fact, value in sorted(want["fields"].items()):
        if fact not in have_fields or have_fields[fact] != value:
            ops.append(PlannedOp(OpKind.SET_FIELD, {"fact": fact, "value": value}))
    return ops


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
    elif kind is OpKind.CREATE_SUBTASK:
        new["subtasks"] = sorted({*new.get("subtasks", []), payload["marker"]})
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
