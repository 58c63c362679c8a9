"""The one retry policy: how long to wait after a failure, and the in-call retry loop.

Two kinds of waiting use it. Workers (the outbox, the inbox) reschedule a failed job minutes
later in the store, with a long exponential backoff; connectors retry a transient HTTP failure
within the call a few times, seconds apart, before giving the error to the worker. Both back
off exponentially with jitter (so clients that failed together do not retry together) and treat
a server's ``Retry-After`` as a floor; only the numbers differ, and they are named here.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from arbridge.errors import TransientError

T = TypeVar("T")

_shared_random = random.Random()


@dataclass(frozen=True)
class Backoff:
    """``first_s * 2**(attempt - 1)`` seconds after the ``attempt``-th failure, at most
    ``max_s``; then made random so that clients drift apart:

    * ``spread``: a fraction taken off at random (0.5: between half and all of the delay);
    * ``jitter_s``: up to this many seconds added at random.

    A ``retry_after`` from the server is a floor, capped at ``retry_after_max_s`` and with up
    to ``retry_after_jitter_s`` added (every client that was told the same reset time must not
    come back in the same instant).
    """

    first_s: float
    max_s: float
    spread: float = 0.0
    jitter_s: float = 0.0
    retry_after_jitter_s: float = 0.0
    retry_after_max_s: float | None = None

    def delay(
        self, attempt: int, retry_after: float | None = None, rng: random.Random | None = None
    ) -> float:
        """Seconds to wait after the ``attempt``-th failure (1 for the first)."""
        rng = rng or _shared_random
        wait = min(self.max_s, self.first_s * 2.0 ** max(0, attempt - 1))
        wait *= 1.0 - self.spread * rng.random()
        if self.jitter_s:
            wait += rng.uniform(0, self.jitter_s)
        if retry_after is not None:
            floor = retry_after
            if self.retry_after_max_s is not None:
                floor = min(floor, self.retry_after_max_s)
            if self.retry_after_jitter_s:
                floor += rng.uniform(0, self.retry_after_jitter_s)
            wait = max(wait, floor)
        return wait


# A failed outbox operation or inbox event: 5 s, 10 s, 20 s ... up to 15 minutes, each
# between half and all of that (settings ``sync.retry_base_s`` / ``sync.retry_max_s``).
JOB_BACKOFF = Backoff(first_s=5.0, max_s=900.0, spread=0.5)

# A transient HTTP failure retried within the call: 0.5 s, 1 s, 2 s ... up to 30 s, plus up
# to half a second; after a server's reset time, up to a second more.
CALL_BACKOFF = Backoff(first_s=0.5, max_s=30.0, jitter_s=0.5, retry_after_jitter_s=1.0)


def job_backoff(retry_base: float, retry_max: float) -> Backoff:
    """The workers' policy with the configured base and ceiling."""
    return Backoff(first_s=retry_base, max_s=retry_max, spread=JOB_BACKOFF.spread)


def retry_after_of(error: BaseException) -> float | None:
    """The server's requested wait carried by ``error``, if any."""
    return error.retry_after if isinstance(error, TransientError) else None


def is_transient(error: BaseException) -> bool:
    return isinstance(error, TransientError)


def call_with_retries(
    call: Callable[[], T],
    *,
    retries: int,
    sleep: Callable[[float], None],
    policy: Backoff = CALL_BACKOFF,
    retry_if: Callable[[BaseException], bool] = is_transient,
    on_retry: Callable[[BaseException, int, float], None] | None = None,
) -> T:
    """``call()``, retried up to ``retries`` more times while ``retry_if`` says the error is
    worth it, waiting ``policy.delay`` between attempts; the last error is raised as is.

    ``on_retry(error, attempt, wait)`` runs before each wait (to log it). The raised error has
    no ``__context__`` from earlier attempts: each attempt runs outside the previous handler.
    """
    attempt = 1
    while True:
        try:
            return call()
        except Exception as error:
            if attempt > retries or not retry_if(error):
                raise
            wait = policy.delay(attempt, retry_after_of(error))
            failed = error
        if on_retry is not None:
            on_retry(failed, attempt, wait)
        sleep(wait)
        attempt += 1
