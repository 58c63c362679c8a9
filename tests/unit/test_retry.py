"""The one retry policy and the one HTTP status table connectors extend."""

from __future__ import annotations

import random

import pytest

from arbridge.errors import (
    AuthError,
    NotFoundError,
    PermanentError,
    RateLimitedError,
    TransientError,
)
from arbridge.http_errors import STATUS_ERRORS, make_error, retry_after_s
from arbridge.retry import JOB_BACKOFF, Backoff, call_with_retries


def test_job_backoff_doubles_up_to_the_ceiling_between_half_and_all() -> None:
    rng = random.Random(7)
    for attempt, full in [(1, 5.0), (2, 10.0), (3, 20.0), (12, 900.0)]:
        for _ in range(50):
            assert full / 2 <= JOB_BACKOFF.delay(attempt, rng=rng) <= full


def test_retry_after_is_a_floor_capped_when_asked() -> None:
    rng = random.Random(1)
    assert JOB_BACKOFF.delay(1, retry_after=300.0, rng=rng) == 300.0
    capped = Backoff(first_s=1.0, max_s=20.0, retry_after_max_s=20.0)
    assert capped.delay(1, retry_after=3600.0, rng=rng) == 20.0


def test_call_with_retries_retries_transient_errors_then_raises_the_last() -> None:
    sleeps: list[float] = []
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        raise TransientError(f"attempt {len(calls)}")

    with pytest.raises(TransientError, match="attempt 3") as caught:
        call_with_retries(flaky, retries=2, sleep=sleeps.append)
    assert len(sleeps) == 2
    assert caught.value.__context__ is None


def test_call_with_retries_does_not_retry_a_permanent_error() -> None:
    sleeps: list[float] = []

    def refused() -> str:
        raise AuthError("no")

    with pytest.raises(AuthError):
        call_with_retries(refused, retries=5, sleep=sleeps.append)
    assert sleeps == []


def test_call_with_retries_returns_the_first_success() -> None:
    answers = iter([TransientError("busy"), "ok"])

    def call() -> str:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert call_with_retries(call, retries=3, sleep=lambda _: None) == "ok"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (200, None),
        (400, PermanentError),
        (401, AuthError),
        (403, AuthError),
        (404, NotFoundError),
        (408, TransientError),
        (418, PermanentError),
        (429, RateLimitedError),
        (503, TransientError),
    ],
)
def test_status_table(status: int, expected: type[Exception] | None) -> None:
    assert STATUS_ERRORS.error_class(status) is expected


def test_a_connector_extends_the_table_without_changing_it() -> None:
    stripe_like = STATUS_ERRORS.extend({409: TransientError})
    assert stripe_like.error_class(409) is TransientError
    assert STATUS_ERRORS.error_class(409) is PermanentError


def test_rate_limited_error_keeps_retry_after() -> None:
    error = STATUS_ERRORS.error(429, "slow down", retry_after=12.0)
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == 12.0
    assert isinstance(make_error(NotFoundError, "gone", status=404), NotFoundError)


def test_retry_after_header_in_seconds_any_case() -> None:
    assert retry_after_s({"retry-after": "7"}) == 7.0
    assert retry_after_s({"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}) is None
    assert retry_after_s(None) is None
