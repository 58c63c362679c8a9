"""List endpoints: range filters (``created[gte]=...``), event type filters and cursor paging.

Lists are newest first. ``starting_after=<id>`` continues after that object (older ones);
``ending_before=<id>`` gives the ``limit`` objects just before it (newer ones), still newest
first, as Stripe does.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from typing import Any

from arbridge_stripe.emulator.errors import StripeApiError

MAX_LIMIT = 100
DEFAULT_LIMIT = 10
_OPERATORS: dict[str, Callable[[int, int], bool]] = {
    "gt": lambda value, bound: value > bound,
    "gte": lambda value, bound: value >= bound,
    "lt": lambda value, bound: value < bound,
    "lte": lambda value, bound: value <= bound,
}
MAX_TYPES = 20


def _bound(name: str, raw: Any) -> int:
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise StripeApiError(400, f"Invalid integer: {raw}", param=name) from None


def by_range(
    items: list[dict[str, Any]], params: dict[str, Any], name: str
) -> list[dict[str, Any]]:
    spec = params.get(name)
    if spec is None:
        return items
    if not isinstance(spec, dict):
        exact = _bound(name, spec)
        return [item for item in items if item.get(name) == exact]
    tests: list[tuple[Callable[[int, int], bool], int]] = []
    for op, raw in spec.items():
        if op not in _OPERATORS:
            raise StripeApiError(400, f"Received unknown parameter: {name}[{op}]", param=name)
        tests.append((_OPERATORS[op], _bound(f"{name}[{op}]", raw)))
    return [
        item
        for item in items
        if item.get(name) is not None and all(test(item[name], bound) for test, bound in tests)
    ]


def by_created(items: list[dict[str, Any]], params: dict[str, Any]) -> list[dict[str, Any]]:
    return by_range(items, params, "created")


def by_type(items: list[dict[str, Any]], params: dict[str, Any]) -> list[dict[str, Any]]:
    single, many = params.get("type"), params.get("types")
    if single is not None and many is not None:
        raise StripeApiError(400, "You may only specify one of these parameters: type, types.")
    if single is not None:
        return [e for e in items if fnmatch.fnmatchcase(e["type"], str(single))]
    if many is not None:
        names = many if isinstance(many, list) else [many]
        if len(names) > MAX_TYPES:
            raise StripeApiError(
                400, f"types may contain at most {MAX_TYPES} values.", param="types"
            )
        wanted = {str(n) for n in names}
        return [e for e in items if e["type"] in wanted]
    return items


def page(
    items: list[dict[str, Any]],
    params: dict[str, Any],
    url: str,
    render: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    raw_limit = params.get("limit", DEFAULT_LIMIT)
    limit = _bound("limit", raw_limit)
    if not 1 <= limit <= MAX_LIMIT:
        raise StripeApiError(
            400, f"Invalid limit: must be between 1 and {MAX_LIMIT}.", param="limit"
        )
    after, before = params.get("starting_after"), params.get("ending_before")
    ids = [item["id"] for item in items]
    if after is not None:
        start = _position(ids, str(after), "starting_after") + 1
        chosen, has_more = items[start : start + limit], start + limit < len(items)
    elif before is not None:
        end = _position(ids, str(before), "ending_before")
        first = max(0, end - limit)
        chosen, has_more = items[first:end], first > 0
    else:
        chosen, has_more = items[:limit], limit < len(items)
    data = [render(item) if render is not None else item for item in chosen]
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def _position(ids: list[str], object_id: str, param: str) -> int:
    try:
        return ids.index(object_id)
    except ValueError:
        raise StripeApiError(
            400, f"No such object: '{object_id}'", code="resource_missing", param=param
        ) from None
