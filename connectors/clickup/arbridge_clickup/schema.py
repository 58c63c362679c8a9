"""The list's statuses and custom fields, resolved by name and checked against the config.

The API cannot create custom fields or drop-down options, so a missing or mistyped field can
only be fixed by a person in ClickUp: start-up lists every such problem at once, each saying
exactly what to create or change.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from arbridge.api import (
    CHOICES,
    FACTS,
    TASK_STATUSES,
    ConfigError,
    FactKind,
    NotFoundError,
    installed_sources,
)
from arbridge_clickup.settings import ClickUpSettings

if TYPE_CHECKING:
    from arbridge_clickup.client import ClickUpClient

# ClickUp field types that can hold each kind of fact; the first is the one to create.
ALLOWED_TYPES: dict[FactKind, tuple[str, ...]] = {
    FactKind.TEXT: ("short_text", "text"),
    FactKind.NUMBER: ("number", "currency"),
    FactKind.DATE: ("date",),
    FactKind.CHOICE: ("drop_down", "short_text"),
    FactKind.URL: ("url", "short_text"),
}
# The key is looked up with the exact-match ("==") filter, which is meant for short text.
KEY_FACT = "arbridge_key"
KEY_TYPES = ("short_text",)


@functools.cache
def choices(fact: str) -> tuple[str, ...]:
    """The values a drop-down fact takes; ``source``: the installed sources' names."""
    if fact == "source":
        return installed_sources()
    return CHOICES.get(fact, ())


def allowed_types(fact: str) -> tuple[str, ...]:
    return KEY_TYPES if fact == KEY_FACT else ALLOWED_TYPES[FACTS[fact]]


@dataclass(frozen=True)
class Option:
    """One drop-down option: written by ``id`` (UUID), read back as ``orderindex``."""

    id: str
    name: str
    orderindex: int


@dataclass(frozen=True)
class FieldDef:
    """A custom field of the list that mirrors one fact."""

    fact: str
    id: str
    name: str
    type: str
    options: tuple[Option, ...] = ()

    @property
    def kind(self) -> FactKind:
        return FACTS[self.fact]

    def option_named(self, name: str) -> Option | None:
        wanted = _fold(name)
        return next((o for o in self.options if _fold(o.name) == wanted), None)

    def option_at(self, orderindex: int) -> Option | None:
        return next((o for o in self.options if o.orderindex == orderindex), None)

    def option_with_id(self, option_id: str) -> Option | None:
        return next((o for o in self.options if o.id == option_id), None)

    def choice_of(self, name: str) -> str:
        """The canonical choice an option or text value stands for (ClickUp may differ in case)."""
        wanted = _fold(name)
        return next((c for c in choices(self.fact) if _fold(c) == wanted), name)

    @property
    def uuid_by_name(self) -> dict[str, str]:
        return {o.name: o.id for o in self.options}

    @property
    def name_by_orderindex(self) -> dict[int, str]:
        return {o.orderindex: o.name for o in self.options}


@dataclass(frozen=True)
class ListSchema:
    """What the sink needs to address the list: field ids/types/options and status names."""

    list_id: str
    fields: Mapping[str, FieldDef]
    statuses: Mapping[str, str]
    list_statuses: tuple[str, ...] = ()

    def owned_facts(self) -> frozenset[str]:
        return frozenset(self.fields)

    def status_name(self, key: str) -> str:
        """The list's status name for a task-status key."""
        return self.statuses[key]

    def status_key(self, name: str) -> str | None:
        """The task-status key for a list status name; ``None`` for statuses arbridge doesn't use.

        When several keys share one list status, the first in ``TASK_STATUSES`` order wins.
        """
        wanted = _fold(name)
        return next(
            (k for k in TASK_STATUSES if k in self.statuses and _fold(self.statuses[k]) == wanted),
            None,
        )

    def fact_of_field(self, field_id: str) -> str | None:
        return next((f for f, d in self.fields.items() if d.id == field_id), None)


