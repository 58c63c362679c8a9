"""Stripe objects (plain dicts, API 2026-10-28) to canonical ones.

Amounts are integers in the currency's smallest unit (``1000`` USD is 10.00, ``1000`` JPY is
1,000 yen). Dates are read in the company's time zone.

Versions. Stripe objects carry no "last updated" time and events arrive late, twice and out
of order, so arbridge never trusts an event payload for state: the source re-reads the object
and the read is the truth as of the moment it was made. ``SourceVersion.updated_at`` is that
moment (the clock, taken when the answer arrived), so a later read always wins. Reads that
share a timestamp (a frozen test clock) are ordered by ``sequence``: how far the object has
moved along its one-way lifecycle (draft < open < uncollectible < paid | void, and within a
status the share of the total paid). Stripe never moves an invoice backwards along it, so the
more advanced copy is the newer one.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from arbridge.api import (
    Customer,
    DeletedInvoice,
    Dispute,
    DisputeStatus,
    Invoice,
    InvoiceStatus,
    MappingError,
    Money,
    Payment,
    Source,
    SourceVersion,
)

# Objects of this connector carry its name as their source.
SOURCE = Source("stripe")

_STATUS_RANK = {"draft": 0, "open": 1, "uncollectible": 2, "paid": 3, "void": 3}
_RANK_STEP = 1_000_000
_DISPUTE_RANK = {
    "warning_needs_response": 0,
    "needs_response": 0,
    "warning_under_review": 1,
    "under_review": 1,
}
_DISPUTE_CLOSED = {
    "won": DisputeStatus.WON,
    "warning_closed": DisputeStatus.WON,  # an inquiry that never became a chargeback
    "prevented": DisputeStatus.WON,
    "lost": DisputeStatus.LOST,
}


def _timestamp(value: Any) -> datetime | None:
    if value is None:
        return None
    return datetime.fromtimestamp(int(value), tz=UTC)


def _day(value: Any, zone: tzinfo) -> date | None:
    moment = _timestamp(value)
    return None if moment is None else moment.astimezone(zone).date()


def _money(minor: Any, currency: str) -> Decimal:
    return Money.from_minor(int(minor or 0), currency).amount


def _id_of(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return str(value["id"])
    return None


def invoice_sequence(obj: dict[str, Any]) -> int:
    rank = _STATUS_RANK.get(str(obj.get("status")), 0)
    total = int(obj.get("total") or 0)
    paid = int(obj.get("amount_paid") or 0)
    share = min(_RANK_STEP - 1, paid * (_RANK_STEP - 1) // total) if total > 0 else 0
    return rank * _RANK_STEP + max(0, share)


def canonical_status(obj: dict[str, Any]) -> InvoiceStatus:
    status = obj.get("status")
    if status == "open":
        paid, remaining = int(obj.get("amount_paid") or 0), int(obj.get("amount_remaining") or 0)
        partial = paid > 0 and remaining > 0
        return InvoiceStatus.PARTIALLY_PAID if partial else InvoiceStatus.OPEN
    try:
        return InvoiceStatus(str(status))
    except ValueError:
        raise MappingError(
            f"Stripe invoice {obj.get('id')} has unknown status {status!r}"
        ) from None


def map_invoice(obj: dict[str, Any], *, account: str, read_at: datetime, zone: tzinfo) -> Invoice:
    """``obj`` as read from the API (``customer`` may be expanded)."""
    try:
        return _map_invoice(obj, account=account, read_at=read_at, zone=zone)
    except (ValidationError, ValueError, KeyError, TypeError) as exc:
        detail = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        raise MappingError(f"Stripe invoice {obj.get('id')} cannot be read: {detail}") from None


def _map_invoice(obj: dict[str, Any], *, account: str, read_at: datetime, zone: tzinfo) -> Invoice:
    invoice_id = str(obj["id"])
    currency = str(obj["currency"]).upper()
    customer = obj.get("customer")
    customer_id = _id_of(customer)
    if customer_id is None:
        raise MappingError(f"Stripe invoice {invoice_id} has no customer")
    expanded = customer if isinstance(customer, dict) else {}
    status = canonical_status(obj)
    total = _money(obj.get("total"), currency)
    amount_paid = _money(obj.get("amount_paid"), currency)
    if status in (InvoiceStatus.PAID, InvoiceStatus.VOID):
        # Nothing is owed on a closed invoice, whatever amount_remaining still says.
        balance = Decimal(0)
    else:
        balance = min(total, _money(obj.get("amount_remaining"), currency))
    transitions = obj.get("status_transitions") or {}
    issued = obj.get("effective_at") or transitions.get("finalized_at") or obj.get("created")
    issue_date = _day(issued, zone)
    if issue_date is None:
        raise MappingError(f"Stripe invoice {invoice_id} has no creation time")
    metadata = obj.get("metadata") or {}
    name = obj.get("customer_name") or expanded.get("name") or expanded.get("email")
    return Invoice(
        source=SOURCE,
        source_account=account,
        source_id=invoice_id,
        number=str(obj.get("number") or invoice_id),
        customer_id=customer_id,
        customer_name=str(name or customer_id),
        issue_date=issue_date,
        due_date=_day(obj.get("due_date"), zone),
        terms=metadata.get("terms") or None,
        currency=currency,
        total=total,
        amount_paid=amount_paid,
        balance=balance,
        status=status,
        paid_date=_day(transitions.get("paid_at"), zone),
        link=obj.get("hosted_invoice_url"),
        billing_email=obj.get("customer_email") or expanded.get("email"),
        version=SourceVersion(updated_at=read_at, sequence=invoice_sequence(obj)),
    )


def map_payments(
    obj: dict[str, Any], *, account: str, read_at: datetime, zone: tzinfo
) -> list[Payment]:
    """The invoice's successful ``invoice_payment`` objects (present when ``payments`` was
    expanded). A payment's amount never changes once paid, so its version is its paid time."""
    payments = obj.get("payments")
    items = payments.get("data") if isinstance(payments, dict) else None
    customer_id = _id_of(obj.get("customer"))
    if not isinstance(items, list) or customer_id is None:
        return []
    found = []
    for item in items:
        paid_at = (item.get("status_transitions") or {}).get("paid_at")
        if item.get("status") != "paid" or paid_at is None:
            continue
        currency = str(item.get("currency") or obj["currency"])
        received = _timestamp(paid_at) or read_at
        found.append(
            Payment(
                source=SOURCE,
                source_account=account,
                source_id=str(item["id"]),
                customer_id=customer_id,
                amount=Money.from_minor(int(item.get("amount_paid") or 0), currency),
                received_date=received.astimezone(zone).date(),
                invoice_ids=(str(obj["id"]),),
                version=SourceVersion(updated_at=received),
            )
        )
    return found


