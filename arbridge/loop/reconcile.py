"""Accept a canonical change and queue the task operations it implies, in one transaction.

The one way into the outbox: a source change, a resync and a rule firing all come here, build
the desired task (the mirror, the rules' status, priority and assignees, and a firing's desired
effects), let the pure planner diff it against the planned state, and queue the difference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from arbridge.clock import Clock
from arbridge.core.desired import RuleState, desired_task
from arbridge.core.held import collector_hold, keep_unmapped_status
from arbridge.core.ops import PlannedOp, apply_op
from arbridge.core.plan import plan
from arbridge.insight.checks import check_invoice, summarise
from arbridge.loop.predictions import InsightEngine, get_predictions, insight_facts
from arbridge.model.invoice import Customer, Invoice, InvoiceStatus
from arbridge.store import outbox, repo
from arbridge.store.db import transaction
from arbridge.store.tables import CollectionRow, PredictionRow, TaskLinkRow

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ReconcileResult:
    stored: bool
    ops: tuple[PlannedOp, ...]
    # The stored status before this change: None for an invoice seen for the first time.
    previous_status: str | None = None


def same_content(stored: dict[str, Any], invoice: Invoice) -> bool:
    """Whether ``invoice`` says the same as the stored row's data, versions aside."""
    incoming = invoice.model_dump(mode="json")
    return {k: v for k, v in stored.items() if k != "version"} == {
        k: v for k, v in incoming.items() if k != "version"
    }


def rule_state(row: CollectionRow | None) -> RuleState | None:
    if row is None:
        return None
    return RuleState(
        status=row.status,
        priority=row.priority,
        assignees=tuple(row.assignees),
        collector=collector_hold(row.collector_status, row.disputed_by_collector),
    )


