"""Resolved Stripe reads applied to the real store in the wrong order: the newest state stays.

Runs on SQLite and, when ``ARBRIDGE_TEST_DATABASE_URL`` is set, PostgreSQL (the ``engine``
fixture), so the lifecycle sequence is also checked against the store's integer column.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from arbridge_stripe.webhooks import to_inbound
from sqlalchemy import Engine

from arbridge.model.invoice import InvoiceStatus
from arbridge.ports.source import SourceBatch
from arbridge.store import repo
from arbridge.store.db import transaction

from .kit import served


def save(engine: Engine, batch: SourceBatch) -> list[bool]:
    with transaction(engine) as session:
        now = batch.invoices[0].version.updated_at
        for customer in batch.customers:
            repo.save_customer(session, customer, now)
        return [repo.save_invoice(session, invoice, now) for invoice in batch.invoices]


@pytest.mark.parametrize("clock_moves", [True, False], ids=["clock-moves", "frozen-clock"])
def test_late_applied_reads_never_roll_an_invoice_back(engine: Engine, clock_moves: bool) -> None:
    with served() as env:
        source = env.source()
        emulator = env.emulator
        customer = emulator.add_customer("Acme")
        invoice = emulator.issue_invoice(
            customer,
            currency="USD",
            amount=Decimal("900.00"),
            issue_date=date(2026, 3, 2),
            due_date=date(2026, 4, 1),
            terms="Net 30",
        )
        hint = to_inbound(emulator.state.events[-1], "default")  # invoice.finalized
        reads = []
        for amount in (None, Decimal("300.00"), Decimal("600.00")):
            if amount is not None:
                emulator.pay_invoice(invoice, amount)
            if clock_moves:
                env.clock.advance(timedelta(seconds=1))
            reads.append(source.resolve(hint))
        open_read, partial_read, paid_read = reads

        assert save(engine, paid_read) == [True]
        assert save(engine, open_read) == [False]
        assert save(engine, partial_read) == [False]
        with transaction(engine) as session:
            stored = repo.get_invoice(session, f"stripe:default:{invoice}")
        assert stored is not None
        assert (stored.status, stored.balance) == (InvoiceStatus.PAID, Decimal(0))
