"""What rules want on a task besides its mirrored state, diffed like the mirror's own fields.

A firing's intents become *desired effects*: operations stated as facts that should hold.
Three shapes cover every rule action that reaches the task tool:

- a member of a set: a tag ("tag T is on the task");
- a keyed value: a field the rules write ("field F reads V");
- a one-shot effect with a marker: a comment, a subtask, next an email ("the effect marked M
  exists"). The marker comes from the firing's occurrence key, so the same firing applied again
  wants the same marker.

``plan_effects`` keeps only the effects the planned state does not already show, so a tag or a
value already planned costs no request, and a marked effect is queued once: a crash, a
re-delivered event or a replan finds its marker planned. Effects live in the transaction that
records their firing and are remembered only as planned state (tags, values, markers): a resync
never repeats a reminder, and a task recreated after a deletion gets its mirror back without
its old comments posted a second time.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from arbridge.core.ops import MARKERS, OpKind, PlannedOp, apply_op


def satisfied(effect: PlannedOp, state: dict[str, Any]) -> bool:
    """Whether a task in ``state`` already shows ``effect``."""
    payload = effect.payload
    if "marker" in payload:
        return payload["marker"] in state.get(MARKERS, [])
    if effect.kind is OpKind.ADD_TAG:
        return payload["tag"] in state.get("tags", [])
    if effect.kind is OpKind.SET_RULE_FIELD:
        values: dict[str, Any] = state.get("rule_fields", {})
        return payload["field"] in values and values[payload["field"]] == payload["value"]
    raise ValueError(f"{effect.kind.value} is not a rule effect (give its payload a marker)")


def plan_effects(effects: Iterable[PlannedOp], state: dict[str, Any]) -> list[PlannedOp]:
    """The effects, in their order, that a task in ``state`` does not show yet (each once).
    A field given twice wants its last value: planning the earlier one too would cost a
    request now and another on every replan."""
    wanted = list(effects)
    last = {_field(e): index for index, e in enumerate(wanted) if _field(e) is not None}
    ops: list[PlannedOp] = []
    for index, effect in enumerate(wanted):
        name = _field(effect)
        if name is not None and last[name] != index:
            continue
        if not satisfied(effect, state):
            ops.append(effect)
            state = apply_op(state, effect.kind, effect.payload)
    return ops


def _field(effect: PlannedOp) -> str | None:
    return str(effect.payload["field"]) if effect.kind is OpKind.SET_RULE_FIELD else None
