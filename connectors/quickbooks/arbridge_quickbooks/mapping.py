"""QuickBooks Online JSON -> canonical customers, invoices and payments.

Works on the decoded JSON (amounts already ``Decimal``) rather than python-quickbooks objects:
its ``from_json`` copies values without converting them and adds defaults that were never sent,
so the typed field reads below are both shorter and stricter. The contract tests check that
the same payloads parse with python-quickbooks' models.

QuickBooks has no paid/void status field: paid is ``Balance == 0`` on a non-zero total, part
paid is ``0 < Balance < TotalAmt``, and a voided invoice keeps its lines at zero with
"Voided" at the front of ``PrivateNote``. Overdue is the engine's business (``DueDate`` and the
balance are carried over as they are).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from arbridge.api import (
    Customer,
    Invoice,
    InvoiceStatus,
    Money,
    Payment,
    Source,
    SourceVersion,
    quantize,
)

# webhooks.py names the error from here.
from arbridge.api import MappingError as MappingError

# Objects of this connector carry its name as their source.
SOURCE = Source("quickbooks")

VOID_MARK = "Voided"


def _ref(obj: dict[str, Any], key: str) -> tuple[str | None, str | None]:
    ref = obj.get(key)
    if not isinstance(ref, dict):
        return None, None
    value = ref.get("value")
    name = ref.get("name")
    return (str(value) if value is not None else None, str(name) if name else None)


def _amount(obj: dict[str, Any], key: str, currency: str) -> Decimal:
    raw = obj.get(key, 0)
    try:
        return quantize(Decimal(str(raw)), currency)
    except (ArithmeticError, ValueError):
        raise MappingError(f"{key} {raw!r} is not an amount") from None


def parse_time(text: str) -> datetime:
    """Intuit's times: ``2015-10-05T14:42:19-0700``, ``...-07:00`` or ``...Z``."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    if len(value) > 5 and value[-5] in "+-" and value[-3] != ":":
        value = value[:-2] + ":" + value[-2:]
    # Python 3.11 accepts at most microseconds; Intuit sends nanoseconds in CloudEvents.
    value = re.sub(r"\.(\d{6})\d+", r".\1", value)
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise MappingError(f"time {text!r} has no offset")
    return parsed


def _date(obj: dict[str, Any], key: str) -> date | None:
    raw = obj.get(key)
    if not raw:
        return None
    try:
        return date.fromisoformat(str(raw)[:10])
    except ValueError:
        raise MappingError(f"{key} {raw!r} is not a date") from None


def version_of(obj: dict[str, Any]) -> SourceVersion:
    meta = obj.get("MetaData")
    updated = meta.get("LastUpdatedTime") if isinstance(meta, dict) else None
    if not updated:
        raise MappingError(f"object {obj.get('Id')!r} has no MetaData.LastUpdatedTime")
    try:
        sequence = int(str(obj.get("SyncToken", "0")))
    except ValueError:
        sequence = 0
    return SourceVersion(updated_at=parse_time(str(updated)), sequence=sequence)


def currency_of(obj: dict[str, Any], home_currency: str) -> str:
    """``CurrencyRef`` is left out by companies without multicurrency: home currency then."""
    code, _ = _ref(obj, "CurrencyRef")
    return (code or home_currency).upper()


def is_voided(obj: dict[str, Any]) -> bool:
    note = str(obj.get("PrivateNote") or "")
    return note.startswith(VOID_MARK) and Decimal(str(obj.get("TotalAmt", 0))) == 0


def invoice_status(total: Decimal, balance: Decimal, voided: bool) -> InvoiceStatus:
    if voided:
        return InvoiceStatus.VOID
    if balance == 0:
        return InvoiceStatus.PAID
    if balance < total:
        return InvoiceStatus.PARTIALLY_PAID
    return InvoiceStatus.OPEN


