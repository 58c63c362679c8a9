"""Checks that keep a hostile delivery a refusal (4xx) instead of an error (5xx).

Two kinds of input get past a signature check and still break later: JSON nested deeply enough
to exhaust Python's recursion while parsing or serialising, and values the store cannot hold
(lone surrogates, NUL characters, non-finite numbers, datetimes outside what the database
accepts, ids longer than a unique index entry may be). The first is bounded on the raw bytes,
before any parser runs; the second is checked on the verified events, before anything is
written, so a delivery is either stored whole or refused whole.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any

import numpy as np

from arbridge.errors import WebhookRejected
from arbridge.ports.source import InboundEvent

# Real deliveries nest about ten levels (a Stripe invoice event); Python's parser and
# serialiser recurse once per level and fail near a thousand.
MAX_DEPTH = 64
# Bytes of an id, kind or account: PostgreSQL refuses a unique-index entry over ~2.7 kB.
MAX_KEY_BYTES = 512

# A JSON string (escapes included); removed before counting brackets, which may appear inside.
# The closing quote is optional so that an unterminated string is one match to the end, not a
# failed match retried from every later quote (quadratic on a hostile body).
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*+"?', re.DOTALL)
_CONSTANTS = re.compile(rb"NaN|Infinity")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def check_raw(body: bytes, limit: int = MAX_DEPTH) -> None:
    """Refuse, without parsing it, a body whose arrays and objects nest deeper than ``limit``
    or that uses ``NaN`` or ``Infinity`` (Python's parser accepts them, JSON and PostgreSQL do
    not)."""
    outside_strings = _STRING.sub(b"", body)
    if _CONSTANTS.search(outside_strings):
        raise WebhookRejected("body is not JSON (NaN or Infinity)")
    brackets = outside_strings.translate(None, _NOT_BRACKETS)
    if len(brackets) <= limit:
        return  # cannot be deeper than the number of brackets: the common case stops here
    # The running depth at every bracket, computed in C: a Python loop over a megabyte of
    # brackets would hold the event loop for a tenth of a second.
    codes = np.frombuffer(brackets, dtype=np.uint8)
    depth = np.cumsum(np.where((codes == ord("[")) | (codes == ord("{")), 1, -1))
    if int(depth.max()) > limit:
        raise WebhookRejected(f"JSON nested deeper than {limit} levels")


def check_storable(events: list[InboundEvent]) -> None:
    """Refuse a delivery if any of its events has a value the inbox could not store."""
    for event in events:
        for name in ("provider", "event_id", "kind", "account"):
            value = getattr(event, name)
            if not isinstance(value, str) or not _clean(value):
                raise WebhookRejected(f"event {name} is not valid text")
            if len(value.encode()) > MAX_KEY_BYTES:
                raise WebhookRejected(f"event {name} is longer than {MAX_KEY_BYTES} bytes")
        if event.occurred_at is not None and not _storable_time(event.occurred_at):
            raise WebhookRejected("event time is out of range")
        _check_value(event.payload, 0)


def _clean(text: str) -> bool:
    """Encodable as UTF-8 (no lone surrogates) and free of NUL, which PostgreSQL refuses."""
    if "\x00" in text:
        return False
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _storable_time(value: datetime) -> bool:
    # Both databases and the UTC conversion on the way in handle years 1..9999 only when a
    # day of margin is left for the time-zone shift.
    return value.tzinfo is not None and 1 < value.year < 9999


def _check_value(value: Any, depth: int) -> None:
    # Iterative depth is already bounded by check_depth; this bound covers verifiers that
    # build payloads of their own.
    if depth > MAX_DEPTH:
        raise WebhookRejected(f"JSON nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        if not _clean(value):
            raise WebhookRejected("payload has text that cannot be stored (NUL or lone surrogate)")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise WebhookRejected("payload has a number out of range (NaN or Infinity)")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_value(key, depth + 1)
            _check_value(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_value(item, depth + 1)
