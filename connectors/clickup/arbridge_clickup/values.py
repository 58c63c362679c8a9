"""Conversion between canonical fact strings and ClickUp's custom field formats.

ClickUp reads back differently from what it accepts: numbers are written as JSON numbers and
read as strings, drop-downs written as option UUIDs and read as the option's orderindex, dates
written and read as Unix milliseconds. A date is pinned to noon in the company time zone so that
neither ClickUp's display zone nor a DST shift moves it to another day.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from arbridge.api import FactKind, MappingError, normalise_fact
from arbridge_clickup.schema import FieldDef

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NOON = time(12, 0)


class ValueConversionError(MappingError, ValueError):
    """A value that a ClickUp field cannot hold, or that cannot be read back from one.

    Still a ``ValueError``: it is the conversion functions' "not a value of this kind"."""


def number_to_clickup(canonical: str) -> int | float:
    """``"1234.50"`` -> ``1234.5``; integral values stay ints so no ``.0`` travels.

    Fractions travel as doubles, exact up to 15 significant digits.
    """
    try:
        number = Decimal(canonical)
    except InvalidOperation as exc:
        raise ValueConversionError(f"not a number: {canonical!r}") from exc
    if not number.is_finite():
        raise ValueConversionError(f"not a finite number: {canonical!r}")
    if number == number.to_integral_value():
        return int(number)
    return float(number)


def number_from_clickup(raw: Any) -> str | None:
    if raw is None or raw == "":
        return None
    return normalise_fact(FactKind.NUMBER, raw)


def date_to_ms(canonical: str | date, zone: ZoneInfo) -> int:
    """An ISO date as Unix ms at noon of that day in ``zone``."""
    day = canonical if isinstance(canonical, date) else date.fromisoformat(canonical)
    moment = datetime.combine(day, NOON, tzinfo=zone)
    delta = moment.astimezone(UTC) - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def date_from_ms(raw: Any, zone: ZoneInfo) -> str | None:
    """The ISO date in ``zone`` of a Unix ms value (ClickUp sends it as a string)."""
    if raw is None or raw == "":
        return None
    try:
        ms = int(Decimal(str(raw)))
    except InvalidOperation as exc:
        raise ValueConversionError(f"not a millisecond timestamp: {raw!r}") from exc
    return (EPOCH + timedelta(milliseconds=ms)).astimezone(zone).date().isoformat()


def choice_to_clickup(field: FieldDef, canonical: str) -> str:
    """A choice as the field's write value: the option UUID, or the name in a text field."""
    if field.type != "drop_down":
        return canonical
    option = field.option_named(canonical)
    if option is None:
        raise ValueConversionError(
            f'the drop-down field "{field.name}" has no option "{canonical}"'
        )
    return option.id


def choice_from_clickup(field: FieldDef, raw: Any) -> str | None:
    if raw is None or raw == "":
        return None
    if field.type != "drop_down":
        return field.choice_of(str(raw))
    option = None
    if isinstance(raw, int) or (isinstance(raw, str) and raw.isdigit()):
        option = field.option_at(int(raw))
    if option is None and isinstance(raw, str):
        option = field.option_with_id(raw)
    if option is None:
        raise ValueConversionError(f'the drop-down field "{field.name}" has no option {raw!r}')
    return field.choice_of(option.name)


def to_clickup(field: FieldDef, canonical: str, zone: ZoneInfo) -> Any:
    """The JSON value to write into ``field`` for a canonical fact value."""
    kind = field.kind
    if kind is FactKind.NUMBER:
        return number_to_clickup(canonical)
    if kind is FactKind.DATE:
        try:
            return date_to_ms(canonical, zone)
        except ValueError as exc:
            raise ValueConversionError(f"not an ISO date: {canonical!r}") from exc
    if kind is FactKind.CHOICE:
        return choice_to_clickup(field, canonical)
    return canonical


def from_clickup(field: FieldDef, raw: Any, zone: ZoneInfo) -> str | None:
    """The canonical fact value of a field's read value (``None`` when unset)."""
    kind = field.kind
    if kind is FactKind.NUMBER:
        return number_from_clickup(raw)
    if kind is FactKind.DATE:
        return date_from_ms(raw, zone)
    if kind is FactKind.CHOICE:
        return choice_from_clickup(field, raw)
    if raw is None:
        return None
    return normalise_fact(kind, raw)


TEXT_TYPES = frozenset({"short_text", "text", "email", "url", "phone"})


def rule_value_to_clickup(field: Mapping[str, Any], value: object, zone: ZoneInfo) -> Any:
    """The JSON value a rule's ``set_field`` writes into a field of the list (``field`` as
    ``GET /list/{id}/field`` gives it): numbers as numbers, dates as Unix ms at noon, a
    drop-down option by name as its UUID, a label by name as a one-UUID list."""
    kind = str(field.get("type"))
    if kind in TEXT_TYPES:
        if isinstance(value, bool) or not isinstance(value, str | int | float | date):
            raise ValueConversionError(f"{kind} takes text, not {value!r}")
        return value.isoformat() if isinstance(value, date) else str(value)
    if kind in ("number", "currency", "emoji"):
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueConversionError(f"{kind} takes a number, not {value!r}")
        return number_to_clickup(str(value))
    if kind == "date":
        if isinstance(value, datetime) or not isinstance(value, date | str):
            raise ValueConversionError(f"date takes a date, not {value!r}")
        try:
            return date_to_ms(value, zone)
        except ValueError:
            raise ValueConversionError(f"not an ISO date: {value!r}") from None
    if kind == "checkbox":
        if not isinstance(value, bool):
            raise ValueConversionError(f"checkbox takes true or false, not {value!r}")
        return value
    if kind in ("drop_down", "labels"):
        options = (field.get("type_config") or {}).get("options") or []
        wanted = str(value).strip().casefold()
        for option in options:
            label = option.get("name") if kind == "drop_down" else option.get("label")
            if str(label or option.get("name") or "").strip().casefold() == wanted:
                return option["id"] if kind == "drop_down" else [option["id"]]
        names = ", ".join(str(o.get("name") or o.get("label")) for o in options) or "(none)"
        raise ValueConversionError(f"no option {value!r} (options: {names})")
    raise ValueConversionError(f"a rule cannot set a {kind} field")
