"""Collectors' work in ClickUp, end to end: the emulator sends the signed webhooks, the engine
stores the facts, the rules react and the next plan respects what the collector chose."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from arbridge_clickup.emulator import EmulatorApp, EmulatorState
from arbridge_clickup.emulator.webhooks import Collector
from arbridge_clickup.inbound import ClickUpInbound, verify_webhook
from arbridge_clickup.plugin import connector
from sqlalchemy import Engine
from sqlmodel import col, select

from arbridge.clock import FakeClock
from arbridge.loop.collector import handle_collector_event
from arbridge.model.invoice import Customer, Invoice, InvoiceStatus, Source, SourceVersion
from arbridge.runtime.app import App
from arbridge.settings import Settings
from arbridge.store.db import transaction
from arbridge.store.tables import AuditRow, CollectionRow, FiringRow
from arbridge.testing.loopback import LoopbackServer

RULES = Path(__file__).resolve().parents[2] / "rules"
ENDPOINT = "https://arbridge.example.com/webhooks/clickup"
TASK_READ = "GET /task/{task_id}"
TASK_UPDATE = "PUT /task/{task_id}"


@dataclass
class Rig:
    app: App
    state: EmulatorState
    emulator: EmulatorApp
    inbound: ClickUpInbound
    secret: str
    clock: FakeClock
    seen: set[str] = field(default_factory=set)

    def process(self, *, reverse: bool = False, duplicate: bool = False) -> list[str | None]:
        """Verify every queued delivery as the webhook server does and process its events; a
        known event id is skipped as the inbox would skip it."""
        deliveries = self.state.take_deliveries()
        if reverse:
            deliveries.reverse()
        if duplicate:
            deliveries = [d for d in deliveries for _ in range(2)]
        fired: list[str | None] = []
        for delivery in deliveries:
            headers = {"x-signature": delivery.signature}
            for event in verify_webhook(self.secret, headers, delivery.body):
                if event.event_id in self.seen:
                    continue
                self.seen.add(event.event_id)
                fired.append(
                    handle_collector_event(
                        self.app.engine,
                        self.inbound,
                        event,
                        self.clock.now(),
                        reconciler=self.app.reconciler,
                        rules=self.app.rules,
                    )
                )
        return fired

    def collector(self, email: str = "ada@example.com") -> Collector:
        return self.emulator.collector(email)

    def requests(self) -> dict[str, int]:
        counts: dict[str, int] = self.state.stats()["requests"]
        return counts

    def task_id(self, key: str) -> str:
        return next(t.task_id for t in self.app.sink.iter_tasks() if t.key == key)

    def status(self, task_id: str) -> str:
        return self.state.tasks[task_id].status

    def row(self, key: str) -> CollectionRow:
        with transaction(self.app.engine) as session:
            row = session.get(CollectionRow, key)
            assert row is not None
            session.expunge(row)
            return row

    def fired_rules(self, key: str) -> list[str]:
        with transaction(self.app.engine) as session:
            statement = select(FiringRow.rule_id).where(FiringRow.subject_key == key)
            # Rule firings only: "event:..." rows are markers of events already emitted.
            rows = session.exec(statement.order_by(col(FiringRow.id)))
            return [rule for rule in rows if not rule.startswith("event:")]

    def facts(self, key: str) -> dict[str, Any]:
        return dict(self.app.rules.facts_at(self.clock.now())[key].values) if self.app.rules else {}

    def resync(self) -> int:
        self.app.reconciler.resync_all(reason="resync")
        return self.app.drain(1)


@pytest.fixture
def rig(engine: Engine, clock: FakeClock) -> Iterator[Rig]:
    emulator = connector.emulator(rate_limit=None)
    emulator.app.dispatcher.pause()
    with LoopbackServer(emulator.app) as server:
        settings = Settings.model_validate(
            {
                "clickup": {**emulator.config(server.base_url), "requests_per_minute": 100_000},
                "rules": {"directory": str(RULES), "packs": ["disputes", "dunning"]},
            }
        )
        sink = connector.build_sink(settings, secrets=[])
        inbound = connector.build_inbound(settings, secrets=[])
        _, secret = connector.create_webhook(settings, ENDPOINT)
        app = App(settings, engine, sink, clock)
        yield Rig(app, emulator.app.emulator, emulator.app, inbound, secret, clock)
        inbound.close()
        sink.close()


def invoice(due: date, *, paid: bool = False) -> tuple[Invoice, Customer]:
    customer = Customer(
        source=Source("stripe"), source_account="acct_1", source_id="cus_1", name="Acme Ltd"
    )
    total = Decimal("1200.00")
    issued = datetime.combine(due - timedelta(days=30), datetime.min.time(), tzinfo=UTC)
    return (
        Invoice(
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
            billing_email="ap@acme.example",
            version=SourceVersion(updated_at=issued + timedelta(days=40 if paid else 0)),
        ),
        customer,
    )


def mirrored(rig: Rig, due: date) -> tuple[str, str]:
    """The invoice's task made and arbridge's own webhooks about it processed; (key, task id)."""
    bill, customer = invoice(due)
    rig.app.ingest(bill, customer)
    rig.app.drain(1)
    assert set(rig.process()) <= {None}
    return bill.key, rig.task_id(bill.key)


def test_arbridges_own_changes_change_nothing_and_cost_no_request(rig: Rig) -> None:
    key, task_id = mirrored(rig, date(2026, 2, 20))
    assert rig.app.run_rules() == 1  # the first reminder, posted as arbridge's own comment
    rig.app.drain(1)
    assert rig.state.comments_on(task_id)
    before = rig.requests().get(TASK_READ, 0)
    assert set(rig.process()) == {None}
    assert rig.requests().get(TASK_READ, 0) == before
    row = rig.row(key)
    assert (row.collector_status, row.customer_replied_at, row.disputed_by_collector) == (
        None,
        None,
        False,
    )
    with transaction(rig.app.engine) as session:
        audited = session.exec(select(AuditRow.action)).all()
    assert not [a for a in audited if a.startswith("collector.")]


def test_a_collectors_dispute_routes_the_invoice_and_survives_the_next_resync(rig: Rig) -> None:
    key, task_id = mirrored(rig, date(2026, 2, 20))
    assert rig.status(task_id) == "overdue"
    rig.collector().set_status(task_id, "disputed")
    assert rig.process() == ["collector.status_changed"]
    row = rig.row(key)
    assert (row.disputed_by_collector, row.collector_status) == (True, "disputed")
    # The disputes pack's answer: routed, high priority, reminders paused for 30 days.
    assert rig.fired_rules(key) == ["dispute-route"]
    assert (row.status, row.priority, row.reminders_paused_until) == (
        "disputed",
        2,
        date(2026, 4, 1),
    )
    assert row.assignees == ["disputes@example.com"]
    assert rig.facts(key)["invoice.disputed"] is True
    before = rig.requests()
    rig.app.drain(1)
    # The task already is "disputed": the rule's changes send no status update.
    assert rig.state.tasks[task_id].priority == 2
    assert rig.status(task_id) == "disputed"
    assert set(rig.process()) <= {None}  # arbridge's own priority change and comment
    assert rig.resync() == 0
    for _ in range(10):
        rig.clock.advance(timedelta(days=1))
        rig.app.run_rules()
        rig.resync()
    assert rig.status(task_id) == "disputed"
    assert rig.requests().get(TASK_UPDATE, 0) - before.get(TASK_UPDATE, 0) == 1  # the priority
    assert not [r for r in rig.fired_rules(key) if r.startswith("dunning")]
    paid, customer = invoice(date(2026, 2, 20), paid=True)
    rig.app.ingest(paid, customer)
    rig.app.drain(1)
    assert rig.status(task_id) == "paid"


def test_a_promise_to_pay_is_stored_seen_by_rules_and_its_status_stays(rig: Rig) -> None:
    key, task_id = mirrored(rig, date(2026, 3, 5))
    assert rig.status(task_id) == "open"
    ada = rig.collector()
    ada.set_status(task_id, "promise to pay")
    ada.set_promise_date(task_id, date(2026, 3, 20))
    assert rig.process() == ["collector.status_changed", "collector.promise_to_pay_set"]
    row = rig.row(key)
    assert (row.collector_status, row.promise_to_pay_date) == ("promise to pay", date(2026, 3, 20))
    assert row.reminders_paused_until == date(2026, 3, 21)  # dunning's promise rule
    assert rig.fired_rules(key) == ["dunning-promise-pause"]
    facts = rig.facts(key)
    assert facts["invoice.promise_to_pay_date"] == date(2026, 3, 20)
    assert facts["invoice.disputed"] is False
    rig.app.drain(1)
    rig.process()
    updates = rig.requests().get(TASK_UPDATE, 0)
    # Past the due date the derived status is "overdue"; the collector's status holds.
    rig.clock.advance(timedelta(days=8))
    rig.resync()
    assert rig.status(task_id) == "promise to pay"
    assert rig.requests().get(TASK_UPDATE, 0) == updates
    assert set(rig.process()) <= {None}  # arbridge's own field changes (aging)
    ada.set_status(task_id, "overdue")
    assert rig.process() == ["collector.status_changed"]
    assert rig.row(key).collector_status == "overdue"
    assert rig.resync() == 0


def test_a_collectors_comment_is_a_customer_reply(rig: Rig) -> None:
    key, task_id = mirrored(rig, date(2026, 2, 20))
    comment_id = rig.collector().comment(task_id, "Customer called: payment goes out Friday")
    assert rig.process() == ["collector.commented"]
    row = rig.row(key)
    posted = datetime.fromtimestamp(rig.state.comments[comment_id].date / 1000, tz=UTC)
    assert row.customer_replied_at == posted
    assert row.customer_replied_since_last_reminder is True
    assert rig.facts(key)["invoice.customer_replied_since_last_reminder"] is True


def test_an_older_delivery_after_a_newer_one_changes_nothing(rig: Rig) -> None:
    key, task_id = mirrored(rig, date(2026, 2, 20))
    ada = rig.collector()
    ada.set_status(task_id, "disputed")
    ada.set_status(task_id, "promise to pay")
    # Newest first: the change read is the task as it is now; the older event then repeats it.
    assert rig.process(reverse=True) == ["collector.status_changed", None]
    row = rig.row(key)
    assert (row.collector_status, row.disputed_by_collector) == ("promise to pay", False)
    assert rig.fired_rules(key) == []


def test_a_duplicated_delivery_is_processed_once(rig: Rig) -> None:
    _, task_id = mirrored(rig, date(2026, 2, 20))
    rig.collector().comment(task_id, "Will pay next week")
    assert rig.process(duplicate=True) == ["collector.commented"]
    with transaction(rig.app.engine) as session:
        audited = session.exec(
            select(AuditRow).where(AuditRow.action == "collector.commented")
        ).all()
    assert len(audited) == 1
    assert audited[0].reason == "collector ada@example.com"