class Reconciler:
    """Turns canonical invoices into queued task operations (level-triggered: the same input
    twice queues nothing the second time)."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        owned: frozenset[str],
        timezone: str,
        *,
        dry_run: bool = False,
        insight: InsightEngine | None = None,
    ) -> None:
        self.engine = engine
        self.insight = insight
        # Dry run: plan and log everything inside transactions that are rolled back.
        self.dry_run = dry_run
        self.clock = clock
        self.owned = owned
        self.zone = ZoneInfo(timezone)

    def today(self) -> date:
        return self.clock.now().astimezone(self.zone).date()

    def upsert(
        self, invoice: Invoice, customer: Customer | None = None, *, reason: str = "source change"
    ) -> ReconcileResult:
        """Store the invoice (unless older than what is stored) and queue its task changes."""
        for attempt in range(2):
            try:
                with transaction(self.engine, rollback=self.dry_run) as session:
                    if customer is not None:
                        repo.save_customer(session, customer, self.clock.now())
                    before = repo.lock_invoice(session, invoice.key)
                    previous = None if before is None else before.status
                    if before is not None and same_content(before.data, invoice):
                        # A re-read (poll, sweep, duplicate webhook) of what is stored: keep the
                        # newer version so older events stay refused, and do nothing else.
                        repo.save_invoice(session, invoice, self.clock.now())
                        return ReconcileResult(stored=False, ops=(), previous_status=previous)
                    if not repo.save_invoice(session, invoice, self.clock.now()):
                        log.info(
                            "stale invoice ignored",
                            source=invoice.source.value,
                            invoice=invoice.source_id,
                        )
                        return ReconcileResult(stored=False, ops=(), previous_status=previous)
                    if self.insight is not None:
                        self.insight.record(session, invoice, self.today(), self.clock.now())
                    ops = self._plan_in(session, invoice, customer, reason)
                    return ReconcileResult(stored=True, ops=tuple(ops), previous_status=previous)
            except IntegrityError:
                # Two writers inserted the same new invoice at once; the second retry sees it.
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def resync(self, keys: list[str], *, reason: str = "resync") -> list[PlannedOp]:
        """Re-derive stored invoices' tasks (the date alone may move one to a new bucket)."""
        ops: list[PlannedOp] = []
        with transaction(self.engine, rollback=self.dry_run) as session:
            # One query per table for the whole batch: a daily resync touches every invoice.
            invoices = repo.lock_invoices(session, keys)
            links = repo.get_links(session, keys)
            customers = repo.get_customers(session, {i.customer_key for i in invoices})
            predictions = get_predictions(session, keys)
            collections = repo.get_collections(session, keys)
            for invoice in invoices:
                customer = customers.get(invoice.customer_key)
                link = links.get(invoice.key)
                ops.extend(
                    self._plan_in(
                        session,
                        invoice,
                        customer,
                        reason,
                        link=link,
                        prediction=predictions.get(invoice.key),
                        collection=collections.get(invoice.key),
                    )
                )
        return ops

    def replan(
        self,
        session: Session,
        invoice: Invoice,
        *,
        reason: str,
        effects: Sequence[PlannedOp] = (),
    ) -> list[PlannedOp]:
        """Plan one invoice inside a caller's transaction (a rule changed what it should be;
        ``effects``: what the firing wants on the task besides, see ``arbridge.core.effects``)."""
        return self._plan_in(session, invoice, None, reason, effects=effects)

    def resync_all(self, *, reason: str = "resync", batch: int = 200) -> int:
        """Re-derive every stored invoice, a batch per transaction; returns operations queued."""
        with transaction(self.engine, rollback=self.dry_run) as session:
            keys = repo.invoice_keys(session)
        return sum(
            len(self.resync(keys[i : i + batch], reason=reason)) for i in range(0, len(keys), batch)
        )

    def _checks(self, session: Session, invoice: Invoice) -> str:
        # A sent invoice is judged as of its issue date: "due date already past" is news on a
        # draft, not on last month's invoice arriving in a backfill.
        today = self.today() if invoice.status is InvoiceStatus.DRAFT else invoice.issue_date
        others = repo.invoices_numbered(session, invoice.number)
        return summarise(check_invoice(invoice, today=today, others=others)) or ""

    def _plan_in(
        self,
        session: Session,
        invoice: Invoice,
        customer: Customer | None,
        reason: str,
        *,
        link: TaskLinkRow | Literal["load"] | None = "load",
        prediction: PredictionRow | Literal["load"] | None = "load",
        collection: CollectionRow | Literal["load"] | None = "load",
        effects: Sequence[PlannedOp] = (),
    ) -> list[PlannedOp]:
        if customer is None:
            customer = repo.get_customer(session, invoice.customer_key)
        if prediction == "load":
            prediction = get_predictions(session, [invoice.key]).get(invoice.key)
        insight = insight_facts(prediction)
        if link == "load":
            link = repo.get_link(session, invoice.key)
        checks = None
        if "invoice_checks" in self.owned and (
            invoice.status is InvoiceStatus.DRAFT or link is None
        ):
            checks = self._checks(session, invoice)
        collected = session.get(CollectionRow, invoice.key) if collection == "load" else collection
        rules = rule_state(collected)
        desired = desired_task(invoice, customer, self.today(), self.owned, insight, checks, rules)
        planned = None if link is None else link.planned
        desired = keep_unmapped_status(desired, rules, planned, invoice.is_receivable)
        ops = plan(desired, planned, effects)
        if not ops:
            return []
        generation = 0 if link is None else link.generation
        state = planned
        now = self.clock.now()
        for index, op in enumerate(ops):
            outbox.enqueue(
                session,
                task_key=invoice.key,
                kind=op.kind,
                payload=op.payload,
                idempotency_key=f"{invoice.key}|{generation + 1}|{index}|{op.kind.value}",
                now=now,
                reason=reason,
                coalesce_key=op.coalesce_key,
            )
            state = apply_op(state, op.kind, op.payload)
        assert state is not None
        repo.set_planned(session, invoice.key, state, now, link=link)
        log.info(
            "task changes planned (dry run, not queued)" if self.dry_run else "task changes queued",
            source=invoice.source.value,
            invoice=invoice.source_id,
            ops=[op.kind.value for op in ops],
            reason=reason,
        )
        return ops
