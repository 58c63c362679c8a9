"""Canonical objects from a source into the store: invoices, customers, disputes, deletions.

A source reports what it sees; this module decides what that means for the stored invoice.
An open dispute overlays the invoice's status with "disputed" whatever the source's own status
says, and closing it gives the status back; a deleted invoice closes its task as void. Every
write goes through the reconciler's version check, so a batch from an old event is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

import structlog
from sqlalchemy import Engine

from arbridge.clock import Clock
from arbridge.loop.reconcile import ReconcileResult, same_content
from arbridge.model.invoice import Customer, Invoice, InvoiceStatus, SourceVersion
from arbridge.ports.source import SourceBatch
from arbridge.store import disputes, repo
from arbridge.store.db import transaction

log = structlog.get_logger(__name__)

# Statuses a dispute overlays: the money was billed, and is owed or was paid and is contested.
_DISPUTABLE = frozenset({InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.PAID})


class Ingestor(Protocol):
    engine: Engine
    clock: Clock

    def ingest(
        self, invoice: Invoice, customer: Customer | None = None, *, reason: str = ...
    ) -> ReconcileResult: ...


@dataclass
class Applied:
    customers: int = 0
    invoices: int = 0  # stored (newer than what was there)
    stale: int = 0  # older than or equal to the stored copy: ignored
    disputes: int = 0
    deleted: int = 0

    def add(self, other: Applied) -> None:
        self.customers += other.customers
        self.invoices += other.invoices
        self.stale += other.stale
        self.disputes += other.disputes
        self.deleted += other.deleted


def settled_status(invoice: Invoice) -> InvoiceStatus:
    """The status an invoice has on its own, from its amounts."""
    if invoice.balance == 0:
        return InvoiceStatus.PAID
    if invoice.amount_paid > 0:
        return InvoiceStatus.PARTIALLY_PAID
    return InvoiceStatus.OPEN


def overlay_dispute(invoice: Invoice, disputed: bool) -> Invoice:
    if disputed and invoice.status in _DISPUTABLE:
        return invoice.model_copy(update={"status": InvoiceStatus.DISPUTED})
    if not disputed and invoice.status is InvoiceStatus.DISPUTED:
        return invoice.model_copy(update={"status": settled_status(invoice)})
    return invoice


def bumped(stored: SourceVersion, at: datetime) -> SourceVersion:
    """A version just newer than ``stored``, at ``at`` when that is later."""
    if at > stored.updated_at:
        return SourceVersion(updated_at=at, sequence=stored.sequence)
    return SourceVersion(updated_at=stored.updated_at, sequence=stored.sequence + 1)


class BatchApplier:
    def __init__(self, target: Ingestor) -> None:
        self.target = target

    def apply(self, batch: SourceBatch, *, reason: str) -> Applied:
        applied = Applied()
        engine, now = self.target.engine, self.target.clock.now()
        by_key = {c.key: c for c in batch.customers}
        if batch.customers:
            applied.customers = self._save_customers(batch.customers, now)
        if batch.invoices:
            keys = [i.key for i in batch.invoices]
            with transaction(engine) as session:
                open_ = disputes.open_disputes(session, keys)
                stored_customers = repo.get_customers(
                    session, {i.customer_key for i in batch.invoices} - set(by_key)
                )
            changed = self._drop_unchanged(
                [overlay_dispute(i, i.key in open_) for i in batch.invoices], now
            )
            applied.stale += len(batch.invoices) - len(changed)
            for invoice in changed:
                owner = by_key.get(invoice.customer_key) or stored_customers.get(
                    invoice.customer_key
                )
                result = self.target.ingest(invoice, owner, reason=reason)
                if result.stored:
                    applied.invoices += 1
                else:
                    applied.stale += 1
        for dispute in batch.disputes:
            with transaction(engine) as session:
                if not disputes.save_dispute(session, dispute, now):
                    applied.stale += 1
                    continue
                invoice_key = disputes.invoice_key_of(dispute)
                stored = None if invoice_key is None else repo.get_invoice(session, invoice_key)
                is_open = bool(invoice_key) and invoice_key in disputes.open_disputes(
                    session, [invoice_key or ""]
                )
            applied.disputes += 1
            if stored is None:
                log.warning(
                    "dispute for an invoice not seen yet",
                    source=dispute.source.value,
                    dispute=dispute.source_id,
                )
                continue
            restated = overlay_dispute(stored, is_open)
            if restated.status is not stored.status:
                version = bumped(stored.version, dispute.version.updated_at)
                self._restate(restated.model_copy(update={"version": version}), reason)
        for deleted in batch.deleted:
            with transaction(engine) as session:
                stored = repo.get_invoice(session, deleted.key)
            if stored is None or stored.status is InvoiceStatus.VOID:
                continue
            void = stored.model_copy(
                update={
                    "status": InvoiceStatus.VOID,
                    "balance": Decimal(0),
                    "version": bumped(stored.version, deleted.deleted_at),
                }
            )
            self._restate(void, f"{reason}: deleted at the source")
            applied.deleted += 1
        return applied

    def _save_customers(self, customers: list[Customer], now: datetime) -> int:
        """Store new or changed customers in one transaction; returns how many."""
        with transaction(self.target.engine) as session:
            stored = repo.get_customers(session, {c.key for c in customers})
            fresh = [c for c in customers if stored.get(c.key) != c]
            for customer in fresh:
                repo.save_customer(session, customer, now)
        return len(fresh)

    def _drop_unchanged(self, invoices: list[Invoice], now: datetime) -> list[Invoice]:
        """The invoices that say something new. A sweep or poll re-reads the whole book: the
        unchanged ones only get their newer version stored, all in one transaction, so a
        re-read costs one commit instead of one per invoice."""
        with transaction(self.target.engine) as session:
            rows = repo.invoice_rows(session, [i.key for i in invoices])
            changed = []
            for invoice in invoices:
                row = rows.get(invoice.key)
                if row is not None and same_content(row.data, invoice):
                    repo.keep_newer_version(session, row, invoice, now)
                else:
                    changed.append(invoice)
        return changed

    def _restate(self, invoice: Invoice, reason: str) -> None:
        with transaction(self.target.engine) as session:
            customer = repo.get_customer(session, invoice.customer_key)
        # model_copy skips validation; re-validate so a restated invoice obeys the model too.
        self.target.ingest(Invoice.model_validate(invoice.model_dump()), customer, reason=reason)
