"""apply_collector_change against the store, and the plan that respects a collector's status."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine

from arbridge.clock import FakeClock
from arbridge.core.desired import RuleState, desired_task
from arbridge.loop.apply import OutboxWorker
from arbridge.loop.collector import CollectorChange, apply_collector_change, held_status
from arbridge.loop.facts import collection_state
from arbridge.loop.reconcile import Reconciler, rule_state
from arbridge.model.invoice import Customer, Invoice, InvoiceStatus, Source, SourceVersion
from arbridge.model.task import FACTS
from arbridge.store import repo
from arbridge.store.db import transaction
from arbridge.store.tables import CollectionRow
from arbridge.testing.fake_sink import FakeSink

OWNED = frozenset(FACTS)
KEY = "stripe:acct_1:in_1"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def bill(due: date = date(2026, 2, 20), *, paid: bool = False) -> tuple[Invoice, Customer]:
    customer = Customer(
        source=Source("stripe"), source_account="acct_1", source_id="cus_1", name="Acme Ltd"
    )
    total = Decimal("1200.00")
    invoice = Invoice(
        source=Source("stripe"),
        source_account="acct_1",
        source_id="in_1",
        number="INV-1",
        customer_id="cus_1",
        customer_name="Acme Ltd",
        issue_date=due - timedelta(days=30),
        due_date=due,
        terms="Net 30",
        currency="USD",
        total=total,
        amount_paid=total if paid else Decimal(0),
        balance=Decimal(0) if paid else total,
        status=InvoiceStatus.PAID if paid else InvoiceStatus.OPEN,
        version=SourceVersion(updated_at=T0 - timedelta(days=10 if not paid else 0)),
    )
    return invoice, customer


def stored(engine: Engine, clock: FakeClock) -> tuple[Reconciler, FakeSink]:
    reconciler = Reconciler(engine, clock, OWNED, "UTC")
    sink = FakeSink(OWNED)
    reconciler.upsert(*bill())
    OutboxWorker(engine, sink, clock).drain()
    return reconciler, sink


def change(kind: str = "status_changed", at: datetime = T0, **values: object) -> CollectorChange:
    base = CollectorChange(invoice_key=KEY, kind="status_changed", changed_at=at, actor="a@x.io")
    return replace(base, kind=kind, **values)  # type: ignore[arg-type]


def row(engine: Engine) -> CollectionRow:
    with transaction(engine) as session:
        found = session.get(CollectionRow, KEY)
        assert found is not None
        session.expunge(found)
        return found


def test_a_status_change_is_stored_once_and_an_older_one_is_ignored(
    engine: Engine, clock: FakeClock
) -> None:
    stored(engine, clock)
    disputed = change(status="disputed", previous_status="overdue")
    assert apply_collector_change(engine, disputed, clock.now()) == "collector.status_changed"
    assert apply_collector_change(engine, disputed, clock.now()) is None
    older = change(at=T0 - timedelta(minutes=1), status="promise to pay")
    assert apply_collector_change(engine, older, clock.now()) is None
    assert (row(engine).collector_status, row(engine).disputed_by_collector) == ("disputed", True)
    newer = change(at=T0 + timedelta(minutes=1), status="promise to pay")
    assert apply_collector_change(engine, newer, clock.now()) == "collector.status_changed"
    assert (row(engine).collector_status, row(engine).disputed_by_collector) == (
        "promise to pay",
        False,
    )


def test_a_status_equal_to_the_planned_one_is_arbridges_own(
    engine: Engine, clock: FakeClock
) -> None:
    stored(engine, clock)
    with transaction(engine) as session:
        link = repo.get_link(session, KEY)
        assert link is not None
        assert link.planned is not None
        assert link.planned["status"] == "overdue"
    assert apply_collector_change(engine, change(status="overdue"), clock.now()) is None
    with transaction(engine) as session:
        assert session.get(CollectionRow, KEY) is None


def test_moving_a_held_task_back_to_the_planned_status_releases_it(
    engine: Engine, clock: FakeClock
) -> None:
    reconciler, _ = stored(engine, clock)
    promise = change(status="promise to pay", previous_status="overdue")
    assert apply_collector_change(engine, promise, clock.now()) is not None
    back = change(at=T0 + timedelta(minutes=1), status="overdue", previous_status=promise.status)
    assert apply_collector_change(engine, back, clock.now()) == "collector.status_changed"
    assert held_status(row(engine)) is None
    assert reconciler.resync([KEY]) == []


def test_a_collectors_status_clears_the_status_a_rule_set(engine: Engine, clock: FakeClock) -> None:
    stored(engine, clock)
    with transaction(engine) as session:
        session.add(CollectionRow(invoice_key=KEY, status="disputed", updated_at=T0))
    assert apply_collector_change(engine, change(status="open"), clock.now()) is not None
    assert row(engine).status is None
    assert row(engine).collector_status == "open"


def test_promise_dates_and_comments_are_ordered_by_their_own_times(
    engine: Engine, clock: FakeClock
) -> None:
    stored(engine, clock)
    promised = change("promise_to_pay_set", promise_to_pay_date=date(2026, 3, 20))
    assert apply_collector_change(engine, promised, clock.now()) == "collector.promise_to_pay_set"
    stale = change(
        "promise_to_pay_set", at=T0 - timedelta(hours=1), promise_to_pay_date=date(2026, 3, 9)
    )
    assert apply_collector_change(engine, stale, clock.now()) is None
    assert row(engine).promise_to_pay_date == date(2026, 3, 20)
    cleared = change("promise_to_pay_set", at=T0 + timedelta(hours=1))
    assert apply_collector_change(engine, cleared, clock.now()) == "collector.promise_to_pay_set"
    assert row(engine).promise_to_pay_date is None
    # A status change is ordered separately: an older one after a newer promise still applies.
    assert apply_collector_change(engine, change(at=T0, status="disputed"), clock.now())
    replied = change("commented", commented_at=T0 + timedelta(minutes=5))
    assert apply_collector_change(engine, replied, clock.now()) == "collector.commented"
    earlier = change("commented", commented_at=T0 + timedelta(minutes=1))
    assert apply_collector_change(engine, earlier, clock.now()) is None
    assert row(engine).customer_replied_at == T0 + timedelta(minutes=5)
    assert row(engine).customer_replied_since_last_reminder is True


def test_a_change_of_an_invoice_arbridge_does_not_know_is_ignored(
    engine: Engine, clock: FakeClock
) -> None:
    unknown = replace(change(status="disputed"), invoice_key="stripe:acct_1:in_404")
    assert apply_collector_change(engine, unknown, clock.now()) is None
    with transaction(engine) as session:
        assert session.get(CollectionRow, "stripe:acct_1:in_404") is None


def test_held_statuses_and_the_rule_facts_from_the_stored_row() -> None:
    assert held_status(None) is None
    assert held_status(CollectionRow(invoice_key=KEY, updated_at=T0)) is None
    disputed = CollectionRow(
        invoice_key=KEY, collector_status="disputed", disputed_by_collector=True, updated_at=T0
    )
    promise = CollectionRow(invoice_key=KEY, collector_status="promise to pay", updated_at=T0)
    mapped = CollectionRow(invoice_key=KEY, collector_status="overdue", updated_at=T0)
    assert [held_status(r) for r in (disputed, promise, mapped)] == [
        "disputed",
        "promise to pay",
        None,
    ]
    state = collection_state(disputed)
    assert (state.disputed, state.task_status) == (True, "disputed")
    assert collection_state(promise).task_status is None
    assert collection_state(mapped).task_status == "overdue"
    assert rule_state(disputed) == RuleState(collector="disputed")


def test_the_desired_status_holds_a_collectors_dispute_only_while_money_is_owed() -> None:
    invoice, customer = bill()
    today = T0.date()
    held = RuleState(collector="disputed")
    assert desired_task(invoice, customer, today, OWNED, rules=held).status == "disputed"
    assert desired_task(invoice, customer, today, OWNED, rules=None).status == "overdue"
    ruled = RuleState(status="uncollectible", collector="disputed")
    assert desired_task(invoice, customer, today, OWNED, rules=ruled).status == "uncollectible"
    unmapped = RuleState(collector="promise to pay")
    assert desired_task(invoice, customer, today, OWNED, rules=unmapped).status == "overdue"
    paid, _ = bill(paid=True)
    assert desired_task(paid, customer, today, OWNED, rules=held).status == "paid"


def test_a_resync_keeps_an_unmapped_collector_status_until_the_invoice_is_paid(
    engine: Engine, clock: FakeClock
) -> None:
    reconciler, sink = stored(engine, clock)
    promise = change(status="promise to pay", previous_status="overdue")
    assert apply_collector_change(engine, promise, clock.now()) is not None
    clock.advance(timedelta(days=40))  # the aging bucket moves; the status must not
    ops = reconciler.resync([KEY])
    assert ops
    assert all("status" not in op.payload for op in ops)
    OutboxWorker(engine, sink, clock).drain()
    with transaction(engine) as session:
        link = repo.get_link(session, KEY)
        assert link is not None
        assert link.planned is not None
        assert link.planned["status"] == "overdue"
    paid, customer = bill(paid=True)
    result = reconciler.upsert(paid, customer)
    assert [op.payload.get("status") for op in result.ops if "status" in op.payload] == ["paid"]
