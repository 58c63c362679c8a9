"""Rules against the store: fire once, record with their effects, survive crashes."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from arbridge.clock import FakeClock
from arbridge.core.ops import PlannedOp
from arbridge.loop.apply import CrashPoint, OutboxWorker
from arbridge.loop.reconcile import Reconciler
from arbridge.loop.rules import OVERDUE_MARKER, RULES_STATUS, RulesRunner
from arbridge.model.invoice import Customer, Invoice, InvoiceStatus, Source, SourceVersion
from arbridge.model.task import FACTS
from arbridge.settings import Settings
from arbridge.store import repo
from arbridge.store.db import transaction
from arbridge.store.tables import CollectionRow, FiringRow
from arbridge.testing.fake_sink import FakeSink

RULES = Path(__file__).resolve().parents[2] / "rules"
OWNED = frozenset(FACTS)


def settings() -> Settings:
    return Settings.model_validate(
        {
            "clickup": {"token": "pk_test_123456", "list_id": "1"},
            "rules": {"directory": str(RULES), "packs": ["dunning"]},
        }
    )


def invoice_due(due: datetime) -> tuple[Invoice, Customer]:
    customer = Customer(
        source=Source("stripe"), source_account="acct_1", source_id="cus_1", name="Acme Ltd"
    )
    invoice = Invoice(
        source=Source("stripe"),
        source_account="acct_1",
        source_id="in_1",
        number="INV-1",
        customer_id="cus_1",
        customer_name="Acme Ltd",
        issue_date=due.date() - timedelta(days=30),
        due_date=due.date(),
        terms="Net 30",
        currency="USD",
        total=Decimal("1200.00"),
        amount_paid=Decimal(0),
        balance=Decimal("1200.00"),
        status=InvoiceStatus.OPEN,
        billing_email="ap@acme.example",
        version=SourceVersion(updated_at=due - timedelta(days=30)),
    )
    return invoice, customer


def rig(engine: Engine, clock: FakeClock) -> tuple[Reconciler, RulesRunner, OutboxWorker, FakeSink]:
    sink = FakeSink(OWNED)
    reconciler = Reconciler(engine, clock, OWNED, "UTC")
    runner = RulesRunner(settings(), engine, reconciler)
    assert runner.loaded.problems == []
    return reconciler, runner, OutboxWorker(engine, sink, clock), sink


def test_the_ladder_over_sixty_days_posts_each_reminder_once_on_its_day(
    engine: Engine,
) -> None:
    # Monday 2026-03-02 is the due date; evaluations run daily at 10:00 from 5 days before.
    clock = FakeClock(datetime(2026, 2, 25, 10, 0, tzinfo=UTC))
    reconciler, runner, worker, sink = rig(engine, clock)
    invoice, customer = invoice_due(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    reconciler.upsert(invoice, customer)
    fired: dict[str, list[str]] = {}
    for _ in range(60):
        evaluation = runner.tick(clock.now())
        runner.tick(clock.now())  # a second evaluation the same day changes nothing
        worker.drain()
        day = clock.now().date().isoformat()
        for firing in evaluation.firings:
            fired.setdefault(firing.rule_id, []).append(day)
        clock.advance(timedelta(days=1))
    assert fired["dunning-friendly"] == ["2026-02-27"]
    assert fired["dunning-due"] == ["2026-03-02"]
    assert fired["dunning-firm-3"] == ["2026-03-05"]
    assert fired["dunning-firm-7"] == ["2026-03-09"]
    assert len(fired["dunning-final"]) == 2  # +30 and 14 days later, within 60 days
    (comments,) = sink.comments.values()
    assert len(comments) == len(set(comments)) == sum(len(days) for days in fired.values())
    with transaction(engine) as session:
        state = session.get(CollectionRow, invoice.key)
        assert state is not None
        assert state.priority == 1
        assert state.reminders_sent >= 5
    (task,) = sink.tasks.values()
    assert task.status == "overdue"


def test_a_crash_before_the_firing_commits_leaves_nothing_and_fires_once_later(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock(datetime(2026, 2, 27, 10, 0, tzinfo=UTC))
    reconciler, runner, worker, sink = rig(engine, clock)
    invoice, customer = invoice_due(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    reconciler.upsert(invoice, customer)
    worker.drain()

    def die(*_: object, **__: object) -> None:
        raise RuntimeError("process killed")

    monkeypatch.setattr(reconciler, "replan", die)
    with pytest.raises(RuntimeError):
        runner.tick(clock.now())
    monkeypatch.undo()
    with transaction(engine) as session:
        assert session.exec(select(FiringRow)).all() == []
    assert worker.drain() == 0
    assert runner.tick(clock.now()).firings
    assert runner.tick(clock.now()).firings == ()
    worker.drain()
    (comments,) = sink.comments.values()
    assert len(comments) == 1
    assert "friendly reminder" in comments[0]


def test_invalid_rules_disable_only_themselves_and_reload_keeps_the_running_set(
    engine: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    pack = tmp_path / "mine.yaml"
    pack.write_text(
        "rules:\n"
        "  - id: good\n"
        "    description: ok\n"
        "    triggers: [{event: invoice.created}]\n"
        "    actions: [{set_priority: high}]\n"
        "  - id: bad\n"
        "    description: typo\n"
        "    triggers: [{event: invoice.created}]\n"
        "    conditions: {all: [{fact: invoice.balanse, gt: 0}]}\n"
        "    actions: [{set_priority: high}]\n"
    )
    config = Settings.model_validate(
        {
            "clickup": {"token": "pk_test_123456", "list_id": "1"},
            "rules": {"directory": str(tmp_path), "packs": ["mine"]},
        }
    )
    runner = RulesRunner(config, engine, Reconciler(engine, clock, OWNED, "UTC"))
    assert [rule.id for rule in runner.loaded.rules] == ["good"]
    assert any("invoice.balanse" in str(p) for p in runner.loaded.problems)
    pack.write_text("rules: [this is: not valid")
    problems = runner.reload()
    assert problems
    assert [rule.id for rule in runner.loaded.rules] == ["good"]


def test_grouped_rule_posts_one_comment_per_customer_and_records_the_group_once(
    engine: Engine, tmp_path: Path
) -> None:
    (tmp_path / "grouped.yaml").write_text(
        "rules:\n"
        "  - id: statement\n"
        "    description: one statement per customer\n"
        "    triggers: [{schedule: {at: '09:00'}}]\n"
        "    conditions: {all: [{fact: invoice.days_overdue, gte: 1}]}\n"
        "    actions:\n"
        "      - comment: {template: 'Overdue: {% for i in overdue_invoices %}"
        "{{ i.number }} {% endfor %}'}\n"
        "    policy: {group_by: customer}\n"
    )
    config = Settings.model_validate(
        {
            "clickup": {"token": "pk_test_123456", "list_id": "1"},
            "rules": {"directory": str(tmp_path), "packs": ["grouped"]},
        }
    )
    clock = FakeClock(datetime(2026, 3, 20, 10, 0, tzinfo=UTC))
    sink = FakeSink(OWNED)
    reconciler = Reconciler(engine, clock, OWNED, "UTC")
    runner = RulesRunner(config, engine, reconciler)
    assert runner.loaded.problems == []
    first, customer = invoice_due(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    second = Invoice.model_validate(
        first.model_dump()
        | {"source_id": "in_2", "number": "INV-2", "due_date": first.due_date + timedelta(days=5)}
    )
    for invoice in (first, second):
        reconciler.upsert(invoice, customer)
    worker = OutboxWorker(engine, sink, clock)
    worker.drain()
    assert len(runner.tick(clock.now()).firings) == 2
    runner.tick(clock.now())
    worker.drain()
    posted = [text for texts in sink.comments.values() for text in texts]
    assert len(posted) == 1
    assert "INV-1" in posted[0]
    assert "INV-2" in posted[0]
    with transaction(engine) as session:
        rows = session.exec(select(FiringRow)).all()
    subjects = sorted(row.subject_key for row in rows if row.rule_id == "statement")
    assert subjects == sorted([first.key, second.key, "customer:" + first.customer_key])
    # Both invoices were already overdue at the first tick: each has its one marker.
    overdue = sorted(row.subject_key for row in rows if row.rule_id == OVERDUE_MARKER)
    assert overdue == sorted([first.key, second.key])


def test_invoice_checks_are_a_rule_fact(engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "checks.yaml").write_text(
        "rules:\n"
        "  - id: fix-email\n"
        "    description: ask for a billing email before reminders are due\n"
        "    triggers: [{event: invoice.created}]\n"
        "    conditions: {all: [{fact: invoice.checks, contains: missing_billing_email}]}\n"
        "    actions: [{set_priority: high}]\n"
    )
    config = Settings.model_validate(
        {
            "clickup": {"token": "pk_test_123456", "list_id": "1"},
            "rules": {"directory": str(tmp_path), "packs": ["checks"]},
        }
    )
    clock = FakeClock(datetime(2026, 2, 20, 10, 0, tzinfo=UTC))
    reconciler = Reconciler(engine, clock, OWNED, "UTC")
    runner = RulesRunner(config, engine, reconciler)
    assert runner.loaded.problems == []
    clean, customer = invoice_due(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    no_email = Invoice.model_validate(
        clean.model_dump() | {"source_id": "in_2", "number": "INV-2", "billing_email": None}
    )
    for invoice in (clean, no_email):
        reconciler.upsert(invoice, customer)
    fired = [
        f.invoice_key
        for invoice in (clean, no_email)
        for f in runner.event("invoice.created", invoice.key, clock.now()).firings
    ]
    assert fired == [no_email.key]


OPS_PACK = """
rules:
  - id: chase
    description: Tag, stage, subtask and a comment for every open invoice
    triggers: [{schedule: {at: "09:00"}}]
    actions:
      - add_tag: chased
      - set_field: {field: Collection stage, value: firm}
      - create_subtask: {name: "Call {{ customer.name }}", users: [sam@example.com], due_in_days: 2}
      - comment: {template: "Chasing {{ invoice.number }}"}
