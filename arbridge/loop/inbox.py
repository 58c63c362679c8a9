"""Process the webhook inbox: each stored event is resolved by its provider's handler.

A handler re-reads or trusts-by-version what the event names and applies it; applying twice
changes nothing, so the row is marked done after the work, in its own transaction: a crash
between the two only repeats harmless work. Transient failures are rescheduled with backoff;
an event that can never be processed is parked as failed and shown by ``arbridge status``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import structlog
from sqlalchemy import Engine

from arbridge.clock import Clock
from arbridge.errors import AuthError, PermanentError, TransientError
from arbridge.logging import redactor
from arbridge.ports.source import InboundEvent
from arbridge.retry import JOB_BACKOFF, job_backoff, retry_after_of
from arbridge.store import inbox
from arbridge.store.db import transaction

log = structlog.get_logger(__name__)

Handler = Callable[[InboundEvent], None]


@dataclass
class InboxStats:
    processed: int = 0
    retried: int = 0
    failed: int = 0


class InboxProcessor:
    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        handlers: dict[str, Handler],
        *,
        lease: timedelta = timedelta(seconds=120),
        retry_base: float = JOB_BACKOFF.first_s,
        retry_max: float = JOB_BACKOFF.max_s,
        max_attempts: int = 20,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.handlers = handlers
        self.lease = lease
        self.backoff = job_backoff(retry_base, retry_max)
        self.max_attempts = max_attempts
        self.stats = InboxStats()
        self.wake = threading.Event()

    def run_once(self, limit: int = 50) -> int:
        """Process up to ``limit`` due events; returns how many were claimed."""
        claimed = inbox.claim(self.engine, now=self.clock.now(), lease=self.lease, limit=limit)
        done = [item.id for item in claimed if self._process(item)]
        if done:
            # One commit for the whole batch: on SQLite each commit is an fsync.
            with transaction(self.engine) as session:
                for row_id in done:
                    inbox.finish(session, row_id, self.clock.now())
            self.stats.processed += len(done)
        return len(claimed)

    def drain(self) -> int:
        total = 0
        while (n := self.run_once()) > 0:
            total += n
        return total

    def run_forever(self, stop: threading.Event, idle_wait: float = 1.0) -> None:
        while not stop.is_set():
            try:
                busy = self.run_once() > 0
            except Exception:
                log.exception("inbox worker error")
                busy = False
            if not busy:
                self.wake.wait(idle_wait)
                self.wake.clear()

    def _process(self, item: inbox.ClaimedEvent) -> bool:
        """Handle one event; True when it is done, False when it was rescheduled or parked."""
        event = item.event
        bound = log.bind(provider=event.provider, event=event.event_id, kind=event.kind)
        handler = self.handlers.get(event.provider)
        try:
            if handler is None:
                raise TransientError(f"no handler for {event.provider} events is configured")
            handler(event)
        except (TransientError, AuthError) as exc:
            # AuthError: the source is disconnected; keep the event for after the reconnect.
            self._retry(item, str(exc), retry_after=retry_after_of(exc))
            bound.warning("inbox event rescheduled", error=redactor.scrub(str(exc)))
            return False
        except PermanentError as exc:
            self._park(item, str(exc))
            bound.error("inbox event failed", error=redactor.scrub(str(exc)))
            return False
        except Exception as exc:
            # A bug or an unexpected shape: retried a few times, then parked, never lost.
            self._retry(item, f"{type(exc).__name__}: {exc}", retry_after=None)
            bound.exception("inbox event raised")
            return False
        return True

    def _retry(self, item: inbox.ClaimedEvent, error: str, retry_after: float | None) -> None:
        if item.attempts >= self.max_attempts:
            self._park(item, f"gave up after {item.attempts} attempts: {error}")
            return
        delay = self.backoff.delay(item.attempts, retry_after)
        inbox.reschedule(
            self.engine,
            item.id,
            error=str(redactor.scrub(error)),
            at=self.clock.now() + timedelta(seconds=delay),
            permanent=False,
        )
        self.stats.retried += 1

    def _park(self, item: inbox.ClaimedEvent, error: str) -> None:
        inbox.reschedule(
            self.engine,
            item.id,
            error=str(redactor.scrub(error)),
            at=self.clock.now(),
            permanent=True,
        )
        self.stats.failed += 1
