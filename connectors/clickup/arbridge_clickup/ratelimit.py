"""Client-side request limiter for the ClickUp API.

ClickUp limits each token to N requests per minute and answers 429 past that. Waiting here is
cheaper than spending a request (and a retry) on a 429, so every request first takes a slot from
a sliding 60 s window. The server's ``X-RateLimit-*`` headers win when they are stricter: another
process may share the token.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping

WINDOW_S = 60.0


class RateLimiter:
    """At most ``per_minute`` acquisitions in any rolling ``window_s`` seconds; thread-safe."""

    def __init__(
        self,
        per_minute: int,
        *,
        window_s: float = WINDOW_S,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self._limit = per_minute
        self._window = window_s
        self._monotonic = monotonic
        self._wall = wall
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._blocked_until = 0.0
        self._lock = threading.Lock()

    @property
    def limit(self) -> int:
        with self._lock:
            return self._limit

    def acquire(self) -> float:
        """Block until one more request may be sent, count it, and return when (monotonic)."""
        while True:
            with self._lock:
                now = self._monotonic()
                wait = self._reserve(now)
            if wait <= 0:
                return now
            self._sleep(wait)

    def _reserve(self, now: float) -> float:
        while self._sent and self._sent[0] <= now - self._window:
            self._sent.popleft()
        wait = self._blocked_until - now
        if len(self._sent) >= self._limit:
            wait = max(wait, self._sent[0] + self._window - now)
        if wait <= 0:
            self._sent.append(now)
        return wait

    def observe(self, headers: Mapping[str, str]) -> None:
        """Learn from a response's ``X-RateLimit-Limit/Remaining/Reset`` headers, if present."""
        lowered = _lower(headers)
        limit = _int_header(lowered, "x-ratelimit-limit")
        remaining = _int_header(lowered, "x-ratelimit-remaining")
        reset = _reset_header(lowered)
        with self._lock:
            if limit is not None and 0 < limit < self._limit:
                self._limit = limit
            if remaining is None or remaining > 0 or reset is None:
                return
            # Cap the wait at one window: a per-minute budget is back within a minute even
            # when our clock and the server's disagree.
            delay = min(max(reset - self._wall(), 0.0), self._window)
            self._blocked_until = max(self._blocked_until, self._monotonic() + delay)

    def seconds_until_reset(self, headers: Mapping[str, str]) -> float | None:
        """How long the server asks us to wait (from ``X-RateLimit-Reset``), capped at a window."""
        reset = _reset_header(_lower(headers))
        if reset is None:
            return None
        return min(max(reset - self._wall(), 0.0), self._window)


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        return int(float(raw))
    except ValueError:
        return None


def _reset_header(headers: Mapping[str, str]) -> float | None:
    raw = headers.get("x-ratelimit-reset")
    if raw is None:
        return None
    try:
        reset = float(raw)
    except ValueError:
        return None
    # Documented as epoch seconds; a millisecond value would otherwise mean "wait for centuries".
    if reset > 1e11:
        reset /= 1000.0
    return reset
