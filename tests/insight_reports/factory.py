from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from arbridge.model.invoice import Invoice, InvoiceStatus, SourceVersion

TODAY = date(2026, 3, 4)  # a Wednesday in ISO week 2026-W10


def make_invoice(
    number: str,
    *,
    customer: str = "C1",
    name: str | None = None,
    currency: str = "USD",
    total: str = "100.00",
    balance: str | None = None,
    issue: date = date(2026, 2, 1),
    due: date | None = date(2026, 3, 3),
    status: InvoiceStatus | None = None,
    paid: date | None = None,
    terms: str | None = "Net 30",
    email: str | None = "ap@example.com",
    account: str = "realm-1",
    source: str = "quickbooks",
    source_id: str | None = None,
) -> Invoice:
    amount = Decimal(total)
    left = Decimal(0) if paid is not None else Decimal(balance if balance is not None else total)
    fields: dict[str, Any] = {
        "source": source,
        "source_account": account,
        "source_id": source_id or number,
        "number": number,
        "customer_id": customer,
        "customer_name": name or f"Customer {customer}",
        "issue_date": issue,
        "due_date": due,
        "terms": terms,
        "currency": currency,
        "total": amount,
        "amount_paid": amount - left,
        "balance": left,
        "status": status
        or (
            InvoiceStatus.PAID
            if paid is not None
            else InvoiceStatus.PARTIALLY_PAID
            if left < amount
            else InvoiceStatus.OPEN
        ),
        "paid_date": paid,
        "billing_email": email,
        "version": SourceVersion(updated_at=datetime(2026, 1, 1, tzinfo=UTC)),
    }
    return Invoice(**fields)
