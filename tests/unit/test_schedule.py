"""The daemon's one scheduler: jobs that survive their errors and never overlap themselves."""

from __future__ import annotations

import threading

from arbridge.runtime.schedule import (
    ENGINE,
    POLLS,
    Consumer,
    Consumers,
    PeriodicJob,
    build_scheduler,
    survive,
)


def test_a_failing_job_is_logged_and_does_not_raise() -> None:
    calls: list[int] = []

    def broken() -> None:
        calls.append(1)
        raise RuntimeError("boom")

    run = survive(PeriodicJob("broken", 60.0, broken))
    run()
    run()
    assert calls == [1, 1]


def test_jobs_never_overlap_and_engine_jobs_take_turns_in_order() -> None:
    jobs = [
        PeriodicJob("read-back", 86400.0, lambda: None),
        PeriodicJob("resync", 300.0, lambda: None),
        PeriodicJob("poll-books", 120.0, lambda: None, engine=False),
    ]
    scheduler = build_scheduler(jobs)
    scheduler.start(paused=True)
    try:
        found = {job.id: job for job in scheduler.get_jobs()}
        assert set(found) == {"read-back", "resync", "poll-books"}
        assert all(job.max_instances == 1 and job.coalesce for job in found.values())
        assert found["resync"].executor == ENGINE
        assert found["poll-books"].executor == POLLS
        assert found["read-back"].next_run_time < found["resync"].next_run_time
        assert found["resync"].trigger.interval.total_seconds() == 300.0
    finally:
        scheduler.shutdown(wait=False)


def test_consumers_start_and_stop_together() -> None:
    started = threading.Barrier(3)

    def consume(stop: threading.Event) -> None:
        started.wait(timeout=10)
        stop.wait()

    consumers = Consumers([Consumer("one", consume), Consumer("two", consume)])
    stop = threading.Event()
    consumers.start(stop)
    started.wait(timeout=10)
    stop.set()
    consumers.join()
    assert not any(t.name in {"one", "two"} for t in threading.enumerate())
