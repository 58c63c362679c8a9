"""Disputes at the source, stored so an invoice's task shows "disputed" while one is open."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from arbridge.model.invoice import Dispute, DisputeStatus, SourceVersion
from arbridge.store.tables import DisputeRow


def dispute_key(dispute: Dispute) -> str:
    return f"{dispute.source.value}:{dispute.source_account}:{dispute.source_id}"


def invoice_key_of(dispute: Dispute) -> str | None:
    if dispute.invoice_id is None:
        return None
    return f"{dispute.source.value}:{dispute.source_account}:{dispute.invoice_id}"


def save_dispute(session: Session, dispute: Dispute, now: datetime) -> bool:
    """Store the dispute unless a newer copy is stored; True when stored."""
    key = dispute_key(dispute)
    row = session.get(DisputeRow, key)
    data = dispute.model_dump(mode="json")
    if row is not None:
        stored = SourceVersion(updated_at=row.version_at, sequence=row.version_seq)
        if not dispute.version.is_newer_than(stored):
            return False
    else:
        row = DisputeRow(key=key, status="", reason="", data={}, version_at=now, updated_at=now)
    row.invoice_key = invoice_key_of(dispute)
    row.status = dispute.status.value
    row.reason = dispute.reason
    row.data = data
    row.version_at = dispute.version.updated_at
    row.version_seq = dispute.version.sequence
    row.updated_at = now
    session.add(row)
    return True


def open_disputes(session: Session, invoice_keys: list[str]) -> set[str]:
    """Which of these invoices have a dispute still open."""
    if not invoice_keys:
        return set()
    rows = session.exec(
        select(DisputeRow.invoice_key).where(
            col(DisputeRow.invoice_key).in_(invoice_keys),
            DisputeRow.status == DisputeStatus.OPEN.value,
        )
    ).all()
    return {key for key in rows if key is not None}


def all_disputes(session: Session) -> list[Dispute]:
    rows = session.exec(select(DisputeRow).order_by(col(DisputeRow.key))).all()
    return [Dispute.model_validate(row.data) for row in rows]