"""


def ops_rig(
    engine: Engine, clock: FakeClock, tmp_path: Path
) -> tuple[Reconciler, RulesRunner, OutboxWorker, FakeSink, Invoice]:
    (tmp_path / "ops.yaml").write_text(OPS_PACK)
    config = Settings.model_validate(
        {
            "clickup": {"token": "pk_test_123456", "list_id": "1"},
            "rules": {"directory": str(tmp_path), "packs": ["ops"]},
        }
    )
    sink = FakeSink(OWNED)
    reconciler = Reconciler(engine, clock, OWNED, "UTC")
    runner = RulesRunner(config, engine, reconciler)
    assert runner.loaded.problems == []
    worker = OutboxWorker(engine, sink, clock)
    invoice, customer = invoice_due(clock.now() + timedelta(days=5))
    reconciler.upsert(invoice, customer)
    worker.drain()
    return reconciler, runner, worker, sink, invoice


def test_tags_fields_and_subtasks_go_to_the_task_once(
    engine: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    _, runner, worker, sink, _ = ops_rig(engine, clock, tmp_path)
    (task_id,) = sink.tasks
    assert len(runner.tick(clock.now()).firings) == 1
    runner.tick(clock.now())  # already fired: nothing new is queued
    worker.drain()
    assert sink.tags == {task_id: ["chased"]}
    assert sink.rule_fields == {task_id: {"Collection stage": "firm"}}
    ((_, subtask),) = sink.subtasks[task_id]
    assert subtask.name == "Call Acme Ltd"
    assert subtask.assignees == ("sam@example.com",)
    assert subtask.due_date == clock.now().date() + timedelta(days=2)
    assert subtask.marker.startswith("arbridge subtask ")
    assert len(sink.comments[task_id]) == 1
    assert sink.requests["create_subtask"] == 1
    assert sink.requests["find_subtask"] == 0  # a first attempt needs no look-up


@pytest.mark.parametrize("sent", ["create_subtask", "add_tag", "set_rule_field"])
def test_a_crash_after_sending_and_before_the_commit_does_not_repeat_the_action(
    engine: Engine, clock: FakeClock, tmp_path: Path, sent: str
) -> None:
    _, runner, worker, sink, _ = ops_rig(engine, clock, tmp_path)
    (task_id,) = sink.tasks
    runner.tick(clock.now())
    crashed: list[str] = []

    def die_once(point: str) -> None:
        if point == "after_remote_before_commit" and sink.requests[sent] and not crashed:
            crashed.append(point)
            raise CrashPoint(point)

    worker.crash_hook = die_once
    with pytest.raises(CrashPoint):
        worker.drain()
    # The restarted process: a new worker once the dead one's lease has run out.
    clock.advance(timedelta(minutes=5))
    restarted = OutboxWorker(engine, sink, clock)
    restarted.drain()
    runner.tick(clock.now())
    restarted.drain()
    assert crashed
    assert len(sink.subtasks[task_id]) == 1
    assert sink.tags[task_id] == ["chased"]
    assert sink.rule_fields[task_id] == {"Collection stage": "firm"}
    assert len(sink.comments[task_id]) == 1
    if sent == "create_subtask":
        # The retry looked the subtask up and adopted it instead of creating another.
        assert sink.requests["find_subtask"] == 1
        assert sink.requests["create_subtask"] == 1


def test_a_crash_between_deciding_and_sending_sends_everything_once_after_restart(
    engine: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    reconciler, runner, _, sink, _ = ops_rig(engine, clock, tmp_path)
    (task_id,) = sink.tasks
    runner.tick(clock.now())  # decided and recorded with its operations; then the process dies
    restarted = RulesRunner(runner.settings, engine, reconciler)
    assert restarted.tick(clock.now()).firings == ()  # the stored firing is its history
    OutboxWorker(engine, sink, clock).drain()
    assert len(sink.subtasks[task_id]) == 1
    assert sink.tags[task_id] == ["chased"]
    assert len(sink.comments[task_id]) == 1


GOOD_PACK = """rules:
  - id: {rule_id}
    description: ok
    triggers: [{{event: invoice.created}}]
    actions: [{{set_priority: high}}]
