"""Building blocks of the rule-file models: vocabulary, error constructor, scalar types, base."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError

from arbridge.automation.problems import did_you_mean
from arbridge.model.task import TASK_STATUSES

EVENT_TYPES = (
    "invoice.created",
    "invoice.finalized",
    "invoice.partially_paid",
    "invoice.paid",
    "invoice.voided",
    "invoice.disputed",
    "invoice.overdue",
    "collector.status_changed",
    "collector.commented",
    "collector.promise_to_pay_set",
)
PRIORITIES = ("urgent", "high", "normal", "low")
OPERATORS = (
    "equals",
    "not_equals",
    "in",
    "not_in",
    "gt",
    "gte",
    "lt",
    "lte",
    "between",
    "is_null",
    "contains",
    "within_last_days",
    "within_next_days",
    "older_than_days",
)
CONDITION_KINDS = ("fact", "all", "any", "not")
TRIGGER_KINDS = ("schedule", "event")
ACTION_KINDS = (
    "set_status",
    "assign",
    "unassign",
    "set_priority",
    "set_field",
    "comment",
    "create_subtask",
    "mention",
    "add_tag",
    "pause_reminders",
    "stop",
)

VAR_REF: dict[str, Any] = {
    "type": "object",
    "properties": {"var": {"type": "string"}},
    "required": ["var"],
    "additionalProperties": False,
}


def fail(message: str, key: str | None = None) -> PydanticCustomError:
    """An error whose message is shown as is; ``key`` points it at that key of the input."""
    context: dict[str, Any] = {"message": message}
    if key is not None:
        return PydanticCustomError("arbridge_key", "{message}", {**context, "key": key})
    return PydanticCustomError("arbridge", "{message}", context)


def _check_choice(values: Sequence[str], what: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in values:
            raise fail(f"unknown {what} {value!r}{did_you_mean(value, values)}")
        return value

    return check


def _enum_schema(values: Sequence[str], *, var: bool = False) -> WithJsonSchema:
    schema: dict[str, Any] = {"type": "string", "enum": list(values)}
    return WithJsonSchema({"anyOf": [schema, VAR_REF]} if var else schema)


def _hhmm(value: str) -> str:
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
        raise fail(f"expected a time as HH:MM (24-hour), got {value!r}")
    return value


def _email(value: str) -> str:
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        raise fail(f"not an email address: {value!r}")
    return value


HHMM = Annotated[
    str, AfterValidator(_hhmm), WithJsonSchema({"type": "string", "pattern": "^\\d\\d:\\d\\d$"})
]
Email = Annotated[
    str,
    AfterValidator(_email),
    WithJsonSchema({"anyOf": [{"type": "string", "format": "email"}, VAR_REF]}),
]
RuleId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=100)]
Status = Annotated[
    str,
    AfterValidator(_check_choice(TASK_STATUSES, "task status")),
    _enum_schema(TASK_STATUSES, var=True),
]
Priority = Annotated[
    str, AfterValidator(_check_choice(PRIORITIES, "priority")), _enum_schema(PRIORITIES, var=True)
]
EventType = Annotated[
    str, AfterValidator(_check_choice(EVENT_TYPES, "event")), _enum_schema(EVENT_TYPES)
]
GroupBy = Annotated[
    str, AfterValidator(_check_choice(("customer",), "grouping")), _enum_schema(("customer",))
]
Days = Annotated[int, Field(ge=0), WithJsonSchema({"anyOf": [{"type": "integer"}, VAR_REF]})]
_SCALAR = {"type": ["string", "number", "boolean"]}
Scalar = Annotated[
    str | int | float | bool | date | None,
    WithJsonSchema({"anyOf": [{"type": ["string", "number", "boolean", "null"]}, VAR_REF]}),
]
# Operands are typed against the fact by the conditions stage, which words errors far better.
Operand = Annotated[
    Any,
    WithJsonSchema(
        {
            "anyOf": [
                {"type": ["string", "number", "boolean", "null"]},
                {"type": "array", "items": {"anyOf": [_SCALAR, VAR_REF]}},
                VAR_REF,
            ]
        }
    ),
]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            allowed = [f.alias or name for name, f in cls.model_fields.items()]
            for key in data:
                if str(key) not in allowed:
                    hint = did_you_mean(str(key), allowed) or f" (expected {', '.join(allowed)})"
                    raise fail(f"unknown key {key!r}{hint}", key=str(key))
        return data


def one_of(kinds: Sequence[str], what: str) -> Callable[[Any], Any]:
    """Before-validator of a single-key union member (``{schedule: ...}``, ``{comment: ...}``)."""

    def check(data: Any) -> Any:
        if not isinstance(data, dict) or not data:
            raise fail(f"a {what} is a mapping with one of: {', '.join(kinds)}")
        known = [k for k in data if k in kinds]
        if not known:
            key = str(next(iter(data)))
            hint = did_you_mean(key, kinds) or f" (expected one of: {', '.join(kinds)})"
            raise fail(f"unknown {what} {key!r}{hint}", key=key)
        if len(known) > 1 and what != "condition":
            raise fail(f"one {what} per list item, got {' and '.join(known)}", key=known[1])
        return data

    return check


def tag_of(prefix: str, kinds: Sequence[str]) -> Callable[[Any], str | None]:
    def kind(data: Any) -> str | None:
        if isinstance(data, BaseModel):  # serialising: the first field names the member
            name, info = next(iter(type(data).model_fields.items()))
            return f"{prefix}:{info.alias or name}"
        if isinstance(data, dict):
            for key in data:
                if key in kinds:
                    return f"{prefix}:{key}"
        return None

    return kind
