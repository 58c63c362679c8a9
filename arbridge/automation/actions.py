"""Actions compiled at load time and turned into intents when a rule fires."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from arbridge.automation import intents as i
from arbridge.automation.facts import FACTS, FactSet, FactType
from arbridge.automation.problems import did_you_mean
from arbridge.automation.schema_actions import (
    ActionModel,
    AddTagAction,
    AssignAction,
    CommentAction,
    CreateSubtaskAction,
    MentionAction,
    PauseRemindersAction,
    SetFieldAction,
    SetPriorityAction,
    SetStatusAction,
    StopAction,
    UnassignAction,
    action_kind,
)
from arbridge.automation.templates import CompiledTemplate, compile_template
from arbridge.errors import ActionError, TemplateProblem
from arbridge.model.calendar import BusinessCalendar

Loc = tuple[str | int, ...]
# Posted once for a customer group (on the oldest invoice); every other action applies to each.
PER_GROUP = ("comment", "mention", "create_subtask")


@dataclass(frozen=True)
class CompiledAction:
    index: int
    model: ActionModel
    template: CompiledTemplate | None = None

    @property
    def kind(self) -> str:
        return action_kind(self.model)

    @property
    def reminder(self) -> bool:
        return isinstance(self.model, CommentAction) and self.model.comment.reminder

    @property
    def per_group(self) -> bool:
        return self.kind in PER_GROUP


def compile_actions(
    models: Sequence[ActionModel], loc: Loc, variables: Mapping[str, Any]
) -> tuple[list[CompiledAction], list[ActionError]]:
    compiled: list[CompiledAction] = []
    errors: list[ActionError] = []
    kinds = [action_kind(m) for m in models]
    for index, model in enumerate(models):
        at = (*loc, index, action_kind(model))
        template: CompiledTemplate | None = None
        try:
            if isinstance(model, CommentAction):
                at = (*at, "template")
                template = compile_template(model.comment.template, variables)
            elif isinstance(model, CreateSubtaskAction):
                at = (*at, "name")
                template = compile_template(model.create_subtask.name, variables)
            elif isinstance(model, PauseRemindersAction) and model.pause_reminders.until_fact:
                at = (*at, "until_fact")
                _check_date_fact(model.pause_reminders.until_fact, at)
            elif isinstance(model, MentionAction) and "comment" not in kinds:
                raise ActionError(at, "mention needs a comment action in the same rule")
        except TemplateProblem as exc:
            errors.append(ActionError(at, str(exc)))
            continue
        except ActionError as exc:
            errors.append(exc)
            continue
        compiled.append(CompiledAction(index, model, template))
    return compiled, errors


def _check_date_fact(name: str, at: Loc) -> None:
    spec = FACTS.get(name)
    if spec is None:
        raise ActionError(at, f"unknown fact {name!r}{did_you_mean(name, FACTS)}")
    if spec.type is not FactType.DATE:
        raise ActionError(at, f"{name} is {spec.type.value}, not a date")


@dataclass(frozen=True)
class FiringContext:
    """Everything an action needs to become intents for one invoice."""

    facts: FactSet
    template_context: Mapping[str, Any]
    today: date
    calendar: BusinessCalendar
    key: str  # the occurrence key (or the group's comment key) the action keys derive from
    mentions: tuple[str, ...] = ()


def _add_days(start: date, count: int, business: bool, calendar: BusinessCalendar) -> date:
    return calendar.add_business_days(start, count) if business else start + timedelta(days=count)


def to_intents(action: CompiledAction, ctx: FiringContext) -> list[i.Intent]:
    """The intents of one action; raises TemplateProblem when its template cannot render."""
    fixed = fixed_intents(action)
    if fixed is not None:
        return fixed
    model = action.model
    key = f"{ctx.key}#{action.index}"
    if isinstance(model, CommentAction):
        assert action.template is not None
        text = action.template.render(ctx.template_context)
        return [
            i.PostComment(
                text=text, key=key, reminder=model.comment.reminder, mentions=ctx.mentions
            )
        ]
    if isinstance(model, CreateSubtaskAction):
        assert action.template is not None
        body = model.create_subtask
        due = None if body.due_in_days is None else ctx.today + timedelta(days=body.due_in_days)
        name = action.template.render(ctx.template_context)
        return [i.CreateSubtask(name=name, key=key, assignees=tuple(body.users), due_date=due)]
    assert isinstance(model, PauseRemindersAction)
    pause = model.pause_reminders
    if pause.until_fact is None:
        assert pause.days is not None
        return [
            i.PauseReminders(
                until=_add_days(ctx.today, pause.days, pause.business_days, ctx.calendar)
            )
        ]
    start = ctx.facts.get(pause.until_fact)
    if not isinstance(start, date):
        return []  # nothing to pause until; the trace shows the null fact
    until = _add_days(start, pause.plus_days, pause.business_days, ctx.calendar)
    return [i.PauseReminders(until=until)]


def fixed_intents(action: CompiledAction) -> list[i.Intent] | None:
    """The intents of an action that reads nothing of the firing (None for the others).

    Intents are frozen, so one firing's may be reused for the next: a large tick keeps a
    copy per firing otherwise, which is much of its memory."""
    model = action.model
    if isinstance(model, SetStatusAction):
        return [i.SetStatus(status=model.set_status)]
    if isinstance(model, AssignAction):
        return [i.Assign(users=tuple(model.assign.users))]
    if isinstance(model, UnassignAction):
        return [i.Unassign(users=tuple(model.unassign.users))]
    if isinstance(model, SetPriorityAction):
        return [i.SetPriority(priority=model.set_priority)]
    if isinstance(model, SetFieldAction):
        return [i.SetField(field=model.set_field.field, value=model.set_field.value)]
    if isinstance(model, MentionAction):
        return [i.Mention(users=tuple(model.mention.users))]
    if isinstance(model, AddTagAction):
        return [i.AddTag(tag=model.add_tag)]
    if isinstance(model, StopAction):
        return [i.Stop()]
    return None


def mentions_of(actions: Sequence[CompiledAction]) -> tuple[str, ...]:
    users: list[str] = []
    for action in actions:
        if isinstance(action.model, MentionAction):
            users.extend(u for u in action.model.mention.users if u not in users)
    return tuple(users)
