"""Stripe's request rate limiter, as a token bucket (25 requests/s in test mode, 100 live)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

TEST_MODE_RATE = 25.0
LIVE_MODE_RATE = 100.0


class TokenBucket:
    """``rate`` tokens a second, at most ``rate`` banked; each request takes one."""

    def __init__(self, rate: float, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self._monotonic = monotonic
        self._tokens = rate
        self._last = monotonic()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = self._monotonic()
            self._tokens = min(self.rate, self._tokens + (now - self._last) * self.rate)
            self._last = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False