def to_customer(obj: dict[str, Any], realm_id: str) -> Customer:
    email = obj.get("PrimaryEmailAddr")
    name = obj.get("DisplayName") or obj.get("CompanyName") or obj.get("FullyQualifiedName")
    return Customer(
        source=SOURCE,
        source_account=realm_id,
        source_id=str(obj["Id"]),
        name=str(name or f"Customer {obj['Id']}"),
        email=str(email["Address"]) if isinstance(email, dict) and email.get("Address") else None,
    )


def to_invoice(
    obj: dict[str, Any],
    realm_id: str,
    home_currency: str,
    *,
    paid_date: date | None = None,
) -> Invoice:
    """``paid_date``: when the caller knows the paying payment's date; otherwise the day
    QuickBooks last changed a fully paid invoice stands in for it."""
    try:
        source_id = str(obj["Id"])
    except KeyError:
        raise MappingError("invoice without Id") from None
    currency = currency_of(obj, home_currency)
    total = _amount(obj, "TotalAmt", currency)
    balance = _amount(obj, "Balance", currency)
    voided = is_voided(obj)
    if voided:
        balance = Decimal(0)
    if balance > total:
        raise MappingError(f"invoice {source_id}: Balance {balance} exceeds TotalAmt {total}")
    status = invoice_status(total, balance, voided)
    version = version_of(obj)
    customer_id, customer_name = _ref(obj, "CustomerRef")
    if customer_id is None:
        raise MappingError(f"invoice {source_id} has no CustomerRef")
    issue_date = _date(obj, "TxnDate") or version.updated_at.date()
    _, term_name = _ref(obj, "SalesTermRef")
    email = obj.get("BillEmail")
    if status is InvoiceStatus.PAID and paid_date is None:
        paid_date = version.updated_at.date()
    return Invoice(
        source=SOURCE,
        source_account=realm_id,
        source_id=source_id,
        number=str(obj.get("DocNumber") or source_id),
        customer_id=customer_id,
        customer_name=customer_name or f"Customer {customer_id}",
        issue_date=issue_date,
        due_date=_date(obj, "DueDate"),
        terms=term_name,
        currency=currency,
        total=total,
        amount_paid=total - balance if not voided else Decimal(0),
        balance=balance,
        status=status,
        paid_date=paid_date if status is InvoiceStatus.PAID else None,
        link=str(obj["InvoiceLink"]) if obj.get("InvoiceLink") else None,
        billing_email=(
            str(email["Address"]) if isinstance(email, dict) and email.get("Address") else None
        ),
        version=version,
    )


def linked_invoice_ids(obj: dict[str, Any]) -> tuple[str, ...]:
    """The invoices a payment (or credit memo) is applied to, in first-seen order."""
    found: list[str] = []
    for line in obj.get("Line") or []:
        links = line.get("LinkedTxn") if isinstance(line, dict) else None
        for link in links or []:
            txn = str(link.get("TxnId"))
            if link.get("TxnType") == "Invoice" and txn not in found:
                found.append(txn)
    invoice_ref, _ = _ref(obj, "InvoiceRef")
    if invoice_ref and invoice_ref not in found:
        found.append(invoice_ref)
    return tuple(found)


def to_payment(obj: dict[str, Any], realm_id: str, home_currency: str) -> Payment:
    currency = currency_of(obj, home_currency)
    customer_id, _ = _ref(obj, "CustomerRef")
    if customer_id is None:
        raise MappingError(f"payment {obj.get('Id')!r} has no CustomerRef")
    version = version_of(obj)
    return Payment(
        source=SOURCE,
        source_account=realm_id,
        source_id=str(obj["Id"]),
        customer_id=customer_id,
        amount=Money(amount=_amount(obj, "TotalAmt", currency), currency=currency),
        received_date=_date(obj, "TxnDate") or version.updated_at.date(),
        invoice_ids=linked_invoice_ids(obj),
        version=version,
    )


def is_deleted_stub(obj: dict[str, Any]) -> bool:
    return str(obj.get("status", "")).lower() == "deleted"
