from __future__ import annotations

import threading

import pytest
from arbridge_clickup.ratelimit import RateLimiter

from tests.connectors.clickup.conftest import FakeTime


def make(limit: int, clock: FakeTime) -> RateLimiter:
    return RateLimiter(limit, monotonic=clock.monotonic, wall=clock.wall, sleep=clock.sleep)


def assert_never_more_than(stamps: list[float], limit: int, window: float = 60.0) -> None:
    stamps = sorted(stamps)
    for first, later in zip(stamps, stamps[limit:], strict=False):
        assert later - first >= window - 1e-9


def test_first_requests_go_straight_through(fake_time: FakeTime) -> None:
    limiter = make(5, fake_time)
    for _ in range(5):
        limiter.acquire()
    assert fake_time.sleeps == []


def test_never_exceeds_the_limit_in_any_window(fake_time: FakeTime) -> None:
    limiter = make(5, fake_time)
    stamps = []
    for i in range(23):
        if i % 4 == 0:
            fake_time.sleep(7.0)  # callers arrive unevenly
        stamps.append(limiter.acquire())
    assert_never_more_than(stamps, 5)
    assert sum(1 for s in stamps if s < stamps[0] + 60) == 5


def test_never_exceeds_the_limit_across_threads(fake_time: FakeTime) -> None:
    limiter = make(7, fake_time)
    stamps: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(10):
            stamp = limiter.acquire()
            with lock:
                stamps.append(stamp)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)
    assert len(stamps) == 40
    assert_never_more_than(stamps, 7)


def test_waits_for_reset_when_server_says_nothing_remains(fake_time: FakeTime) -> None:
    limiter = make(100, fake_time)
    reset = fake_time.now + 17
    limiter.observe(
        {
            "X-RateLimit-Limit": "100",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(int(reset)),
        }
    )
    stamp = limiter.acquire()
    assert stamp >= reset
    assert sum(fake_time.sleeps) == pytest.approx(17)


def test_remaining_budget_does_not_block(fake_time: FakeTime) -> None:
    limiter = make(100, fake_time)
    limiter.observe({"x-ratelimit-remaining": "3", "x-ratelimit-reset": str(fake_time.now + 30)})
    limiter.acquire()
    assert fake_time.sleeps == []


def test_learns_a_stricter_server_limit(fake_time: FakeTime) -> None:
    limiter = make(100, fake_time)
    limiter.observe({"X-RateLimit-Limit": "3"})
    assert limiter.limit == 3
    limiter.observe({"X-RateLimit-Limit": "1000"})
    assert limiter.limit == 3


def test_reset_wait_is_capped_at_one_window(fake_time: FakeTime) -> None:
    limiter = make(100, fake_time)
    far = fake_time.now + 3600
    limiter.observe({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(far)})
    limiter.acquire()
    assert sum(fake_time.sleeps) == pytest.approx(60)


def test_reset_given_in_milliseconds_is_understood(fake_time: FakeTime) -> None:
    limiter = make(100, fake_time)
    limiter.observe(
        {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int((fake_time.now + 9) * 1000))}
    )
    limiter.acquire()
    assert sum(fake_time.sleeps) == pytest.approx(9)


def test_garbage_headers_are_ignored(fake_time: FakeTime) -> None:
    limiter = make(100, fake_time)
    limiter.observe({"X-RateLimit-Remaining": "zero", "X-RateLimit-Reset": "soon"})
    limiter.acquire()
    assert fake_time.sleeps == []


def test_rejects_a_zero_limit(fake_time: FakeTime) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        make(0, fake_time)
