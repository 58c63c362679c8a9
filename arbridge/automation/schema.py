"""The rule file as pydantic models, and its JSON Schema for editors.

Shapes only: fact names, operand types and templates are checked by the later load stages
(``conditions``, ``templates``, ``actions``), which know the fact catalogue.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BeforeValidator, Discriminator, Field, Tag, model_validator

from arbridge.automation.schema_actions import Action
from arbridge.automation.schema_base import (
    CONDITION_KINDS,
    HHMM,
    OPERATORS,
    TRIGGER_KINDS,
    Days,
    EventType,
    GroupBy,
    Model,
    Operand,
    RuleId,
    fail,
    one_of,
    tag_of,
)

__all__ = ["Rule", "RuleFile", "rules_json_schema"]

# --- triggers -------------------------------------------------------------------------------


class Schedule(Model):
    at: HHMM = Field(description="Time of day in the company's time zone (HH:MM).")
    business_days: bool = Field(False, description="Only on business days (company calendar).")


class ScheduleTrigger(Model):
    schedule: Schedule


class EventTrigger(Model):
    event: EventType


Trigger = Annotated[
    Annotated[ScheduleTrigger, Tag("trigger:schedule")]
    | Annotated[EventTrigger, Tag("trigger:event")],
    Discriminator(tag_of("trigger", TRIGGER_KINDS)),
    BeforeValidator(one_of(TRIGGER_KINDS, "trigger")),
]

# --- conditions -----------------------------------------------------------------------------


class FactCondition(Model):
    fact: str
    equals: Operand = None
    not_equals: Operand = None
    in_: Operand = Field(None, alias="in")
    not_in: Operand = None
    gt: Operand = None
    gte: Operand = None
    lt: Operand = None
    lte: Operand = None
    between: Operand = None
    is_null: Operand = None
    contains: Operand = None
    within_last_days: Operand = None
    within_next_days: Operand = None
    older_than_days: Operand = None

    @model_validator(mode="before")
    @classmethod
    def _one_operator(cls, data: Any) -> Any:
        if isinstance(data, dict):
            ops = [k for k in data if k in OPERATORS]
            unknown = [k for k in data if k not in OPERATORS and k != "fact"]
            if not ops and not unknown:
                raise fail(f"needs an operator: {', '.join(OPERATORS)}")
            if len(ops) > 1:
                raise fail(
                    f"one operator per condition, got {' and '.join(ops)} "
                    "(combine conditions with all:)",
                    key=ops[1],
                )
        return data

    @property
    def operator(self) -> str:
        return next(
            (type(self).model_fields[n].alias or n) for n in self.model_fields_set if n != "fact"
        )

    @property
    def operand(self) -> Any:
        return next(getattr(self, n) for n in self.model_fields_set if n != "fact")


class AllCondition(Model):
    all: list[Condition] = Field(min_length=1)


class AnyCondition(Model):
    any: list[Condition] = Field(min_length=1)


class NotCondition(Model):
    not_: Condition = Field(alias="not")


def _condition_shape(data: Any) -> Any:
    one_of(CONDITION_KINDS, "condition")(data)
    kinds = [k for k in data if k in CONDITION_KINDS]
    if len(kinds) > 1:
        raise fail(
            f"a condition has one of fact, all, any or not; got {' and '.join(kinds)}",
            key=kinds[1],
        )
    return data


Condition = Annotated[
    Annotated[FactCondition, Tag("condition:fact")]
    | Annotated[AllCondition, Tag("condition:all")]
    | Annotated[AnyCondition, Tag("condition:any")]
    | Annotated[NotCondition, Tag("condition:not")],
    Discriminator(tag_of("condition", CONDITION_KINDS)),
    BeforeValidator(_condition_shape),
]
Conditions = Annotated[
    Annotated[list[Condition], Tag("conditions:list")]
    | Annotated[Condition, Tag("conditions:one")],
    Discriminator(lambda v: "conditions:list" if isinstance(v, list) else "conditions:one"),
]

# --- policy and rule ------------------------------------------------------------------------


class Repeat(Model):
    every_days: Days = Field(description="Days between firings (at least 1).")
    business_days: bool = False
    max: Annotated[int, Field(ge=1)] | None = Field(None, description="Most firings in all.")

    @model_validator(mode="after")
    def _positive(self) -> Repeat:
        if self.every_days < 1:
            raise fail("every_days must be at least 1", key="every_days")
        return self


class QuietHours(Model):
    start: HHMM
    end: HHMM

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        if self.start == self.end:
            raise fail("quiet hours start and end at the same time")
        return self


class Policy(Model):
    once: bool = Field(True, description="Fire at most once per invoice (the default).")
    repeat: Repeat | None = None
    quiet_hours: QuietHours | None = None
    group_by: GroupBy | None = Field(None, description="One firing per customer and day.")

    @model_validator(mode="after")
    def _once_or_repeat(self) -> Policy:
        if self.repeat is not None and "once" in self.model_fields_set and self.once:
            raise fail("choose once or repeat, not both", key="once")
        if self.repeat is None and not self.once:
            raise fail("once: false needs a repeat policy", key="once")
        return self


class Rule(Model):
    id: RuleId
    description: str = Field(min_length=1)
    enabled: bool = True
    priority: int = Field(0, description="Higher runs first.")
    order: int = Field(0, description="Tie-break within a priority; then file order.")
    refire: bool = Field(False, description="Fire again on handled invoices when edited.")
    triggers: list[Trigger] = Field(min_length=1)
    conditions: Conditions | None = None
    actions: list[Action] = Field(min_length=1)
    policy: Policy = Policy()


VarValue = str | int | float | bool | date | list[str | int | float | bool]


class RuleFile(Model):
    """A rule file: ``vars`` (pack parameters) and ``rules``."""

    vars: dict[str, VarValue] = Field(default_factory=dict)
    rules: list[Rule] = Field(default_factory=list)


class FileHeader(Model):
    """The file-level shape; each rule is then validated on its own."""

    vars: dict[str, VarValue] = Field(default_factory=dict)
    rules: list[Any] = Field(default_factory=list)


for _model in (AllCondition, AnyCondition, NotCondition, Rule, RuleFile):
    _model.model_rebuild()


def rules_json_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of a rule file."""
    schema = RuleFile.model_json_schema(by_alias=True)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "arbridge rule file",
        **schema,
    }
