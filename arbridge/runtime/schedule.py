"""The daemon's one scheduler and its long-running consumers.

Everything periodic (source polls, the full resync, the rule tick, the insight refresh, the
read-back of tasks) is an APScheduler job: first run at start-up, then on its interval; a run
still going when the next is due is not started twice (``max_instances=1``) and runs missed
while busy collapse into one (``coalesce``). A job that raises is logged and runs again at its
next time: one failing pass must not stop the daemon.

Polls talk to their own source and run side by side. The engine jobs read and write the same
invoices and plans, so they take turns on one thread, in the order they were added, as the
single loop they replace did.

The outbox and inbox workers are not periodic: they wait for work and take it at once. They are
:class:`Consumer` threads, started and stopped together here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

log = structlog.get_logger(__name__)

# Engine jobs run one at a time; polls (one per source) may overlap each other.
ENGINE = "engine"
POLLS = "default"
# How long ``stop`` waits for a consumer thread to finish what it holds.
JOIN_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class PeriodicJob:
    """``run`` every ``every_s`` seconds, the first time at start-up."""

    name: str
    every_s: float
    run: Callable[[], object]
    # True: shares the single engine thread; False: runs beside the others (a source poll).
    engine: bool = True


def survive(job: PeriodicJob) -> Callable[[], None]:
    """``job.run`` that logs an exception instead of raising it into the scheduler."""

    def run() -> None:
        try:
            job.run()
        except Exception:
            log.exception("scheduled job failed; it runs again at its next time", job=job.name)

    return run


def build_scheduler(jobs: Iterable[PeriodicJob]) -> BackgroundScheduler:
    """A scheduler (not started) running ``jobs``."""
    scheduler = BackgroundScheduler(
        timezone="UTC",
        executors={POLLS: ThreadPoolExecutor(8), ENGINE: ThreadPoolExecutor(1)},
    )
    # The scheduler's wall clock, not the engine's clock: this decides when the process does
    # work, the injected clock what the work sees as "now". Later jobs start a moment after
    # earlier ones, so the first runs keep the order the jobs were given in.
    start = datetime.now(UTC)
    for position, job in enumerate(jobs):
        scheduler.add_job(
            survive(job),
            "interval",
            seconds=job.every_s,
            id=job.name,
            name=job.name,
            next_run_time=start + timedelta(milliseconds=position),
            executor=ENGINE if job.engine else POLLS,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
    return scheduler


@dataclass(frozen=True)
class Consumer:
    """A worker loop that runs until ``stop`` is set: ``run(stop)``."""

    name: str
    run: Callable[[threading.Event], None]


class Consumers:
    """The daemon's consumer threads, started and stopped in one place."""

    def __init__(self, consumers: Iterable[Consumer]) -> None:
        self.consumers = list(consumers)
        self._threads: list[threading.Thread] = []

    def start(self, stop: threading.Event) -> None:
        for consumer in self.consumers:
            thread = threading.Thread(
                target=consumer.run, args=(stop,), name=consumer.name, daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def join(self, timeout_s: float = JOIN_TIMEOUT_S) -> None:
        """Wait for every thread to end (``stop`` must be set first)."""
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout=timeout_s)
        self._threads = []
