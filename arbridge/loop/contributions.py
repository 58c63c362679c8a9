"""One intent type, one contribution to what its invoice's task should be.

A firing's intents do not act. Each one adds to the invoice's *desired* state: the rules' status,
priority and assignees, kept in the collection row the planner reads, or a desired effect (a tag,
a rule field, a comment or subtask with its marker) for ``arbridge.core.effects``. The planner
then diffs that against what is planned and queues only the difference, the same way it queues
the mirror's changes. This table replaces a chain of ``isinstance`` branches: adding an action is
an intent type (``arbridge.automation.intents``), its contribution here and, when it reaches the
task tool, its operation kind and sink method (``arbridge.loop.apply``); see docs/rules.md,
"Adding an action".
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from arbridge.automation.intents import (
    AddTag,
    Assign,
    CreateSubtask,
    Mention,
    PauseReminders,
    PostComment,
    SetField,
    SetPriority,
    SetStatus,
    Stop,
    Unassign,
)
from arbridge.core.ops import OpKind, PlannedOp
from arbridge.store.tables import CollectionRow

PRIORITY = {"urgent": 1, "high": 2, "normal": 3, "low": 4}


def marker_for(key: str) -> str:
    """The short reference a comment carries so a retry can find it on the task."""
    return "arbridge ref " + hashlib.sha256(key.encode()).hexdigest()[:12]


def subtask_marker(key: str) -> str:
    """What a subtask carries in the key field so a retry can find it under its task."""
    return "arbridge subtask " + hashlib.sha256(key.encode()).hexdigest()[:16]


@dataclass
class Wanted:
    """What one firing wants of its invoice: the collection row it updates (the planner reads
    the rules' status, priority and assignees from it) and the desired effects in action order."""

    row: CollectionRow
    now: datetime
    effects: list[PlannedOp] = field(default_factory=list)
    reminders: int = 0
    escalations: int = 0


IntentT = TypeVar("IntentT", bound=BaseModel)
Contribution = Callable[[Any, Wanted], None]
_CONTRIBUTIONS: dict[type[BaseModel], Contribution] = {}


def contributes(
    kind: type[IntentT],
) -> Callable[[Callable[[IntentT, Wanted], None]], Callable[[IntentT, Wanted], None]]:
    """Register the function through which intents of ``kind`` shape the desired task."""

    def register(function: Callable[[IntentT, Wanted], None]) -> Callable[[IntentT, Wanted], None]:
        if kind in _CONTRIBUTIONS:
            raise ValueError(f"{kind.__name__} already has a contribution")
        _CONTRIBUTIONS[kind] = function
        return function

    return register


def registered() -> frozenset[type[BaseModel]]:
    return frozenset(_CONTRIBUTIONS)


def contribute(intents: Iterable[BaseModel], wanted: Wanted) -> None:
    """Add every intent's contribution to ``wanted``, in the firing's action order."""
    for intent in intents:
        contribution = _CONTRIBUTIONS.get(type(intent))
        if contribution is None:
            raise TypeError(f"no contribution registered for {type(intent).__name__}")
        contribution(intent, wanted)


@contributes(PostComment)
def _comment(intent: PostComment, wanted: Wanted) -> None:
    text = intent.text
    if intent.mentions:
        text += "\n\n" + " ".join(f"@{user}" for user in intent.mentions)
    wanted.effects.append(
        PlannedOp(OpKind.POST_COMMENT, {"text": text, "marker": marker_for(intent.key)})
    )
    if intent.reminder:
        row = wanted.row
        row.reminders_sent += 1
        row.last_reminder_at = wanted.now
        row.customer_replied_since_last_reminder = False
        wanted.reminders += 1


@contributes(SetStatus)
def _status(intent: SetStatus, wanted: Wanted) -> None:
    wanted.row.status = intent.status


@contributes(SetPriority)
def _priority(intent: SetPriority, wanted: Wanted) -> None:
    wanted.row.priority = PRIORITY[intent.priority]
    if wanted.row.priority == 1:
        wanted.escalations += 1


@contributes(Assign)
def _assign(intent: Assign, wanted: Wanted) -> None:
    wanted.row.assignees = sorted(set(wanted.row.assignees) | set(intent.users))


@contributes(Unassign)
def _unassign(intent: Unassign, wanted: Wanted) -> None:
    wanted.row.assignees = sorted(set(wanted.row.assignees) - set(intent.users))


@contributes(AddTag)
def _tag(intent: AddTag, wanted: Wanted) -> None:
    # The row keeps the tags as a fact rules can read (``task.tags``); the task gets the effect.
    wanted.row.tags = sorted(set(wanted.row.tags) | {intent.tag})
    wanted.effects.append(PlannedOp(OpKind.ADD_TAG, {"tag": intent.tag}))


@contributes(SetField)
def _field(intent: SetField, wanted: Wanted) -> None:
    value = intent.value
    payload: dict[str, Any] = {
        "field": intent.field,
        "value": value.isoformat() if isinstance(value, date) else value,
    }
    if isinstance(value, date):
        payload["date"] = True
    wanted.effects.append(PlannedOp(OpKind.SET_RULE_FIELD, payload))


@contributes(CreateSubtask)
def _subtask(intent: CreateSubtask, wanted: Wanted) -> None:
    payload = {
        "name": intent.name,
        "marker": subtask_marker(intent.key),
        "assignees": list(intent.assignees),
        "due_date": None if intent.due_date is None else intent.due_date.isoformat(),
    }
    wanted.effects.append(PlannedOp(OpKind.CREATE_SUBTASK, payload))


@contributes(PauseReminders)
def _pause(intent: PauseReminders, wanted: Wanted) -> None:
    wanted.row.reminders_paused_until = intent.until


@contributes(Mention)
def _mention(intent: Mention, wanted: Wanted) -> None:
    """Rendered into the same firing's comment (``PostComment.mentions``): nothing of its own."""


@contributes(Stop)
def _stop(intent: Stop, wanted: Wanted) -> None:
    """The engine's own: later rules were not evaluated. Nothing reaches the task."""
