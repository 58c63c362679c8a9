"""Stripe's request encoding: form fields with bracket notation, parsed into nested values.

stripe-python sends ``metadata[terms]=Net 30``, ``expand[0]=customer`` and
``created[gte]=1700000000``; curl users send ``expand[]=customer``. Both list forms are read.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART = re.compile(r"\[([^\[\]]*)\]")


class FormError(ValueError):
    """A field name that bracket notation cannot express."""


def parse_form(text: str) -> dict[str, Any]:
    """``a[b]=1&c[]=x&c[]=y`` -> ``{"a": {"b": "1"}, "c": ["x", "y"]}``."""
    root: dict[str, Any] = {}
    for name, value in parse_qsl(text, keep_blank_values=True):
        match = _KEY.match(name)
        if match is None:
            raise FormError(f"invalid parameter name {name!r}")
        parts = [match.group(1), *_PART.findall(match.group(2))]
        _assign(root, parts, value)
    parsed = _listify(root)
    if not isinstance(parsed, dict):
        raise FormError("parameter names must not be bare numbers")
    return parsed


def _assign(node: dict[str, Any], parts: list[str], value: str) -> None:
    head, rest = parts[0], parts[1:]
    if not rest:
        if head == "":
            node[str(len(node))] = value
        else:
            node[head] = value
        return
    key = str(len(node)) if head == "" else head
    child = node.get(key)
    if not isinstance(child, dict):
        child = {}
        node[key] = child
    _assign(child, rest, value)


def _listify(value: Any) -> Any:
    # Dicts keyed 0..n-1 were lists on the wire (``expand[0]``, ``expand[]``).
    if not isinstance(value, dict):
        return value
    converted = {k: _listify(v) for k, v in value.items()}
    keys = list(converted)
    if keys and all(k.isdigit() for k in keys):
        ordered = sorted(keys, key=int)
        if [int(k) for k in ordered] == list(range(len(ordered))):
            return [converted[k] for k in ordered]
    return converted