"""


def mine_runner(engine: Engine, clock: FakeClock, tmp_path: Path) -> tuple[RulesRunner, Path]:
    pack = tmp_path / "mine.yaml"
    pack.write_text(GOOD_PACK.format(rule_id="first"))
    config = Settings.model_validate(
        {
            "clickup": {"token": "pk_test_123456", "list_id": "1"},
            "rules": {"directory": str(tmp_path), "packs": ["mine"]},
        }
    )
    return RulesRunner(config, engine, Reconciler(engine, clock, OWNED, "UTC")), pack


def reload_status(engine: Engine) -> dict[str, object]:
    with transaction(engine) as session:
        raw = repo.get_cursor(session, RULES_STATUS)
    assert raw is not None
    status: dict[str, object] = json.loads(raw)
    return status


def test_reload_if_changed_reloads_edits_and_keeps_the_old_set_on_errors(
    engine: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    runner, pack = mine_runner(engine, clock, tmp_path)
    assert runner.reload_if_changed() is False  # nothing changed
    os.utime(pack, ns=(1, 1))  # touched, same content
    assert runner.reload_if_changed() is False

    pack.write_text(GOOD_PACK.format(rule_id="second"))
    assert runner.reload_if_changed() is True
    assert [r.id for r in runner.loaded.rules] == ["second"]
    assert reload_status(engine) == {"ok": True, "rules_running": 1, "problems": []}

    pack.write_text("rules: [this is: not valid")
    assert runner.reload_if_changed() is False
    assert [r.id for r in runner.loaded.rules] == ["second"]
    status = reload_status(engine)
    assert status["ok"] is False
    assert status["rules_running"] == 1
    problems = status["problems"]
    assert isinstance(problems, list)
    assert len(problems) == 1
    assert str(problems[0]).startswith(f"{pack}:1:")
    assert runner.reload_if_changed() is False  # the same broken file is not retried

    pack.write_text(GOOD_PACK.format(rule_id="first"))  # back to the very first content
    assert runner.reload_if_changed() is True
    assert [r.id for r in runner.loaded.rules] == ["first"]
    assert reload_status(engine)["ok"] is True


def test_the_watcher_reloads_a_changed_pack(
    engine: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    runner, pack = mine_runner(engine, clock, tmp_path)
    stop = threading.Event()
    thread = runner.watch(stop)
    try:
        deadline = time.monotonic() + 30
        edits = 0
        while [r.id for r in runner.loaded.rules] != ["watched"]:
            assert time.monotonic() < deadline, "the watcher never reloaded the pack"
            # Edited again until seen: the watcher may start watching after the first edit.
            edits += 1
            pack.write_text(GOOD_PACK.format(rule_id="watched") + f"# edit {edits}\n")
            seen_by = time.monotonic() + 3
            while time.monotonic() < seen_by and [r.id for r in runner.loaded.rules] != ["watched"]:
                time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


OVERDUE_PACK = """
rules:
  - id: overdue-notice
    description: One notice when the invoice becomes overdue
    triggers: [{event: invoice.overdue}]
    actions: [{comment: {template: "Invoice {{ invoice.number }} is now overdue"}}]
