"""Store and outbox behaviour, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import Engine

from arbridge.clock import FakeClock
from arbridge.core.plan import OpKind
from arbridge.demo.generator import CompanyGenerator
from arbridge.model.invoice import SourceVersion
from arbridge.store import outbox, repo
from arbridge.store.db import transaction
from arbridge.store.migrate import current_revision, head_revision, upgrade

LEASE = timedelta(seconds=60)


def test_migrations_reach_head_and_rerun_is_noop(engine: Engine) -> None:
    assert current_revision(engine) == head_revision() == "0006"
    upgrade(engine)
    assert current_revision(engine) == head_revision() == "0006"


def test_older_version_never_overwrites_newer(engine: Engine, clock: FakeClock) -> None:
    gen = CompanyGenerator(seed=3)
    ((invoice, _),) = gen.open_invoices(1, today=clock.now().date())
    newer = invoice.model_copy(
        update={
            "balance": Decimal(0) + invoice.balance,
            "version": SourceVersion(
                updated_at=invoice.version.updated_at + timedelta(hours=1), sequence=1
            ),
            "number": "INV-NEW",
        }
    )
    with transaction(engine) as session:
        assert repo.save_invoice(session, newer, clock.now())
    with transaction(engine) as session:
        assert not repo.save_invoice(session, invoice, clock.now())
    with transaction(engine) as session:
        stored = repo.get_invoice(session, invoice.key)
    assert stored is not None
    assert stored.number == "INV-NEW"


def _enqueue(engine: Engine, clock: FakeClock, key: str, fact: str, value: str, ik: str) -> None:
    with transaction(engine) as session:
        outbox.enqueue(
            session,
            task_key=key,
            kind=OpKind.SET_FIELD,
            payload={"fact": fact, "value": value},
            idempotency_key=ik,
            now=clock.now(),
        )


def test_operations_on_one_task_run_in_order(engine: Engine, clock: FakeClock) -> None:
    _enqueue(engine, clock, "a", "number", "1", "a1")
    _enqueue(engine, clock, "a", "number", "2", "a2")
    _enqueue(engine, clock, "b", "number", "3", "b1")
    first = outbox.claim(engine, worker="w1", now=clock.now(), lease=LEASE)
    second = outbox.claim(engine, worker="w2", now=clock.now(), lease=LEASE)
    third = outbox.claim(engine, worker="w3", now=clock.now(), lease=LEASE)
    assert first is not None
    assert second is not None
    assert (first.task_key, first.payload["value"]) == ("a", "1")
    # The second "a" op waits behind the first even though a worker is free.
    assert (second.task_key, second.payload["value"]) == ("b", "3")
    assert third is None
    with transaction(engine) as session:
        outbox.finish(session, first.id)
    nxt = outbox.claim(engine, worker="w1", now=clock.now(), lease=LEASE)
    assert nxt is not None
    assert nxt.payload["value"] == "2"


def test_duplicate_idempotency_key_is_ignored(engine: Engine, clock: FakeClock) -> None:
    _enqueue(engine, clock, "a", "number", "1", "same")
    _enqueue(engine, clock, "a", "customer", "x", "same")
    with transaction(engine) as session:
        assert len(outbox.pending_for(session, "a")) == 1


def test_unsent_field_changes_coalesce(engine: Engine, clock: FakeClock) -> None:
    for index, value in enumerate(["10", "20", "30"]):
        with transaction(engine) as session:
            outbox.enqueue(
                session,
                task_key="a",
                kind=OpKind.SET_FIELD,
                payload={"fact": "amount_due", "value": value},
                idempotency_key=f"a{index}",
                now=clock.now(),
                coalesce_key="field:amount_due",
            )
    with transaction(engine) as session:
        ops = outbox.pending_for(session, "a")
    assert [op.payload["value"] for op in ops] == ["30"]


def test_expired_lease_is_claimed_again(engine: Engine, clock: FakeClock) -> None:
    _enqueue(engine, clock, "a", "number", "1", "a1")
    op = outbox.claim(engine, worker="dead", now=clock.now(), lease=LEASE)
    assert op is not None
    assert outbox.claim(engine, worker="w2", now=clock.now(), lease=LEASE) is None
    clock.advance(LEASE + timedelta(seconds=1))
    again = outbox.claim(engine, worker="w2", now=clock.now(), lease=LEASE)
    assert again is not None
    assert again.id == op.id
    assert again.attempts == 2


def test_rescheduled_operation_waits_and_keeps_its_error(engine: Engine, clock: FakeClock) -> None:
    _enqueue(engine, clock, "a", "number", "1", "a1")
    op = outbox.claim(engine, worker="w", now=clock.now(), lease=LEASE)
    assert op is not None
    with transaction(engine) as session:
        outbox.reschedule(
            session, op.id, error="boom", at=clock.now() + timedelta(minutes=5), permanent=False
        )
    assert outbox.claim(engine, worker="w", now=clock.now(), lease=LEASE) is None
    with transaction(engine) as session:
        stats = outbox.stats(session, clock.now())
        failing = outbox.failing_ops(session)
    assert (stats.depth, stats.due, stats.failing) == (1, 0, 1)
    assert failing[0].last_error == "boom"
    clock.advance(timedelta(minutes=6))
    assert outbox.claim(engine, worker="w", now=clock.now(), lease=LEASE) is not None


def test_concurrent_workers_claim_each_operation_once_in_task_order(
    engine: Engine, clock: FakeClock
) -> None:
    keys = [f"k{i}" for i in range(8)]
    for step in range(5):
        for key in keys:
            _enqueue(engine, clock, key, "number", str(step), f"{key}-{step}")
    seen: dict[str, list[str]] = defaultdict(list)
    claimed_ids: list[int] = []
    lock = threading.Lock()

    def work(name: str) -> None:
        idle = 0
        while idle < 20:
            op = outbox.claim(engine, worker=name, now=clock.now(), lease=LEASE)
            if op is None:
                idle += 1
                continue
            idle = 0
            with lock:
                seen[op.task_key].append(op.payload["value"])
                claimed_ids.append(op.id)
            with transaction(engine) as session:
                outbox.finish(session, op.id)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(claimed_ids) == len(set(claimed_ids)) == 40
    for key in keys:
        assert seen[key] == ["0", "1", "2", "3", "4"]
