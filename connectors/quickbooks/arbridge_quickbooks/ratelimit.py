"""Client-side limits for one QuickBooks company (realm): 500 requests a minute and 10 in
flight at once. Intuit answers 429 past either, and then asks for a minute's pause, so waiting
here is far cheaper than being throttled."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

WINDOW_S = 60.0


class RealmLimiter:
    """A sliding-window rate limit plus a concurrency cap; thread-safe."""

    def __init__(
        self,
        per_minute: int,
        max_concurrent: int,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_minute < 1 or max_concurrent < 1:
            raise ValueError("per_minute and max_concurrent must be at least 1")
        self.per_minute = per_minute
        self.max_concurrent = max_concurrent
        self._monotonic = monotonic
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_concurrent)

    def _reserve(self) -> float:
        now = self._monotonic()
        while self._sent and self._sent[0] <= now - WINDOW_S:
            self._sent.popleft()
        if len(self._sent) >= self.per_minute:
            return self._sent[0] + WINDOW_S - now
        self._sent.append(now)
        return 0.0

    def acquire_rate(self) -> None:
        while True:
            with self._lock:
                wait = self._reserve()
            if wait <= 0:
                return
            self._sleep(wait)

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the realm's concurrent slots and one unit of the minute's budget."""
        with self._slots:
            self.acquire_rate()
            yield