"""


def overdue_rig(
    engine: Engine, clock: FakeClock, tmp_path: Path
) -> tuple[Reconciler, RulesRunner, OutboxWorker, FakeSink, Invoice, Customer]:
    (tmp_path / "late.yaml").write_text(OVERDUE_PACK)
    config = Settings.model_validate(
        {
            "clickup": {"token": "pk_test_123456", "list_id": "1"},
            "rules": {"directory": str(tmp_path), "packs": ["late"]},
        }
    )
    sink = FakeSink(OWNED)
    reconciler = Reconciler(engine, clock, OWNED, "UTC")
    runner = RulesRunner(config, engine, reconciler)
    assert runner.loaded.problems == []
    worker = OutboxWorker(engine, sink, clock)
    invoice, customer = invoice_due(datetime(2026, 3, 4, 10, 0, tzinfo=UTC))
    reconciler.upsert(invoice, customer)
    worker.drain()
    return reconciler, runner, worker, sink, invoice, customer


def overdue_notices(sink: FakeSink) -> list[str]:
    return [c for texts in sink.comments.values() for c in texts if "is now overdue" in c]


def test_invoice_overdue_is_emitted_once_the_day_after_the_due_date_across_restarts(
    engine: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    reconciler, runner, worker, sink, _, _ = overdue_rig(engine, clock, tmp_path)
    emitted: list[str] = []
    for day in range(8):  # 2026-03-02 .. 03-09, due on 03-04
        if day == 5:  # the daemon restarts
            runner = RulesRunner(runner.settings, engine, reconciler)
        before = runner.stats.became_overdue
        runner.tick(clock.now())
        runner.tick(clock.now())
        if runner.stats.became_overdue > before:
            emitted.append(clock.now().date().isoformat())
        worker.drain()
        clock.advance(timedelta(days=1))
    assert emitted == ["2026-03-05"]
    assert len(overdue_notices(sink)) == 1
    assert runner.check_overdue(clock.now()) == 0


def test_a_lost_marker_does_not_fire_the_event_rules_twice(
    engine: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    _, runner, worker, sink, invoice, _ = overdue_rig(engine, clock, tmp_path)
    clock.advance(timedelta(days=3))
    runner.tick(clock.now())
    # As if the process died after the event's firing and before its marker was stored.
    with transaction(engine) as session:
        (marker,) = session.exec(select(FiringRow).where(FiringRow.rule_id == OVERDUE_MARKER)).all()
        assert marker.subject_key == invoice.key
        session.delete(marker)
    assert runner.check_overdue(clock.now()) == 1  # emitted again...
    worker.drain()
    assert len(overdue_notices(sink)) == 1  # ...but its rule had fired already


def test_a_crash_while_applying_the_event_fires_it_after_the_restart(
    engine: Engine, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reconciler, runner, worker, sink, _, _ = overdue_rig(engine, clock, tmp_path)
    clock.advance(timedelta(days=3))
    replan = reconciler.replan

    def die_on_the_notice(
        session: object, invoice: Invoice, *, reason: str, effects: Sequence[PlannedOp] = ()
    ) -> None:
        if reason == "rule overdue-notice":
            raise RuntimeError("process killed")
        replan(session, invoice, reason=reason, effects=effects)  # type: ignore[arg-type]

    monkeypatch.setattr(reconciler, "replan", die_on_the_notice)
    with pytest.raises(RuntimeError):
        runner.tick(clock.now())
    monkeypatch.undo()
    with transaction(engine) as session:
        assert session.exec(select(FiringRow)).all() == []  # neither the firing nor a marker
    restarted = RulesRunner(runner.settings, engine, reconciler)
    restarted.tick(clock.now())
    worker.drain()
    assert len(overdue_notices(sink)) == 1


def test_a_resync_that_moves_the_due_date_into_the_past_emits_the_event(
    engine: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    reconciler, runner, worker, sink, invoice, customer = overdue_rig(engine, clock, tmp_path)
    runner.tick(clock.now())
    assert overdue_notices(sink) == []
    moved = invoice.model_copy(
        update={
            "due_date": clock.now().date() - timedelta(days=1),
            "version": SourceVersion(updated_at=clock.now()),
        }
    )
    reconciler.upsert(moved, customer)
    assert runner.check_overdue(clock.now(), [invoice.key]) == 1
    assert runner.check_overdue(clock.now(), [invoice.key]) == 0
    worker.drain()
    (notice,) = overdue_notices(sink)
    assert notice.startswith("Invoice INV-1 is now overdue\n\n(arbridge ref ")