def resolve_list_schema(client: ClickUpClient, settings: ClickUpSettings) -> ListSchema:
    """Read the list's statuses and fields and check the config against them.

    Raises ``ConfigError`` naming every problem; auth and transport errors pass through.
    """
    list_id = settings.list_id
    try:
        list_body = client.request("GET", f"/list/{list_id}")
    except NotFoundError:
        raise ConfigError(
            [f'clickup.list_id: ClickUp has no list "{list_id}" that the token can see']
        ) from None
    fields_body = client.request("GET", f"/list/{list_id}/field")
    return build_list_schema(
        list_id,
        list_body.get("statuses") or [],
        fields_body.get("fields") or [],
        settings,
    )


def build_list_schema(
    list_id: str,
    raw_statuses: list[dict[str, Any]],
    raw_fields: list[dict[str, Any]],
    settings: ClickUpSettings,
) -> ListSchema:
    problems: list[str] = []
    fields = _resolve_fields(raw_fields, settings.fields, problems)
    statuses, names = _resolve_statuses(raw_statuses, settings.statuses, problems)
    if problems:
        raise ConfigError(problems)
    return ListSchema(list_id=list_id, fields=fields, statuses=statuses, list_statuses=names)


def _resolve_fields(
    raw_fields: list[dict[str, Any]], mapping: Mapping[str, str], problems: list[str]
) -> dict[str, FieldDef]:
    by_name: dict[str, list[dict[str, Any]]] = {}
    for raw in raw_fields:
        by_name.setdefault(_fold(str(raw.get("name", ""))), []).append(raw)
    resolved: dict[str, FieldDef] = {}
    used: dict[str, str] = {}
    for fact, name in mapping.items():
        where = f"clickup.fields.{fact}"
        allowed = allowed_types(fact)
        found = by_name.get(_fold(name), [])
        if not found:
            problems.append(
                f'{where}: the list has no custom field named "{name}"; create a {allowed[0]} '
                f'field named "{name}" in ClickUp (the API cannot create fields)'
            )
            continue
        if len(found) > 1:
            problems.append(
                f'{where}: the list has {len(found)} custom fields named "{found[0]["name"]}"; '
                "rename all but one in ClickUp"
            )
            continue
        raw = found[0]
        real, ftype, field_id = str(raw["name"]), str(raw.get("type")), str(raw["id"])
        if ftype not in allowed:
            needed = " or ".join(allowed)
            problems.append(
                f'{where}: the custom field "{real}" is a {ftype} field; it must be {needed}'
            )
            continue
        if field_id in used:
            problems.append(
                f'{where}: the custom field "{real}" is already mapped to clickup.fields.'
                f"{used[field_id]}; each fact needs its own field"
            )
            continue
        used[field_id] = fact
        options = _options(raw) if ftype == "drop_down" else ()
        definition = FieldDef(fact=fact, id=field_id, name=real, type=ftype, options=options)
        if ftype == "drop_down":
            problems.extend(
                f'{where}: the drop-down field "{real}" has no option "{choice}"; add it in '
                "ClickUp (the API cannot add options)"
                for choice in choices(fact)
                if definition.option_named(choice) is None
            )
        resolved[fact] = definition
    return resolved


def _options(raw: Mapping[str, Any]) -> tuple[Option, ...]:
    config = raw.get("type_config") or {}
    options = []
    for position, option in enumerate(config.get("options") or []):
        name = option.get("name") or option.get("label") or ""
        # Some payloads omit orderindex; ClickUp's own order is then the position.
        index = option.get("orderindex")
        options.append(
            Option(
                id=str(option["id"]),
                name=str(name),
                orderindex=int(index) if index is not None else position,
            )
        )
    return tuple(options)


def _resolve_statuses(
    raw_statuses: list[dict[str, Any]], mapping: Mapping[str, str], problems: list[str]
) -> tuple[dict[str, str], tuple[str, ...]]:
    names = tuple(str(s.get("status", "")) for s in raw_statuses)
    by_name = {_fold(n): n for n in names}
    resolved: dict[str, str] = {}
    for key, name in mapping.items():
        real = by_name.get(_fold(name))
        if real is None:
            listed = ", ".join(f'"{n}"' for n in names) or "(none)"
            problems.append(
                f'clickup.statuses.{key}: the list has no status "{name}"; its statuses are: '
                f"{listed}"
            )
            continue
        resolved[key] = real
    return resolved, names


def _fold(name: str) -> str:
    return name.strip().casefold()
