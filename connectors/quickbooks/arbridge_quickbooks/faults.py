"""QuickBooks ``Fault`` bodies and the one table that turns them into arbridge errors.

Intuit answers errors in three shapes: the documented ``{"Fault": {"Error": [...]}}``, a
lower-case ``{"fault": {"error": [...]}}`` from the authentication gateway (401, code 3200), and
XML ``<IntuitResponse><Fault>`` for throttling even when JSON was asked for. A Fault can also
arrive inside an HTTP 200, so every body is inspected, not only failed ones.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

from arbridge.api import (
    STATUS_ERRORS,
    AuthError,
    ConnectorError,
    NotFoundError,
    PermanentError,
    RateLimitedError,
    TransientError,
)

# Intuit asks clients to wait a minute after a 429 before trying again.
THROTTLE_WAIT_S = 60.0
TEXT_LIMIT = 300


class StaleObjectError(PermanentError):
    """5010: the SyncToken sent is not the current one; re-read the object, then retry."""


@dataclass(frozen=True)
class FaultError:
    code: str
    message: str
    detail: str


@dataclass(frozen=True)
class Fault:
    type: str
    errors: tuple[FaultError, ...]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(error.code for error in self.errors)

    def describe(self) -> str:
        parts = []
        for error in self.errors:
            text = "; ".join(t for t in (error.message, error.detail) if t)
            parts.append(f"{error.code}: {text}" if error.code else text)
        return " | ".join(parts)[:TEXT_LIMIT]


def _norm_code(raw: Any) -> str:
    """``"003200"`` and ``3200`` are the same code."""
    text = str(raw or "").strip()
    return text.lstrip("0") or text


def _errors_from(items: Any, keys: tuple[str, str, str]) -> tuple[FaultError, ...]:
    code_key, message_key, detail_key = keys
    found = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            found.append(
                FaultError(
                    code=_norm_code(item.get(code_key)),
                    message=str(item.get(message_key) or ""),
                    detail=str(item.get(detail_key) or ""),
                )
            )
    return tuple(found)


def fault_from_json(body: Any) -> Fault | None:
    if not isinstance(body, dict):
        return None
    upper = body.get("Fault")
    if isinstance(upper, dict):
        errors = _errors_from(upper.get("Error"), ("code", "Message", "Detail"))
        return Fault(type=str(upper.get("type") or ""), errors=errors)
    lower = body.get("fault")
    if isinstance(lower, dict):
        errors = _errors_from(lower.get("error"), ("code", "message", "detail"))
        return Fault(type=str(lower.get("type") or ""), errors=errors)
    return None


def fault_from_xml(content: bytes) -> Fault | None:
    try:
        root = ElementTree.fromstring(content)  # noqa: S314 - Intuit's own error body, no DTDs
    except ElementTree.ParseError:
        return None
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] != "Fault":
            continue
        errors = []
        for child in element:
            if child.tag.rsplit("}", 1)[-1] != "Error":
                continue
            texts = {sub.tag.rsplit("}", 1)[-1]: (sub.text or "").strip() for sub in child}
            errors.append(
                FaultError(
                    code=_norm_code(child.get("code")),
                    message=texts.get("Message", ""),
                    detail=texts.get("Detail", ""),
                )
            )
        return Fault(type=element.get("type") or "", errors=tuple(errors))
    return None


def parse_fault(content: bytes) -> Fault | None:
    """The Fault in a response body, whatever its format; ``None`` when there is none."""
    text = content.lstrip()
    if text.startswith(b"<"):
        return fault_from_xml(text)
    try:
        return fault_from_json(json.loads(content))
    except ValueError:
        return None


AUTH_CODES = frozenset({"100", "120", "3200", "3100"})
THROTTLE_CODES = frozenset({"3001"})
_CLASS_BY_CODE: dict[str, type[ConnectorError]] = {
    "5010": StaleObjectError,
    "610": NotFoundError,
    "6190": AuthError,
}
# A 403 without an authentication Fault code is a refused request, not a refused token
# (Intuit has also sent throttling as 403, recognised by its Fault code above).
STATUS_ERRORS_QBO = STATUS_ERRORS.extend({403: PermanentError})


def error_class(status: int, fault: Fault | None) -> type[ConnectorError] | None:
    """The error a response maps to (``None``: success). Fault codes win over the status,
    because Intuit has sent throttling as 403 and faults inside a 200."""
    codes = fault.codes if fault is not None else ()
    for code in codes:
        if code in THROTTLE_CODES:
            return RateLimitedError
        if code in AUTH_CODES:
            return AuthError
        if code in _CLASS_BY_CODE:
            return _CLASS_BY_CODE[code]
        if re.fullmatch(r"1\d{4,}", code):
            return TransientError  # >= 10000: SevereException, Intuit's side
    by_status = STATUS_ERRORS_QBO.error_class(status)
    if by_status is None and fault is not None:
        return PermanentError  # a Fault inside a 200
    return by_status


def error_for(status: int, content: bytes, what: str) -> ConnectorError | None:
    """The arbridge error for one response to ``what`` (e.g. ``"GET /invoice/5"``)."""
    fault = parse_fault(content) if content else None
    cls = error_class(status, fault)
    if cls is None:
        return None
    said = f"HTTP {status}" + (f", Fault {fault.describe()}" if fault and fault.errors else "")
    code = fault.codes[0] if fault is not None and fault.codes else None
    if issubclass(cls, RateLimitedError):
        return cls(
            f"QuickBooks throttled {what} ({said}); waiting {THROTTLE_WAIT_S:g}s",
            status=status,
            code=code,
            retry_after=THROTTLE_WAIT_S,
        )
    if issubclass(cls, AuthError):
        return cls(
            f"QuickBooks refused the credentials on {what} ({said}); reconnect with "
            "`arbridge quickbooks connect`",
            status=status,
            code=code,
        )
    if issubclass(cls, StaleObjectError):
        return cls(
            f"QuickBooks {what}: stale SyncToken ({said}); re-read the object and retry",
            status=status,
            code=code,
        )
    return cls(f"QuickBooks {what}: {said}", status=status, code=code)
