"""Polling heals missed webhooks; disputes, deletions and refused credentials."""

from __future__ import annotations

from datetime import date, timedelta

from arbridge.clock import FakeClock
from arbridge.loop.polling import SourceState
from arbridge.store import repo
from arbridge.store.db import transaction
from tests.intake.conftest import Rig


def test_first_poll_backfills_then_polls_only_changes(rig: Rig) -> None:
    rig.source.add_customer("cus_1", "Acme Ltd")
    for n in range(120):
        rig.source.issue(f"in_{n}", "cus_1", "10.00", date(2026, 4, 1))
    rig.app.intake.poll_all()
    rig.app.drain(1)
    assert rig.sink.requests["create_task"] == 120
    state = SourceState.load(rig.app.engine, "stripe")
    assert state.backfilled
    assert state.last_ok_at is not None
    assert state.last_error is None
    calls = rig.source.calls
    requests = rig.sink.total_requests
    rig.app.intake.poll_all()
    rig.app.drain(1)
    assert rig.source.calls == calls + 1
    assert rig.sink.total_requests == requests  # nothing changed: nothing sent


def test_a_dropped_webhook_is_healed_by_the_next_poll(rig: Rig, clock: FakeClock) -> None:
    rig.source.add_customer("cus_1", "Acme Ltd")
    rig.deliver(rig.source.issue("in_1", "cus_1", "50.00", date(2026, 4, 1)))
    rig.app.intake.poll_all()  # backfill, cursor taken
    rig.process()
    clock.advance(timedelta(hours=2))
    rig.source.pay("in_1", "50.00")  # its webhook never arrives
    rig.process()
    (task,) = rig.sink.tasks.values()
    assert task.status == "open"
    rig.app.intake.poll_all()
    rig.app.drain(1)
    (task,) = rig.sink.tasks.values()
    assert task.status == "paid"
    assert len(rig.sink.tasks) == 1


def test_a_dispute_marks_the_task_disputed_until_it_closes(rig: Rig, clock: FakeClock) -> None:
    rig.source.add_customer("cus_1", "Acme Ltd")
    rig.deliver(rig.source.issue("in_1", "cus_1", "80.00", date(2026, 4, 1)))
    rig.process()
    clock.advance(timedelta(hours=1))
    rig.deliver(rig.source.pay("in_1", "80.00"))
    rig.process()
    clock.advance(timedelta(hours=1))
    rig.deliver(rig.source.dispute("dp_1", "in_1"))
    rig.process()
    (task,) = rig.sink.tasks.values()
    assert task.status == "disputed"
    # A later update of the invoice itself keeps the overlay while the dispute is open.
    clock.advance(timedelta(hours=1))
    rig.deliver(rig.source.record("invoice.updated", "in_1"))
    rig.process()
    assert next(iter(rig.sink.tasks.values())).status == "disputed"
    clock.advance(timedelta(days=3))
    rig.deliver(rig.source.dispute("dp_1", "in_1", open_=False))
    rig.process()
    assert next(iter(rig.sink.tasks.values())).status == "paid"


def test_a_deleted_invoice_closes_its_task_as_void(rig: Rig, clock: FakeClock) -> None:
    rig.source.add_customer("cus_1", "Acme Ltd")
    rig.deliver(rig.source.issue("in_1", "cus_1", "80.00", date(2026, 4, 1)))
    rig.process()
    clock.advance(timedelta(hours=1))
    rig.deliver(rig.source.delete("in_1"))
    rig.process()
    (task,) = rig.sink.tasks.values()
    assert task.status == "void"
    assert task.fields["amount_due"] == "0"


def test_refused_credentials_stop_this_source_only_and_keep_its_events(
    rig: Rig, clock: FakeClock
) -> None:
    rig.source.add_customer("cus_1", "Acme Ltd")
    rig.app.intake.poll_all()
    rig.source.refuse_credentials = True
    event = rig.source.issue("in_1", "cus_1", "80.00", date(2026, 4, 1))
    assert rig.deliver(event).status_code == 200
    rig.process()
    assert rig.sink.tasks == {}
    rig.app.intake.poll_all()
    state = SourceState.load(rig.app.engine, "stripe")
    assert state.auth_refused
    assert state.last_error == "the fake provider refused the key: reconnect it"
    ready, detail = rig.app.intake.readiness()
    assert not ready
    assert detail["problems"] == ["stripe: the fake provider refused the key: reconnect it"]
    status = rig.app.status()
    assert status["sources"]["stripe"]["ok"] is False
    assert status["inbox"]["pending"] == 1  # kept for after the reconnect, not dropped
    # Reconnected: the next poll and the retried event both work again.
    rig.source.refuse_credentials = False
    clock.advance(timedelta(hours=1))
    rig.app.intake.poll_all()
    rig.process()
    (task,) = rig.sink.tasks.values()
    assert task.key == "stripe:fake-acct:in_1"
    assert SourceState.load(rig.app.engine, "stripe").auth_refused is False
    with transaction(rig.app.engine) as session:
        assert repo.get_invoice(session, "stripe:fake-acct:in_1") is not None
