"""Payment history rows <-> the records the predictor learns from."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from sqlmodel import Session, col, select

from arbridge.insight.history import PaymentRecord
from arbridge.store.tables import PaymentHistoryRow


def save_records(
    session: Session, records: Iterable[PaymentRecord], *, origin: str, now: datetime
) -> int:
    """Insert or update by (customer, invoice); returns how many rows were written."""
    written = 0
    for record in records:
        row = session.exec(
            select(PaymentHistoryRow).where(
                PaymentHistoryRow.customer_id == record.customer_id,
                PaymentHistoryRow.invoice_id == record.invoice_id,
            )
        ).first() or PaymentHistoryRow(
            customer_id=record.customer_id,
            invoice_id=record.invoice_id,
            issue_date=record.issue_date,
            due_date=record.due_date,
            amount=str(record.amount),
            currency=record.currency,
            attributes={},
            origin=origin,
            updated_at=now,
        )
        row.issue_date = record.issue_date
        row.due_date = record.due_date
        row.amount = str(record.amount)
        row.currency = record.currency
        row.paid_date = record.paid_date
        row.disputed = record.disputed
        row.attributes = dict(record.attributes)
        row.origin = origin
        row.updated_at = now
        session.add(row)
        written += 1
    return written


def load_records(session: Session) -> list[PaymentRecord]:
    rows = session.exec(select(PaymentHistoryRow).order_by(col(PaymentHistoryRow.id))).all()
    return [
        PaymentRecord(
            customer_id=row.customer_id,
            invoice_id=row.invoice_id,
            issue_date=row.issue_date,
            due_date=row.due_date,
            amount=Decimal(row.amount),
            currency=row.currency,
            paid_date=row.paid_date,
            disputed=row.disputed,
            attributes={str(k): str(v) for k, v in row.attributes.items()},
        )
        for row in rows
    ]
