"""Reconciler + outbox worker against an in-memory task tool: exactly one task, fewest requests."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from arbridge.clock import FakeClock
from arbridge.demo.generator import CompanyGenerator, with_payment
from arbridge.errors import PermanentError, TransientError
from arbridge.loop.apply import CrashPoint, OutboxWorker
from arbridge.loop.reconcile import Reconciler
from arbridge.model.invoice import Customer, Invoice, SourceVersion
from arbridge.model.task import FACTS
from arbridge.store import outbox
from arbridge.store.db import transaction
from arbridge.testing.fake_sink import FakeSink

OWNED = frozenset(FACTS)


def setup(
    engine: Engine, clock: FakeClock, count: int
) -> tuple[Reconciler, OutboxWorker, FakeSink, list[tuple[Invoice, Customer]]]:
    sink = FakeSink(OWNED)
    reconciler = Reconciler(engine, clock, OWNED, "UTC")
    worker = OutboxWorker(engine, sink, clock, lease=timedelta(seconds=30))
    pairs = CompanyGenerator(seed=7).open_invoices(count, today=clock.now().date(), customers=8)
    return reconciler, worker, sink, pairs


def test_each_invoice_becomes_one_task_with_one_request(engine: Engine, clock: FakeClock) -> None:
    reconciler, worker, sink, pairs = setup(engine, clock, 30)
    for invoice, customer in pairs:
        reconciler.upsert(invoice, customer)
    assert worker.drain() == 30
    assert sink.requests == {"create_task": 30}
    keys = sorted(task.key or "" for task in sink.tasks.values())
    assert keys == sorted(invoice.key for invoice, _ in pairs)
    task = next(t for t in sink.tasks.values() if t.key == pairs[0][0].key)
    assert task.fields["amount_due"] == str(pairs[0][0].balance.normalize())
    assert task.fields["customer"] == pairs[0][1].name


def test_nothing_changed_means_no_requests(engine: Engine, clock: FakeClock) -> None:
    reconciler, worker, sink, pairs = setup(engine, clock, 10)
    for invoice, customer in pairs:
        reconciler.upsert(invoice, customer)
    worker.drain()
    before = sink.total_requests
    for invoice, customer in pairs:
        assert reconciler.upsert(invoice, customer).ops == ()
    assert reconciler.resync_all() == 0
    assert worker.drain() == 0
    assert sink.total_requests == before


def test_balance_change_costs_one_request(engine: Engine, clock: FakeClock) -> None:
    reconciler, worker, sink, pairs = setup(engine, clock, 5)
    for invoice, customer in pairs:
        reconciler.upsert(invoice, customer)
    worker.drain()
    invoice, customer = pairs[0]
    # A credit note lowers the balance without a payment: only "Amount due" changes.
    credited = Invoice.model_validate(
        invoice.model_dump()
        | {
            "total": invoice.total,
            "balance": invoice.balance - Decimal(invoice.balance // 2),
            "version": SourceVersion(updated_at=clock.now() + timedelta(minutes=1), sequence=1),
        }
    )
    before = sink.total_requests
    reconciler.upsert(credited, customer)
    worker.drain()
    assert sink.total_requests - before == 1
    assert sink.requests["set_field"] == 1


def test_unsent_changes_to_one_field_are_sent_once(engine: Engine, clock: FakeClock) -> None:
    reconciler, worker, sink, pairs = setup(engine, clock, 1)
    invoice, customer = pairs[0]
    reconciler.upsert(invoice, customer)
    worker.drain()
    for step in range(1, 4):
        newer = Invoice.model_validate(
            invoice.model_dump()
            | {
                "balance": invoice.balance - step,
                "version": SourceVersion(updated_at=clock.now() + timedelta(minutes=step)),
            }
        )
        reconciler.upsert(newer, customer)
    worker.drain()
    assert sink.requests["set_field"] == 1
    (task,) = sink.tasks.values()
    assert task.fields["amount_due"] == str((invoice.balance - 3).normalize())


def test_time_passing_moves_aging_and_status_without_source_changes(
    engine: Engine, clock: FakeClock
) -> None:
    reconciler, worker, sink, pairs = setup(engine, clock, 1)
    invoice, customer = pairs[0]
    assert invoice.due_date is not None
    clock.set(
        clock.now().replace(
            year=invoice.due_date.year, month=invoice.due_date.month, day=invoice.due_date.day
        )
    )
    reconciler.upsert(invoice, customer)
    worker.drain()
    (task,) = sink.tasks.values()
    assert (task.status, task.fields["aging"]) == ("open", "current")
    clock.advance(timedelta(days=1))
    assert reconciler.resync_all() == 2  # status + aging field
    worker.drain()
    (task,) = sink.tasks.values()
    assert (task.status, task.fields["aging"]) == ("overdue", "1-30")
    clock.advance(timedelta(days=1))
    assert reconciler.resync_all() == 0


def test_payment_marks_task_paid(engine: Engine, clock: FakeClock) -> None:
    reconciler, worker, sink, pairs = setup(engine, clock, 1)
    invoice, customer = pairs[0]
    reconciler.upsert(invoice, customer)
    worker.drain()
    paid = with_payment(invoice, invoice.balance, clock.now().date(), clock.now() + timedelta(1))
    reconciler.upsert(paid, customer)
    worker.drain()
    (task,) = sink.tasks.values()
    assert task.status == "paid"
    assert task.fields["amount_due"] == "0"
    assert task.fields["invoice_status"] == "paid"


def test_crash_between_create_and_commit_leaves_one_task(engine: Engine, clock: FakeClock) -> None:
    reconciler, worker, sink, pairs = setup(engine, clock, 1)
    invoice, customer = pairs[0]
    reconciler.upsert(invoice, customer)

    def crash(point: str) -> None:
        if point == "after_remote_before_commit":
            raise CrashPoint(point)

    worker.crash_hook = crash
    with pytest.raises(CrashPoint):
        worker.drain()
    assert sink.requests["create_task"] == 1
    # A new process: nothing is due until the dead worker's lease runs out.
    restarted = OutboxWorker(engine, sink, clock, lease=timedelta(seconds=30))
    assert restarted.drain() == 0
    clock.advance(timedelta(seconds=31))
    assert restarted.drain() == 1
    assert restarted.stats.adopted == 1
    assert sink.requests["create_task"] == 1
    assert len(sink.tasks) == 1
    # The adopted task is recorded: later changes go to it.
    reconciler.upsert(
        with_payment(invoice, invoice.balance, clock.now().date(), clock.now() + timedelta(1)),
        customer,
    )
    restarted.drain()
    assert len(sink.tasks) == 1
    assert next(iter(sink.tasks.values())).status == "paid"


def test_crash_before_create_creates_exactly_once_later(engine: Engine, clock: FakeClock) -> None:
    reconciler, worker, sink, pairs = setup(engine, clock, 1)
    invoice, customer = pairs[0]
    reconciler.upsert(invoice, customer)

    def crash(point: str) -> None:
        if point == "before_create":
            raise CrashPoint(point)

    worker.crash_hook = crash
    with pytest.raises(CrashPoint):
        worker.drain()
    clock.advance(timedelta(seconds=31))
    restarted = OutboxWorker(engine, sink, clock, lease=timedelta(seconds=30))
    assert restarted.drain() == 1
    assert sink.requests["create_task"] == 1
    assert sink.requests["find_task"] == 1


def test_transient_errors_are_rescheduled_never_dropped(engine: Engine, clock: FakeClock) -> None:
    reconciler, worker, sink, pairs = setup(engine, clock, 1)
    invoice, customer = pairs[0]
    reconciler.upsert(invoice, customer)
    failures = iter([TransientError("ClickUp 503"), PermanentError("ClickUp 400: bad value")])

    def flaky(name: str) -> None:
        error = next(failures, None)
        if error is not None:
            raise error

    sink.before_request = flaky
    assert worker.drain() == 1
    with transaction(engine) as session:
        (failing,) = outbox.failing_ops(session)
        assert failing.last_error == "ClickUp 503"
    assert sink.tasks == {}
    clock.advance(timedelta(hours=1))
    worker.drain()
    with transaction(engine) as session:
        (failing,) = outbox.failing_ops(session)
        assert failing.last_error == "ClickUp 400: bad value"
        assert failing.permanent_failure
    clock.advance(timedelta(hours=1))
    worker.drain()
    with transaction(engine) as session:
        assert outbox.stats(session, clock.now()).depth == 0
    assert len(sink.tasks) == 1


def test_dry_run_plans_but_queues_and_stores_nothing(engine: Engine, clock: FakeClock) -> None:
    _, worker, sink, pairs = setup(engine, clock, 3)
    dry = Reconciler(engine, clock, OWNED, "UTC", dry_run=True)
    for invoice, customer in pairs:
        result = dry.upsert(invoice, customer)
        assert [op.kind.value for op in result.ops] == ["create_task"]
    assert worker.drain() == 0
    assert sink.total_requests == 0
    with transaction(engine) as session:
        assert outbox.stats(session, clock.now()).depth == 0


def test_comment_is_never_posted_twice_across_a_crash(engine: Engine, clock: FakeClock) -> None:
    from arbridge.core.plan import OpKind

    reconciler, worker, sink, pairs = setup(engine, clock, 1)
    invoice, customer = pairs[0]
    reconciler.upsert(invoice, customer)
    worker.drain()
    with transaction(engine) as session:
        outbox.enqueue(
            session,
            task_key=invoice.key,
            kind=OpKind.POST_COMMENT,
            payload={"text": "Friendly reminder", "marker": "arbridge ref r1"},
            idempotency_key="dunning-friendly|" + invoice.key,
            now=clock.now(),
        )

    def crash(point: str) -> None:
        if point == "after_remote_before_commit":
            raise CrashPoint(point)

    worker.crash_hook = crash
    with pytest.raises(CrashPoint):
        worker.drain()
    clock.advance(timedelta(seconds=31))
    restarted = OutboxWorker(engine, sink, clock, lease=timedelta(seconds=30))
    assert restarted.drain() == 1
    (comments,) = sink.comments.values()
    assert comments == ["Friendly reminder\n\n(arbridge ref r1)"]
    assert sink.requests["find_comment"] == 1


def test_draft_shows_its_data_problems_until_fixed(engine: Engine, clock: FakeClock) -> None:
    from arbridge.model.invoice import InvoiceStatus

    reconciler, worker, sink, pairs = setup(engine, clock, 1)
    invoice, customer = pairs[0]
    today = clock.now().date()
    draft = Invoice.model_validate(
        invoice.model_dump()
        | {
            "status": InvoiceStatus.DRAFT,
            "billing_email": None,
            "issue_date": today,
            "due_date": today + timedelta(days=30),
            "terms": "Net 30",
        }
    )
    reconciler.upsert(draft, customer)
    worker.drain()
    (task,) = sink.tasks.values()
    assert task.fields["invoice_checks"] == "1 problem: no billing email: reminders cannot go out"
    fixed = Invoice.model_validate(
        draft.model_dump()
        | {
            "billing_email": "ap@example.com",
            "version": SourceVersion(updated_at=clock.now() + timedelta(minutes=5)),
        }
    )
    reconciler.upsert(fixed, customer)
    worker.drain()
    (task,) = sink.tasks.values()
    assert task.fields["invoice_checks"] is None


def test_clean_sent_invoice_has_no_checks_and_they_cost_nothing_later(
    engine: Engine, clock: FakeClock
) -> None:
    reconciler, worker, sink, pairs = setup(engine, clock, 1)
    invoice, customer = pairs[0]
    reconciler.upsert(invoice, customer)
    worker.drain()
    (task,) = sink.tasks.values()
    assert task.fields["invoice_checks"] is None
    assert reconciler.resync_all() == 0
