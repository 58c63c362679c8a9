"""What a firing wants done, as typed values: desired facts, not API calls.

The daemon turns intents into task changes; keys (``PostComment.key``, ``CreateSubtask.key``) make
each comment or subtask exist once however often the same firing is applied.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Intent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SetStatus(_Intent):
    kind: Literal["set_status"] = "set_status"
    status: str


class Assign(_Intent):
    kind: Literal["assign"] = "assign"
    users: tuple[str, ...]


class Unassign(_Intent):
    kind: Literal["unassign"] = "unassign"
    users: tuple[str, ...]


class SetPriority(_Intent):
    kind: Literal["set_priority"] = "set_priority"
    priority: str


class SetField(_Intent):
    kind: Literal["set_field"] = "set_field"
    field: str
    value: str | int | float | bool | date | None


class PostComment(_Intent):
    """``reminder`` comments count towards ``invoice.reminders_sent``; ``mentions`` are emails
    to @-mention in the comment (from a ``mention`` action of the same rule)."""

    kind: Literal["post_comment"] = "post_comment"
    text: str
    key: str
    reminder: bool = False
    mentions: tuple[str, ...] = ()


class CreateSubtask(_Intent):
    kind: Literal["create_subtask"] = "create_subtask"
    name: str
    key: str
    assignees: tuple[str, ...] = ()
    due_date: date | None = None


class Mention(_Intent):
    """Users to notify; rendered into the comment of the same firing."""

    kind: Literal["mention"] = "mention"
    users: tuple[str, ...]


class AddTag(_Intent):
    kind: Literal["add_tag"] = "add_tag"
    tag: str


class PauseReminders(_Intent):
    """No reminder action fires for the invoice through ``until`` (inclusive)."""

    kind: Literal["pause_reminders"] = "pause_reminders"
    until: date


class Stop(_Intent):
    """Later rules were not evaluated for this invoice."""

    kind: Literal["stop"] = "stop"


Intent = Annotated[
    SetStatus
    | Assign
    | Unassign
    | SetPriority
    | SetField
    | PostComment
    | CreateSubtask
    | Mention
    | AddTag
    | PauseReminders
    | Stop,
    Field(discriminator="kind"),
]


def conflict_slot(intent: Intent) -> str | None:
    """The single-valued slot an intent claims (the first rule in order wins a conflict), or
    None when intents simply add up."""
    if isinstance(intent, SetStatus | SetPriority):
        return intent.kind
    if isinstance(intent, SetField):
        return f"set_field:{intent.field}"
    return None


def intent_value(intent: Intent) -> object:
    if isinstance(intent, SetStatus):
        return intent.status
    if isinstance(intent, SetPriority):
        return intent.priority
    if isinstance(intent, SetField):
        return intent.value
    return None
