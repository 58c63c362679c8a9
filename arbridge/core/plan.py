"""Diff a desired task against the state queued operations will leave it in: the fewest requests.

Pure functions only. The desired task is the mirror (``TaskSpec``, with the rules' status,
priority and assignees folded in) plus the rules' desired effects (tags, rule fields, comments,
subtasks; see ``arbridge.core.effects``). The planner's contract: planning again after applying
its own plan yields nothing, and it never names a field, tag or marker the desired task does
not carry.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from arbridge.core.effects import plan_effects
from arbridge.core.ops import CORE, OpKind, PlannedOp, apply_op, merge_payloads
from arbridge.model.task import TaskSpec

__all__ = ["CORE", "OpKind", "PlannedOp", "apply_op", "merge_payloads", "plan"]


def plan(
    desired: TaskSpec, planned: dict[str, Any] | None, effects: Sequence[PlannedOp] = ()
) -> list[PlannedOp]:
    """The operations that take a task from ``planned`` (None: no task yet) to ``desired``
    showing ``effects``: the mirror's first, then the effects in their order."""
    ops = _mirror(desired, planned)
    if not effects:
        return ops
    state = planned
    for op in ops:
        state = apply_op(state, op.kind, op.payload)
    assert state is not None  # a missing task is created by the mirror's first op
    return ops + plan_effects(effects, state)


def _mirror(desired: TaskSpec, planned: dict[str, Any] | None) -> list[PlannedOp]:
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
