"""Custom fields: what each type accepts and how values read back (definitions: ``workspace.py``).

ClickUp reads a value back in a different form than it was written (numbers as strings,
drop-downs as an orderindex), so writing and reading are kept side by side here.
"""

from __future__ import annotations

import math
import re
from typing import Any
from urllib.parse import urlsplit

from arbridge_clickup.emulator.errors import bad_request
from arbridge_clickup.emulator.model import FIXTURE_EPOCH_MS, Task, stable_id
from arbridge_clickup.emulator.workspace import FieldDef, FieldOption, FieldSpec, Workspace, is_int

TEXT_TYPES = frozenset({"short_text", "text", "phone"})
NUMBER_TYPES = frozenset({"number", "currency"})
READ_ONLY_TYPES = frozenset({"formula", "automatic_progress", "rollup"})
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PALETTE = ("#1bbc9c", "#2ecd6f", "#f9d900", "#ff7800", "#e50000", "#7b68ee", "#81b1ff")


def is_number(value: Any) -> bool:
    return (is_int(value) or isinstance(value, float)) and math.isfinite(value)


def valid_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in value


def js_number(value: float) -> str:
    """Render a number the way ClickUp's JavaScript backend stringifies it (8.0 -> "8")."""
    if isinstance(value, int):
        return str(value)
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return repr(value)


def build_field(list_id: str, position: int, spec: FieldSpec) -> FieldDef:
    """The definition a fixture's ``spec`` declares as the list's field number ``position``."""
    fid = stable_id("field", list_id, spec.name)
    options = tuple(
        FieldOption(stable_id(fid, "option", opt), opt, _PALETTE[j % len(_PALETTE)], j)
        for j, opt in enumerate(spec.options)
    )
    return FieldDef(
        id=fid,
        name=spec.name,
        type=spec.type,
        type_config=dict(spec.type_config),
        options=options,
        date_created=FIXTURE_EPOCH_MS + position,
        formula=spec.formula,
    )


def validate_value(fdef: FieldDef, value: Any) -> Any:
    """Check a value written to a field and return it in the form the emulator stores.

    Raises ClickUpError(400) with ClickUp-style messages. ``None`` is not accepted here; callers
    treat a null value as "leave unset".
    """
    kind = fdef.type
    if kind in READ_ONLY_TYPES:
        raise bad_request(f"Cannot set the value of a {kind} field", "FIELD_026")
    if kind in TEXT_TYPES:
        if not isinstance(value, str):
            raise bad_request("Value is not a valid string", "FIELD_005")
        return value
    if kind == "url":
        if not isinstance(value, str) or not valid_url(value):
            raise bad_request("Value is not a valid url", "FIELD_006")
        return value
    if kind == "email":
        if not isinstance(value, str) or not _EMAIL.match(value):
            raise bad_request("Value is not a valid email", "FIELD_007")
        return value
    if kind in NUMBER_TYPES:
        if not is_number(value):
            raise bad_request("Value is not a valid number", "FIELD_008")
        return value
    if kind == "date":
        if not is_int(value) or value < 0:
            raise bad_request("Value is not a valid date", "FIELD_017")
        return value
    if kind == "drop_down":
        opt = fdef.option(value)
        if opt is None:
            raise bad_request("Value must be an option index or uuid", "FIELD_011")
        return opt.id
    if kind == "labels":
        if not isinstance(value, list) or not all(
            isinstance(v, str) and fdef.option(v) for v in value
        ):
            raise bad_request("Value must be an array of label option uuids", "FIELD_012")
        return list(dict.fromkeys(value))
    if kind == "checkbox":
        if isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return value == "true"
        raise bad_request("Value is not a valid boolean", "FIELD_013")
    if kind == "emoji":
        count = int(fdef.type_config.get("count", 5))
        if not is_int(value) or not 0 <= value <= count:
            raise bad_request(f"Value must be an integer between 0 and {count}", "FIELD_014")
        return value
    raise bad_request(f"Setting {kind} fields is not supported by this emulator", "FIELD_099")


def read_value(fdef: FieldDef, stored: Any) -> Any:
    """A stored value in ClickUp's read format, which differs from what was written."""
    if fdef.type in NUMBER_TYPES:
        return js_number(stored)
    if fdef.type == "date":
        return str(stored)
    if fdef.type == "drop_down":
        opt = fdef.option(stored)
        return None if opt is None else opt.orderindex
    return stored


def current_value(state: Workspace, task: Task, fdef: FieldDef) -> Any:
    """The task's value of ``fdef`` in read format, with formulas evaluated now."""
    if fdef.formula is not None:
        return fdef.formula(state, task)
    stored = task.values.get(fdef.id)
    return None if stored is None else read_value(fdef, stored)