def map_customer(obj: dict[str, Any], *, account: str) -> Customer:
    customer_id = str(obj["id"])
    name = obj.get("name") or obj.get("email") or customer_id
    return Customer(
        source=SOURCE,
        source_account=account,
        source_id=customer_id,
        name=str(name),
        email=obj.get("email"),
    )


def dispute_status(obj: dict[str, Any]) -> DisputeStatus:
    return _DISPUTE_CLOSED.get(str(obj.get("status")), DisputeStatus.OPEN)


def map_dispute(
    obj: dict[str, Any], *, account: str, invoice_id: str | None, read_at: datetime
) -> Dispute:
    status = str(obj.get("status"))
    rank = 2 if status in _DISPUTE_CLOSED else _DISPUTE_RANK.get(status, 0)
    opened_at = _timestamp(obj.get("created")) or read_at
    return Dispute(
        source=SOURCE,
        source_account=account,
        source_id=str(obj["id"]),
        invoice_id=invoice_id,
        amount=Money.from_minor(int(obj.get("amount") or 0), str(obj["currency"])),
        reason=str(obj.get("reason") or "general"),
        status=dispute_status(obj),
        opened_at=opened_at,
        version=SourceVersion(updated_at=read_at, sequence=rank),
    )


def deleted_invoice(invoice_id: str, *, account: str, at: datetime) -> DeletedInvoice:
    return DeletedInvoice(
        source=SOURCE, source_account=account, source_id=invoice_id, deleted_at=at
    )
