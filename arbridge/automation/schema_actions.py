"""Action models of the rule file: each list item is a one-key mapping (``{comment: ...}``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Discriminator, Field, Tag, WithJsonSchema, model_validator

from arbridge.automation.schema_base import (
    ACTION_KINDS,
    Days,
    Email,
    Model,
    Priority,
    Scalar,
    Status,
    fail,
    one_of,
    tag_of,
)


class Comment(Model):
    template: str = Field(min_length=1, description="Jinja2 template (sandboxed).")
    reminder: bool = Field(False, description="Counts as a reminder to the customer.")


class Users(Model):
    users: list[Email] = Field(min_length=1)


class FieldValue(Model):
    field: str = Field(min_length=1, description="Custom field name on the list.")
    value: Scalar


class Subtask(Model):
    name: str = Field(min_length=1, description="Jinja2 template for the subtask name.")
    users: list[Email] = Field(default_factory=list)
    due_in_days: Days | None = None


class Pause(Model):
    days: Days | None = None
    business_days: bool = False
    until_fact: str | None = Field(None, description="A date fact, e.g. the promise-to-pay date.")
    plus_days: Days = 0

    @model_validator(mode="after")
    def _exactly_one(self) -> Pause:
        if (self.days is None) == (self.until_fact is None):
            raise fail("give days or until_fact")
        return self


class SetStatusAction(Model):
    set_status: Status


class AssignAction(Model):
    assign: Users


class UnassignAction(Model):
    unassign: Users


class SetPriorityAction(Model):
    set_priority: Priority


class SetFieldAction(Model):
    set_field: FieldValue


class CommentAction(Model):
    comment: Comment


class CreateSubtaskAction(Model):
    create_subtask: Subtask


class MentionAction(Model):
    mention: Users


class AddTagAction(Model):
    add_tag: Annotated[str, Field(min_length=1)]


class PauseRemindersAction(Model):
    pause_reminders: Pause


class StopAction(Model):
    stop: Annotated[bool, WithJsonSchema({"const": True})]

    @model_validator(mode="after")
    def _true(self) -> StopAction:
        if not self.stop:
            raise fail("stop must be true (leave the action out instead)")
        return self


_ACTION_MODELS: dict[str, type[Model]] = {
    "set_status": SetStatusAction,
    "assign": AssignAction,
    "unassign": UnassignAction,
    "set_priority": SetPriorityAction,
    "set_field": SetFieldAction,
    "comment": CommentAction,
    "create_subtask": CreateSubtaskAction,
    "mention": MentionAction,
    "add_tag": AddTagAction,
    "pause_reminders": PauseRemindersAction,
    "stop": StopAction,
}
ActionModel = (
    SetStatusAction
    | AssignAction
    | UnassignAction
    | SetPriorityAction
    | SetFieldAction
    | CommentAction
    | CreateSubtaskAction
    | MentionAction
    | AddTagAction
    | PauseRemindersAction
    | StopAction
)
Action = Annotated[
    Annotated[SetStatusAction, Tag("action:set_status")]
    | Annotated[AssignAction, Tag("action:assign")]
    | Annotated[UnassignAction, Tag("action:unassign")]
    | Annotated[SetPriorityAction, Tag("action:set_priority")]
    | Annotated[SetFieldAction, Tag("action:set_field")]
    | Annotated[CommentAction, Tag("action:comment")]
    | Annotated[CreateSubtaskAction, Tag("action:create_subtask")]
    | Annotated[MentionAction, Tag("action:mention")]
    | Annotated[AddTagAction, Tag("action:add_tag")]
    | Annotated[PauseRemindersAction, Tag("action:pause_reminders")]
    | Annotated[StopAction, Tag("action:stop")],
    Discriminator(tag_of("action", ACTION_KINDS)),
    BeforeValidator(one_of(ACTION_KINDS, "action")),
]


def action_kind(action: ActionModel) -> str:
    return next(iter(type(action).model_fields))
