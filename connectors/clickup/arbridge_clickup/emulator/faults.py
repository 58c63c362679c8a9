"""Rate limiting and fault injection for the ClickUp emulator.

Both are deterministic: the limiter reads time from an injectable clock and the injector draws
from a seeded ``random.Random``, so tests can reproduce a 429 or a dropped connection exactly.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

HeaderMode = Literal["always", "on_429"]
FaultAction = Literal["none", "error", "drop", "throttle"]

RATE_LIMIT_BODY = {"err": "Rate limit reached", "ECODE": "APP_002"}
# ClickUp does not document the ECODE of its internal errors; clients must key off the status.
INTERNAL_ERROR_BODY = {"err": "Internal error", "ECODE": "APP_500"}


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # epoch seconds, as ClickUp sends it

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }


@dataclass
class _Window:
    start: float
    used: int


class RateLimiter:
    """A fixed window of ``limit`` requests per token, opened by the token's first request.

    ``limit=None`` switches limiting off (and with it the headers). ``header_mode="on_429"``
    sends the X-RateLimit headers only on throttled responses, which is how ClickUp's docs
    describe them; ``"always"`` matches what third parties observe on normal responses.
    """

    def __init__(
        self,
        limit: int | None = 100,
        *,
        window: float = 60.0,
        clock: Callable[[], float] = time.time,
        header_mode: HeaderMode = "always",
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self.header_mode: HeaderMode = header_mode
        self._windows: dict[str, _Window] = {}
        self._lock = threading.Lock()

    def _current(self, key: str, now: float) -> _Window:
        win = self._windows.get(key)
        if win is None or now >= win.start + self.window:
            win = _Window(start=now, used=0)
            self._windows[key] = win
        return win

    def _decision(self, win: _Window, allowed: bool) -> RateDecision:
        limit = self.limit or 0
        return RateDecision(
            allowed=allowed,
            limit=limit,
            remaining=max(0, limit - win.used),
            reset=math.ceil(win.start + self.window),
        )

    def hit(self, key: str) -> RateDecision | None:
        """Count one request for ``key``; None when limiting is off."""
        if self.limit is None:
            return None
        with self._lock:
            win = self._current(key, self.clock())
            if win.used >= self.limit:
                return self._decision(win, allowed=False)
            win.used += 1
            return self._decision(win, allowed=True)

    def peek(self, key: str) -> RateDecision | None:
        """The current window for ``key`` without counting a request (for forced 429s)."""
        if self.limit is None:
            return None
        with self._lock:
            win = self._current(key, self.clock())
            return RateDecision(
                allowed=False,
                limit=self.limit,
                remaining=0,
                reset=math.ceil(win.start + self.window),
            )

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()


@dataclass
class FaultConfig:
    """Knobs for misbehaviour; all off by default.

    ``error_rate`` and ``drop_rate`` are probabilities per API request. ``latency`` seconds are
    added to a ``latency_rate`` share of requests. ``force_429`` makes the next N requests fail
    with 429 regardless of the rate limiter.
    """

    error_rate: float = 0.0
    drop_rate: float = 0.0
    latency: float = 0.0
    latency_rate: float = 1.0
    force_429: int = 0
    seed: int = 0

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class FaultDecision:
    action: FaultAction
    latency: float


_PROBABILITIES = ("error_rate", "drop_rate", "latency_rate")


@dataclass
class FaultInjector:
    config: FaultConfig = field(default_factory=FaultConfig)
    _rng: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.config.seed)

    def configure(self, knobs: Mapping[str, Any]) -> FaultConfig:
        """Apply a partial update (as sent to ``POST /_emulator/faults``); ValueError if invalid."""
        unknown = set(knobs) - set(FaultConfig.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown fault knobs: {sorted(unknown)}")
        with self._lock:
            updated = FaultConfig(**{**asdict(self.config), **knobs})
            _check(updated)
            self.config = updated
            if "seed" in knobs:
                self._rng = random.Random(updated.seed)
            return updated

    def reset(self) -> None:
        self.configure(asdict(FaultConfig(seed=self.config.seed)))

    def decide(self) -> FaultDecision:
        """What to do to the next API request. Forced 429s come first, then drops, then errors."""
        with self._lock:
            cfg = self.config
            latency = 0.0
            if cfg.latency > 0 and self._rng.random() < cfg.latency_rate:
                latency = cfg.latency
            if cfg.force_429 > 0:
                cfg.force_429 -= 1
                return FaultDecision("throttle", latency)
            if cfg.drop_rate > 0 and self._rng.random() < cfg.drop_rate:
                return FaultDecision("drop", latency)
            if cfg.error_rate > 0 and self._rng.random() < cfg.error_rate:
                return FaultDecision("error", latency)
            return FaultDecision("none", latency)


def _check(cfg: FaultConfig) -> None:
    for name in _PROBABILITIES:
        value = getattr(cfg, name)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise ValueError(f"{name} must be a number between 0 and 1")
    if isinstance(cfg.latency, bool) or not isinstance(cfg.latency, int | float) or cfg.latency < 0:
        raise ValueError("latency must be a non-negative number of seconds")
    for name in ("force_429", "seed"):
        value = getattr(cfg, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer")
