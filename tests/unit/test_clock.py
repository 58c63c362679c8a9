"""Clocks: the system clock is aware UTC; the fake one moves only when told to."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from arbridge.clock import Clock, FakeClock, SystemClock

START = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def test_system_clock_is_aware_utc_and_current() -> None:
    before = datetime.now(UTC)
    now = SystemClock().now()
    after = datetime.now(UTC)
    assert now.tzinfo is UTC
    assert before <= now <= after


def test_fake_clock_stands_still() -> None:
    clock = FakeClock(START)
    assert clock.now() == START
    assert clock.now() == START


def test_fake_clock_advances() -> None:
    clock = FakeClock(START)
    assert clock.advance(timedelta(hours=1)) == datetime(2026, 3, 1, 10, 30, tzinfo=UTC)
    assert clock.now() == datetime(2026, 3, 1, 10, 30, tzinfo=UTC)
    assert clock.advance(timedelta(days=31)) == datetime(2026, 4, 1, 10, 30, tzinfo=UTC)
    assert clock.advance(timedelta(minutes=-30)) == datetime(2026, 4, 1, 10, 0, tzinfo=UTC)
    assert clock.now().tzinfo is UTC


def test_fake_clock_set() -> None:
    clock = FakeClock(START)
    later = datetime(2027, 1, 1, tzinfo=timezone(timedelta(hours=-5)))
    clock.set(later)
    assert clock.now() == later
    clock.set(START)
    assert clock.now() == START


def test_fake_clock_refuses_naive_times() -> None:
    with pytest.raises(ValueError, match=r"^FakeClock needs a timezone-aware start time$"):
        FakeClock(datetime(2026, 3, 1, 9, 30))
    clock = FakeClock(START)
    with pytest.raises(ValueError, match=r"^FakeClock needs a timezone-aware time$"):
        clock.set(datetime(2026, 3, 1, 9, 30))
    assert clock.now() == START


class _SlowSecond:
    """Adds one second, slowly: widens the read-modify-write window of ``advance``."""

    def __radd__(self, other: datetime) -> datetime:
        time.sleep(0.001)
        return other + timedelta(seconds=1)


def test_fake_clock_is_thread_safe() -> None:
    clock = FakeClock(START)
    step: Any = _SlowSecond()
    threads = [
        threading.Thread(target=lambda: [clock.advance(step) for _ in range(10)]) for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Without the lock, concurrent advances read the same "now" and lose updates.
    assert clock.now() == START + timedelta(seconds=60)


def test_both_clocks_satisfy_the_protocol() -> None:
    clocks: list[Clock] = [SystemClock(), FakeClock(START)]
    for clock in clocks:
        assert clock.now().tzinfo is not None
