"""Typed conditions: compiled against the fact catalogue at load, evaluated with a trace.

A condition is data (fact, operator, operand), never a string to substitute into: the fact and
operand types are checked once, when the file loads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from arbridge.automation.facts import FACTS, FactSet, FactSpec, FactType, coerce
from arbridge.automation.problems import did_you_mean
from arbridge.automation.schema import AllCondition, AnyCondition, FactCondition, NotCondition
from arbridge.automation.trace import ConditionEntry
from arbridge.errors import ConditionError

T = FactType
_NUMERIC = {T.INT, T.DECIMAL, T.FLOAT}
_ORDERED = _NUMERIC | {T.DATE, T.DATETIME}
_SCALAR = set(T) - {T.LIST_STR}
APPLIES: dict[str, set[FactType]] = {
    "equals": _SCALAR,
    "not_equals": _SCALAR,
    "in": {T.STR, T.ENUM, T.INT, T.DECIMAL, T.DATE},
    "not_in": {T.STR, T.ENUM, T.INT, T.DECIMAL, T.DATE},
    "gt": _ORDERED,
    "gte": _ORDERED,
    "lt": _ORDERED,
    "lte": _ORDERED,
    "between": _ORDERED,
    "is_null": set(T),
    "contains": {T.LIST_STR},
    "within_last_days": {T.DATE, T.DATETIME},
    "within_next_days": {T.DATE, T.DATETIME},
    "older_than_days": {T.DATE, T.DATETIME},
}
_DAY_OPERATORS = ("within_last_days", "within_next_days", "older_than_days")

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class FactTest:
    spec: FactSpec
    operator: str
    operand: Any
    loc: Loc

    def evaluate(self, facts: FactSet, today: date, tz: ZoneInfo) -> tuple[bool, Any]:
        actual = facts.get(self.spec.name)
        return _apply(self.operator, self.operand, actual, today, tz), actual


@dataclass(frozen=True)
class Group:
    kind: str  # all, any, not
    children: tuple[Compiled, ...]
    loc: Loc


Compiled = FactTest | Group
ConditionModel = FactCondition | AllCondition | AnyCondition | NotCondition


def compile_conditions(
    model: ConditionModel | list[ConditionModel] | None, loc: Loc
) -> tuple[Compiled | None, list[ConditionError]]:
    """Check a rule's conditions against the catalogue; a list means all of them."""
    errors: list[ConditionError] = []
    if model is None:
        return None, errors
    if isinstance(model, list):
        children = tuple(_compile(m, (*loc, i), errors) for i, m in enumerate(model))
        return Group("all", children, loc), errors
    return _compile(model, loc, errors), errors


def _compile(model: ConditionModel, loc: Loc, errors: list[ConditionError]) -> Compiled:
    if isinstance(model, AllCondition):
        items = model.all
        return Group(
            "all", tuple(_compile(m, (*loc, "all", i), errors) for i, m in enumerate(items)), loc
        )
    if isinstance(model, AnyCondition):
        items = model.any
        return Group(
            "any", tuple(_compile(m, (*loc, "any", i), errors) for i, m in enumerate(items)), loc
        )
    if isinstance(model, NotCondition):
        return Group("not", (_compile(model.not_, (*loc, "not"), errors),), loc)
    try:
        return _fact_test(model, loc)
    except ConditionError as error:
        errors.append(error)
        return Group("all", (), loc)


def _fact_test(model: FactCondition, loc: Loc) -> FactTest:
    spec = FACTS.get(model.fact)
    if spec is None:
        raise ConditionError(
            (*loc, "fact"), f"unknown fact {model.fact!r}{did_you_mean(model.fact, FACTS)}"
        )
    op = model.operator
    where = (*loc, op)
    if spec.type not in APPLIES[op]:
        usable = [o for o, kinds in APPLIES.items() if spec.type in kinds]
        raise ConditionError(
            where,
            f"{op} does not apply to {spec.name} ({spec.type.value}); use {', '.join(usable)}",
            key=True,
        )
    return FactTest(spec, op, _operand(spec, op, model.operand, where), loc)


def _operand(spec: FactSpec, op: str, value: Any, loc: Loc) -> Any:
    def one(item: Any, at: Loc) -> Any:
        if item is None:
            raise ConditionError(at, f"{op} needs a value; to test for null use is_null: true")
        try:
            return coerce(spec, item)
        except ValueError as exc:
            raise ConditionError(at, str(exc)) from None

    if op == "is_null":
        if not isinstance(value, bool):
            raise ConditionError(loc, f"is_null expects true or false, got {value!r}")
        if not spec.nullable:
            raise ConditionError(loc, f"{spec.name} is never null", key=True)
        return value
    if op in _DAY_OPERATORS:
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ConditionError(loc, f"{op} expects a whole number of days >= 0, got {value!r}")
        return value
    if op == "contains":
        if not isinstance(value, str):
            raise ConditionError(loc, f"contains expects a string, got {value!r}")
        return value
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            raise ConditionError(loc, f"{op} expects a non-empty list, got {value!r}")
        return tuple(one(v, (*loc, i)) for i, v in enumerate(value))
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise ConditionError(loc, f"between expects [low, high], got {value!r}")
        low, high = one(value[0], (*loc, 0)), one(value[1], (*loc, 1))
        if low > high:
            raise ConditionError(loc, f"between: low {value[0]!r} is above high {value[1]!r}")
        return (low, high)
    if isinstance(value, list):
        raise ConditionError(loc, f"{op} expects a single value; use in: for a list")
    return one(value, loc)


