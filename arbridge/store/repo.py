"""Small repositories mapping rows to the canonical model."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from arbridge.model.invoice import Customer, Invoice
from arbridge.store.tables import (
    AuditRow,
    CollectionRow,
    CursorRow,
    CustomerRow,
    InvoiceRow,
    TaskLinkRow,
)


def save_customer(session: Session, customer: Customer, now: datetime) -> None:
    row = session.get(CustomerRow, customer.key)
    data = customer.model_dump(mode="json")
    if row is None:
        session.add(
            CustomerRow(
                key=customer.key,
                source=customer.source.value,
                source_account=customer.source_account,
                name=customer.name,
                data=data,
                updated_at=now,
            )
        )
        return
    row.name = customer.name
    row.data = data
    row.updated_at = now
    session.add(row)


def get_customer(session: Session, key: str) -> Customer | None:
    row = session.get(CustomerRow, key)
    return None if row is None else Customer.model_validate(row.data)


def lock_invoice(session: Session, key: str) -> InvoiceRow | None:
    """The stored row, locked against concurrent writers of the same invoice (PostgreSQL)."""
    statement = select(InvoiceRow).where(InvoiceRow.key == key).with_for_update()
    return session.exec(statement).first()


def save_invoice(session: Session, invoice: Invoice, now: datetime) -> bool:
    """Store ``invoice`` unless a newer version is already stored; True when stored."""
    row = lock_invoice(session, invoice.key)
    data = invoice.model_dump(mode="json")
    if row is None:
        session.add(
            InvoiceRow(
                key=invoice.key,
                source=invoice.source.value,
                source_account=invoice.source_account,
                source_id=invoice.source_id,
                number=invoice.number,
                customer_key=invoice.customer_key,
                status=invoice.status.value,
                data=data,
                version_at=invoice.version.updated_at,
                version_seq=invoice.version.sequence,
                updated_at=now,
            )
        )
        return True
    stored = (row.version_at, row.version_seq)
    incoming = (invoice.version.updated_at, invoice.version.sequence)
    if incoming < stored:
        return False
    if incoming == stored and row.data == data:
        return True
    row.number = invoice.number
    row.customer_key = invoice.customer_key
    row.status = invoice.status.value
    row.data = data
    row.version_at = invoice.version.updated_at
    row.version_seq = invoice.version.sequence
    row.updated_at = now
    session.add(row)
    return True


def keep_newer_version(session: Session, row: InvoiceRow, invoice: Invoice, now: datetime) -> None:
    """Move an already loaded (and locked) row to ``invoice``'s version when that is newer;
    its content is the same (see ``BatchApplier``)."""
    incoming = (invoice.version.updated_at, invoice.version.sequence)
    if incoming <= (row.version_at, row.version_seq):
        return
    row.data = invoice.model_dump(mode="json")
    row.version_at = invoice.version.updated_at
    row.version_seq = invoice.version.sequence
    row.updated_at = now
    session.add(row)


def get_invoice(session: Session, key: str) -> Invoice | None:
    row = session.get(InvoiceRow, key)
    return None if row is None else Invoice.model_validate(row.data)


def invoices_numbered(session: Session, number: str) -> list[Invoice]:
    rows = session.exec(select(InvoiceRow).where(InvoiceRow.number == number)).all()
    return [Invoice.model_validate(row.data) for row in rows]


def invoice_keys(session: Session) -> list[str]:
    return list(session.exec(select(InvoiceRow.key).order_by(col(InvoiceRow.key))).all())


def iter_invoices(session: Session, batch: int = 500) -> Iterator[Invoice]:
    last = ""
    while True:
        rows = session.exec(
            select(InvoiceRow)
            .where(InvoiceRow.key > last)
            .order_by(col(InvoiceRow.key))
            .limit(batch)
        ).all()
        if not rows:
            return
        for row in rows:
            yield Invoice.model_validate(row.data)
        last = rows[-1].key


def get_link(session: Session, invoice_key: str) -> TaskLinkRow | None:
    return session.get(TaskLinkRow, invoice_key)


def get_links(session: Session, keys: list[str]) -> dict[str, TaskLinkRow]:
    rows = session.exec(select(TaskLinkRow).where(col(TaskLinkRow.invoice_key).in_(keys))).all()
    return {row.invoice_key: row for row in rows}


def lock_invoices(session: Session, keys: list[str]) -> list[Invoice]:
    """The stored invoices among ``keys``, locked against concurrent writers (PostgreSQL)."""
    return [Invoice.model_validate(row.data) for row in invoice_rows(session, keys).values()]


def get_collections(session: Session, keys: list[str]) -> dict[str, CollectionRow]:
    rows = session.exec(select(CollectionRow).where(col(CollectionRow.invoice_key).in_(keys)))
    return {row.invoice_key: row for row in rows}


def invoice_rows(session: Session, keys: list[str]) -> dict[str, InvoiceRow]:
    """The stored rows among ``keys``, locked against concurrent writers (PostgreSQL)."""
    if not keys:
        return {}
    rows = session.exec(
        select(InvoiceRow)
        .where(col(InvoiceRow.key).in_(keys))
        .order_by(col(InvoiceRow.key))
        .with_for_update()
    ).all()
    return {row.key: row for row in rows}


def get_customers(session: Session, keys: set[str]) -> dict[str, Customer]:
    rows = session.exec(select(CustomerRow).where(col(CustomerRow.key).in_(keys))).all()
    return {row.key: Customer.model_validate(row.data) for row in rows}


def set_planned(
    session: Session,
    invoice_key: str,
    planned: dict[str, Any],
    now: datetime,
    *,
    link: TaskLinkRow | None,
) -> None:
    """Record the state queued operations will leave the task in (``link``: the loaded row)."""
    if link is None:
        link = TaskLinkRow(invoice_key=invoice_key, created_at=now, updated_at=now)
    link.planned = planned
    link.generation += 1
    link.updated_at = now
    session.add(link)


def get_cursor(session: Session, name: str) -> str | None:
    row = session.get(CursorRow, name)
    return None if row is None else row.value


def set_cursor(session: Session, name: str, value: str, now: datetime) -> None:
    row = session.get(CursorRow, name) or CursorRow(name=name, value=value, updated_at=now)
    row.value = value
    row.updated_at = now
    session.add(row)


def audit(
    session: Session,
    *,
    at: datetime,
    invoice_key: str,
    action: str,
    outcome: str,
    reason: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditRow(
            at=at,
            invoice_key=invoice_key,
            action=action,
            reason=reason,
            outcome=outcome,
            detail=detail or {},
        )
    )
