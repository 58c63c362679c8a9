"""Get Tasks and Get Filtered Team Tasks: query parameters, filters, ordering and paging."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from arbridge_clickup.emulator.errors import bad_param, bad_request
from arbridge_clickup.emulator.fields import NUMBER_TYPES, is_number
from arbridge_clickup.emulator.model import Task, TaskList
from arbridge_clickup.emulator.workspace import FieldDef, Workspace

PAGE_SIZE = 100
FILTER_OPERATORS = frozenset(
    {
        "=",
        "==",
        "<",
        "<=",
        ">",
        ">=",
        "!=",
        "!==",
        "IS NULL",
        "IS NOT NULL",
        "RANGE",
        "ANY",
        "ALL",
        "NOT ANY",
        "NOT ALL",
    }
)
_DATE_BOUNDS = ("due_date", "date_created", "date_updated", "date_done")


@dataclass(frozen=True)
class FieldFilter:
    field_id: str
    operator: str
    value: Any


def _parse_bool(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0", ""):
        return False
    raise bad_param(name)


def _parse_int(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise bad_param(name) from None


@dataclass(frozen=True)
class TaskQuery:
    """The filters and paging of Get Tasks / Get Filtered Team Tasks."""

    page: int = 0
    order_by: str = "created"
    reverse: bool = False
    include_closed: bool = False
    subtasks: bool = False
    archived: bool = False
    include_markdown: bool = False
    statuses: tuple[str, ...] = ()
    assignees: tuple[int, ...] = ()
    tags: tuple[str, ...] = ()
    list_ids: tuple[str, ...] = ()
    folder_ids: tuple[str, ...] = ()
    space_ids: tuple[str, ...] = ()
    bounds: tuple[tuple[str, int], ...] = ()
    custom_fields: tuple[FieldFilter, ...] = ()

    @classmethod
    def from_params(cls, params: Mapping[str, Sequence[str]]) -> TaskQuery:
        """Parse query parameters; array filters are accepted with or without ``[]``."""

        def many(name: str) -> list[str]:
            return [*params.get(f"{name}[]", ()), *params.get(name, ())]

        def one(name: str) -> str | None:
            values = params.get(name)
            return values[-1] if values else None

        def flag(name: str) -> bool:
            raw = one(name)
            return False if raw is None else _parse_bool(name, raw)

        page_raw = one("page")
        page = 0 if page_raw is None else _parse_int("page", page_raw)
        if page < 0:
            raise bad_param("page")
        order_by = one("order_by") or "created"
        if order_by not in ("id", "created", "updated", "due_date"):
            raise bad_param("order_by")
        bounds: list[tuple[str, int]] = []
        for base in _DATE_BOUNDS:
            for suffix in ("gt", "lt"):
                name = f"{base}_{suffix}"
                raw = one(name)
                if raw is not None:
                    bounds.append((name, _parse_int(name, raw)))
        assignees = []
        for raw in many("assignees"):
            assignees.append(_parse_int("assignees", raw))
        filters: list[FieldFilter] = []
        for raw in params.get("custom_fields", ()):
            filters.extend(_parse_field_filters(raw))
        return cls(
            page=page,
            order_by=order_by,
            reverse=flag("reverse"),
            include_closed=flag("include_closed"),
            subtasks=flag("subtasks"),
            archived=flag("archived"),
            include_markdown=flag("include_markdown_description"),
            statuses=tuple(s.lower() for s in many("statuses")),
            assignees=tuple(assignees),
            tags=tuple(t.lower() for t in many("tags")),
            list_ids=tuple(many("list_ids")),
            folder_ids=tuple(many("project_ids")),
            space_ids=tuple(many("space_ids")),
            bounds=tuple(bounds),
            custom_fields=tuple(filters),
        )


def _parse_field_filters(raw: str) -> list[FieldFilter]:
    try:
        decoded = json.loads(raw)
    except json.JSONDecodeError:
        raise bad_request("custom_fields must be a JSON array", "FILTER_001") from None
    if isinstance(decoded, dict):
        decoded = [decoded]
    if not isinstance(decoded, list):
        raise bad_request("custom_fields must be a JSON array", "FILTER_001")
    filters = []
    for item in decoded:
        if not isinstance(item, dict) or not isinstance(item.get("field_id"), str):
            raise bad_request("Each custom field filter needs a field_id", "FILTER_002")
        operator = str(item.get("operator", "=")).upper()
        if operator not in FILTER_OPERATORS:
            raise bad_request(f"Unknown custom field filter operator {operator}", "FILTER_003")
        if operator not in ("IS NULL", "IS NOT NULL") and "value" not in item:
            raise bad_request(f"Operator {operator} needs a value", "FILTER_004")
        filters.append(FieldFilter(item["field_id"], operator, item.get("value")))
    return filters


def _as_float(value: Any) -> float:
    if is_number(value):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise bad_request("Custom field filter value is not a number", "FILTER_005")


def find_tasks(
    state: Workspace, lists: Sequence[TaskList], query: TaskQuery
) -> tuple[list[Task], bool]:
    """One page of tasks from ``lists`` matching ``query``, and whether it is the last."""
    list_ids = {lst.id for lst in lists}
    with state.lock:
        found = [t for t in state.tasks.values() if t.list_id in list_ids]
        found = [t for t in found if _task_matches(state, t, query)]
    found.sort(key=_sort_key(query.order_by), reverse=not query.reverse)
    start = query.page * PAGE_SIZE
    page = found[start : start + PAGE_SIZE]
    return page, start + PAGE_SIZE >= len(found)


def _task_matches(state: Workspace, task: Task, query: TaskQuery) -> bool:
    lst = state.lists[task.list_id]
    status = lst.status(task.status)
    if status is not None and status.closed and not query.include_closed:
        return False
    if task.archived != query.archived:
        return False
    if task.parent is not None and not query.subtasks:
        return False
    if query.statuses and task.status.lower() not in query.statuses:
        return False
    if query.assignees and not set(query.assignees) & set(task.assignees):
        return False
    if query.tags and not set(query.tags) & set(task.tags):
        return False
    if query.list_ids and task.list_id not in query.list_ids:
        return False
    if query.folder_ids and lst.folder_id not in query.folder_ids:
        return False
    if query.space_ids and lst.space_id not in query.space_ids:
        return False
    for name, bound in query.bounds:
        attr, _, direction = name.rpartition("_")
        actual = getattr(task, attr)
        if actual is None:
            return False
        if (direction == "gt" and not actual > bound) or (direction == "lt" and not actual < bound):
            return False
    return all(_field_matches(state, task, flt) for flt in query.custom_fields)


def check_filters(lists: Sequence[TaskList], query: TaskQuery) -> None:
    """Reject filters on fields the lists do not have, before any task is read."""
    known = {fid for lst in lists for fid in lst.field_ids}
    for flt in query.custom_fields:
        if flt.field_id not in known:
            raise bad_request("Custom field filter references an unknown field", "FILTER_006")


def _field_matches(state: Workspace, task: Task, flt: FieldFilter) -> bool:
    fdef = state.fields.get(flt.field_id)
    if fdef is None:
        return False
    stored = task.values.get(fdef.id)
    if fdef.formula is not None:
        stored = fdef.formula(state, task)
    op = flt.operator
    if op == "IS NULL":
        return stored is None
    if op == "IS NOT NULL":
        return stored is not None
    if stored is None:
        return False  # like SQL, an unset value takes part in no comparison
    if fdef.type == "drop_down":
        return _match_choice(fdef, [stored], op, flt.value)
    if fdef.type == "labels":
        return _match_choice(fdef, list(stored), op, flt.value)
    if fdef.type in NUMBER_TYPES or fdef.type in ("date", "formula"):
        return _match_number(_as_float(stored), op, flt.value)
    return _match_text(str(stored), op, flt.value)


def _sort_key(order_by: str) -> Callable[[Task], tuple[Any, ...]]:
    if order_by == "id":
        return lambda t: (t.id,)
    if order_by == "updated":
        return lambda t: (t.date_updated, t.seq)
    if order_by == "due_date":
        # Tasks without a due date sort as if due at the end of time.
        return lambda t: (t.due_date is None, t.due_date or 0, t.seq)
    return lambda t: (t.date_created, t.seq)


def _match_number(actual: float, op: str, raw: Any) -> bool:
    if op == "RANGE":
        if isinstance(raw, list) and len(raw) == 2:
            low, high = raw
        elif isinstance(raw, dict) and {"low_value", "high_value"} <= raw.keys():
            low, high = raw["low_value"], raw["high_value"]
        else:
            raise bad_request("RANGE needs [low, high] or {low_value, high_value}", "FILTER_007")
        return _as_float(low) <= actual <= _as_float(high)
    if op in ("ANY", "NOT ANY"):
        hit = any(actual == _as_float(v) for v in _listify(raw))
        return hit if op == "ANY" else not hit
    if op in ("ALL", "NOT ALL"):
        raise bad_request(f"Operator {op} does not apply to numbers", "FILTER_008")
    return _compare(actual, op, _as_float(raw))


def _match_text(actual: str, op: str, raw: Any) -> bool:
    if op in ("ANY", "NOT ANY"):
        hit = any(actual == str(v) for v in _listify(raw))
        return hit if op == "ANY" else not hit
    if op in ("RANGE", "ALL", "NOT ALL"):
        raise bad_request(f"Operator {op} does not apply to text", "FILTER_008")
    wanted = str(raw)
    if op == "=":
        return wanted.lower() in actual.lower()
    if op == "!=":
        return wanted.lower() not in actual.lower()
    return _compare(actual, op, wanted)


def _match_choice(fdef: FieldDef, chosen: list[str], op: str, raw: Any) -> bool:
    wanted = []
    for ref in _listify(raw):
        if isinstance(ref, str) and ref.isdigit():
            ref = int(ref)
        opt = fdef.option(ref)
        if opt is None:
            raise bad_request("Value must be an option index or uuid", "FIELD_011")
        wanted.append(opt.id)
    if op in ("=", "==", "ANY"):
        return any(w in chosen for w in wanted)
    if op in ("!=", "!==", "NOT ANY"):
        return not any(w in chosen for w in wanted)
    if op == "ALL":
        return all(w in chosen for w in wanted)
    if op == "NOT ALL":
        return not all(w in chosen for w in wanted)
    raise bad_request(f"Operator {op} does not apply to {fdef.type} fields", "FILTER_008")


def _compare(actual: Any, op: str, wanted: Any) -> bool:
    if op in ("=", "=="):
        return bool(actual == wanted)
    if op in ("!=", "!=="):
        return bool(actual != wanted)
    if op == "<":
        return bool(actual < wanted)
    if op == "<=":
        return bool(actual <= wanted)
    if op == ">":
        return bool(actual > wanted)
    if op == ">=":
        return bool(actual >= wanted)
    raise bad_request(f"Operator {op} is not supported here", "FILTER_008")


def _listify(raw: Any) -> list[Any]:
    return list(raw) if isinstance(raw, list) else [raw]