def _day(value: date | datetime, tz: ZoneInfo) -> date:
    return value.astimezone(tz).date() if isinstance(value, datetime) else value


def _apply(op: str, operand: Any, actual: Any, today: date, tz: ZoneInfo) -> bool:
    if op == "is_null":
        return (actual is None) is operand
    if actual is None:
        # Null equals nothing: it is "not equal" to any value and fails every comparison.
        return op in ("not_equals", "not_in")
    if op == "equals":
        return bool(actual == operand)
    if op == "not_equals":
        return bool(actual != operand)
    if op == "in":
        return actual in operand
    if op == "not_in":
        return actual not in operand
    if op == "contains":
        return operand in actual
    if op == "between":
        return bool(operand[0] <= actual <= operand[1])
    if op in _DAY_OPERATORS:
        day = _day(actual, tz)
        if op == "within_last_days":
            return today - timedelta(days=operand) <= day <= today
        if op == "within_next_days":
            return today <= day <= today + timedelta(days=operand)
        return day < today - timedelta(days=operand)
    compare = {
        "gt": lambda a, b: a > b,
        "gte": lambda a, b: a >= b,
        "lt": lambda a, b: a < b,
        "lte": lambda a, b: a <= b,
    }
    return bool(compare[op](actual, operand))


Predicate = Callable[[Mapping[str, Any]], bool]


def predicate(condition: Compiled | None, today: date, tz: ZoneInfo) -> Predicate:
    """``condition`` as a short-circuiting function of a fact mapping, for runs that need no
    trace; it agrees with ``evaluate`` on every input.

    The tree becomes one Python expression, compiled once per rule and tick: a tick calls it
    for every invoice, and a nested call per node costs more than the tests themselves. Fact
    names and operands are bound as variables, never pasted into the source.
    """
    if condition is None:
        return lambda values: True
    bound: dict[str, Any] = {"_apply": _apply, "_today": today, "_tz": tz}
    body = _expression(condition, bound)
    source = f"def _holds(values):\n    get = values.get\n    return bool({body})\n"
    scope: dict[str, Any] = {}
    exec(compile(source, "<condition>", "exec"), bound, scope)  # noqa: S102 - generated above
    holds: Predicate = scope["_holds"]
    return holds


def _expression(condition: Compiled, bound: dict[str, Any]) -> str:
    if isinstance(condition, Group):
        parts = [_expression(c, bound) for c in condition.children]
        if condition.kind == "not":
            return f"(not {parts[0]})"
        if not parts:
            return "True" if condition.kind == "all" else "False"
        return "(" + (" and " if condition.kind == "all" else " or ").join(parts) + ")"
    n = len(bound)
    name, operand = f"_n{n}", f"_o{n}"
    bound[name], bound[operand] = condition.spec.name, condition.operand
    op = condition.operator
    if op == "is_null":
        return f"((get({name}) is None) is {operand})"
    # Null equals nothing: it is "not equal" to any value and fails every comparison.
    null = op in ("not_equals", "not_in")
    if op in _DAY_OPERATORS:
        bound[f"_p{n}"] = op
        test = f"_apply(_p{n}, {operand}, _a, _today, _tz)"
    elif op == "between":
        test = f"({operand}[0] <= _a <= {operand}[1])"
    else:
        symbol = {
            "equals": "==",
            "not_equals": "!=",
            "in": "in",
            "not_in": "not in",
            "gt": ">",
            "gte": ">=",
            "lt": "<",
            "lte": "<=",
        }.get(op)
        if symbol is not None:
            test = f"(_a {symbol} {operand})"
        else:
            assert op == "contains"
            test = f"({operand} in _a)"
    return f"({null} if (_a := get({name})) is None else bool({test}))"


def evaluate(
    condition: Compiled | None,
    facts: FactSet,
    today: date,
    tz: ZoneInfo,
    entries: list[ConditionEntry],
    depth: int = 0,
) -> bool:
    """Whether ``condition`` holds; every node is traced, so no short-circuit."""
    if condition is None:
        return True
    if isinstance(condition, FactTest):
        result, actual = condition.evaluate(facts, today, tz)
        entries.append(
            ConditionEntry(
                depth=depth,
                kind="fact",
                result=result,
                fact=condition.spec.name,
                operator=condition.operator,
                expected=_show(condition.operand),
                actual=_show(actual),
            )
        )
        return result
    slot = len(entries)
    entries.append(ConditionEntry(depth=depth, kind=condition.kind, result=False))
    results = [evaluate(c, facts, today, tz, entries, depth + 1) for c in condition.children]
    if condition.kind == "all":
        result = all(results)
    elif condition.kind == "any":
        result = any(results)
    else:
        result = not results[0]
    entries[slot] = ConditionEntry(depth=depth, kind=condition.kind, result=result)
    return result


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Sequence) and not isinstance(value, str):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)
