"""Reading tasks back while workers create them must never make a new task look deleted."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Engine

from arbridge.clock import FakeClock
from arbridge.demo.generator import CompanyGenerator
from arbridge.model.task import FACTS
from arbridge.ports.connector import RemoteTask
from arbridge.runtime.app import App
from arbridge.settings import Settings
from arbridge.testing.fake_sink import FakeSink


def test_a_task_created_during_the_read_back_is_not_created_again(
    engine: Engine, clock: FakeClock
) -> None:
    sink = FakeSink(frozenset(FACTS))
    settings = Settings.model_validate(
        {"clickup": {"token": "pk_race_token_123", "list_id": "1"}, "insight": {"enabled": False}}
    )
    app = App(settings, engine, sink, clock)
    (invoice, customer), *_ = CompanyGenerator(seed=3).open_invoices(1, today=clock.now().date())
    app.reconciler.upsert(invoice, customer)
    real_iter = sink.iter_tasks

    def stale_read() -> Iterator[RemoteTask]:
        # The list is read, then a worker's create lands before verify looks at the links.
        listed = list(real_iter())
        app.drain(1)
        return iter(listed)

    sink.iter_tasks = stale_read  # type: ignore[method-assign]
    assert app.verify() == 0
    sink.iter_tasks = real_iter  # type: ignore[method-assign]
    app.reconciler.resync_all()
    app.drain(1)
    assert sink.requests["create_task"] == 1
    assert len(sink.tasks) == 1
    # A task really deleted in ClickUp is still noticed and made again.
    sink.tasks.clear()
    assert app.verify() == 1
    app.reconciler.resync_all()
    app.drain(1)
    assert len(sink.tasks) == 1
