"""Data checks for draft and newly created invoices: mistakes a collector would otherwise find
only when the customer refuses to pay.

Each problem is a ``Finding`` (a stable code and a message in plain words). The checks:

=========================  ===============================================================
``missing_billing_email``  no billing email: reminders cannot be sent
``missing_due_date``       no due date
``due_before_issue``       due date earlier than the issue date
``due_date_past``          due date before today
``terms_mismatch``         due date is not what the terms say ("Net 30": issue + 30 days;
                           "Due on receipt": the issue date); other terms are not checked
``line_total_mismatch``    the line amounts (when given) do not add up to the total
``duplicate_number``       another invoice of the same source account has the same number
``unusual_currency``       the customer's history is mostly in another currency
=========================  ===============================================================

Currency history counts invoices per currency for each customer key (see
``currency_history``). An invoice's currency is unusual when the customer has at least
``MIN_HISTORY`` earlier invoices, fewer than ``RARE_SHARE`` of them are in that currency, and
more than half are in one other currency.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from arbridge.model.invoice import Invoice

MIN_HISTORY = 3
RARE_SHARE = Decimal("0.2")
SUMMARY_LIMIT = 500

_NET = re.compile(r"net[\s\-_]*(\d{1,3})(?:\s*days?)?", re.IGNORECASE)
_RECEIPT = re.compile(r"(?:due\s+)?(?:on|upon)\s+receipt", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    message: str


def terms_days(terms: str | None) -> int | None:
    """Days from issue to due that ``terms`` promise: "Net 30" 30, "Due on receipt" 0."""
    if terms is None:
        return None
    text = terms.strip()
    net = _NET.fullmatch(text)
    if net is not None:
        return int(net.group(1))
    if _RECEIPT.fullmatch(text):
        return 0
    return None


def currency_history(invoices: Iterable[Invoice]) -> dict[str, Counter[str]]:
    """Invoices per currency for each customer key, the ``customer_currencies`` of a check."""
    history: dict[str, Counter[str]] = {}
    for invoice in invoices:
        history.setdefault(invoice.customer_key, Counter())[invoice.currency] += 1
    return history


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount:,} {currency}"


def _due_findings(invoice: Invoice, today: date) -> list[Finding]:
    due = invoice.due_date
    if due is None:
        return [Finding("missing_due_date", "no due date")]
    found = []
    if due < invoice.issue_date:
        found.append(
            Finding(
                "due_before_issue",
                f"due date {due} is before the issue date {invoice.issue_date}",
            )
        )
    if due < today:
        found.append(Finding("due_date_past", f"due date {due} is already past"))
    days = terms_days(invoice.terms)
    expected = None if days is None else invoice.issue_date + timedelta(days=days)
    if expected is not None and due != expected:
        found.append(
            Finding(
                "terms_mismatch",
                f"terms {invoice.terms!r} give due date {expected}, but it is {due} "
                f"({(due - invoice.issue_date).days} days after issue)",
            )
        )
    return found


def _unusual_currency(invoice: Invoice, counts: Mapping[str, int]) -> Finding | None:
    total = sum(counts.values())
    if total < MIN_HISTORY:
        return None
    usual, usual_count = max(
        ((code, n) for code, n in counts.items() if code != invoice.currency),
        key=lambda pair: (pair[1], pair[0]),
        default=(None, 0),
    )
    share = Decimal(counts.get(invoice.currency, 0)) / total
    if usual is None or share >= RARE_SHARE or 2 * usual_count <= total:
        return None
    return Finding(
        "unusual_currency",
        f"currency {invoice.currency} is unusual for this customer: "
        f"{usual_count} of {total} earlier invoices were in {usual}",
    )


def check_invoice(
    invoice: Invoice,
    *,
    today: date,
    lines: Sequence[Decimal] | None = None,
    others: Iterable[Invoice] = (),
    customer_currencies: Mapping[str, Mapping[str, int]] | None = None,
) -> list[Finding]:
    """Every problem found in ``invoice``; an empty list when it looks right.

    ``others`` are the invoices to look for duplicate numbers among (the invoice itself may be
    one of them); ``customer_currencies`` maps customer keys to invoices per currency.
    """
    found: list[Finding] = []
    if not (invoice.billing_email or "").strip():
        found.append(Finding("missing_billing_email", "no billing email: reminders cannot go out"))
    found.extend(_due_findings(invoice, today))
    if lines is not None:
        added = sum(lines, Decimal(0))
        if added != invoice.total:
            found.append(
                Finding(
                    "line_total_mismatch",
                    f"line amounts add up to {_money(added, invoice.currency)} "
                    f"but the total is {_money(invoice.total, invoice.currency)}",
                )
            )
    number = invoice.number.strip().casefold()
    clashes = sorted(
        other.source_id
        for other in others
        if other.key != invoice.key
        and other.source == invoice.source
        and other.source_account == invoice.source_account
        and other.number.strip().casefold() == number
    )
    if clashes:
        found.append(
            Finding(
                "duplicate_number",
                f"number {invoice.number} is also used by invoice id {', '.join(clashes)}",
            )
        )
    counts = (customer_currencies or {}).get(invoice.customer_key)
    unusual = None if counts is None else _unusual_currency(invoice, counts)
    if unusual is not None:
        found.append(unusual)
    return found


def summarise(findings: Sequence[Finding]) -> str | None:
    """One short line for a task's text field; None when there is nothing to fix."""
    if not findings:
        return None
    count = len(findings)
    text = f"{count} problem{'s' if count > 1 else ''}: " + "; ".join(f.message for f in findings)
    if len(text) > SUMMARY_LIMIT:
        text = text[: SUMMARY_LIMIT - 1].rstrip() + "…"
    return text
