"""Disputes report: counts and amounts by reason, customer and month, per currency.

Two kinds of dispute are counted, each invoice once:

- card disputes (canonical ``Dispute`` records, e.g. Stripe's ``product_not_received``): the
  dispute's own amount, reason and status, in the month it was opened; the customer comes
  from the disputed invoice when it is known, else ``(unknown)``;
- open invoices a collector marked disputed (task status ``disputed``) with no dispute record:
  their open balance, reason ``collector``, status ``open``, in the invoice's issue month (the date
  the status was set is not kept).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from arbridge.insight.reports import ARItem
from arbridge.model.invoice import Dispute, Invoice

COLLECTOR_REASON = "collector"
UNKNOWN_CUSTOMER = "(unknown)"
DISPUTED_STATUS = "disputed"


@dataclass(frozen=True, slots=True)
class DisputeCase:
    origin: str  # the source system ("stripe", ...) or "collector"
    reference: str  # dispute id, or the invoice key of a collector's dispute
    invoice_key: str | None
    customer: str
    reason: str
    status: str
    month: str  # YYYY-MM
    currency: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class DisputeGroup:
    key: str
    currency: str
    count: int
    amount: Decimal


@dataclass(frozen=True, slots=True)
class DisputesReport:
    cases: list[DisputeCase]
    by_reason: list[DisputeGroup]
    by_customer: list[DisputeGroup]
    by_month: list[DisputeGroup]
    by_status: list[DisputeGroup]
    totals: list[DisputeGroup]  # key "(total)", one per currency

    def records(self) -> list[dict[str, Any]]:
        """Flat rows for a table or CSV: one per grouping, key and currency."""
        rows = []
        for dimension in ("reason", "customer", "month", "status"):
            for group in getattr(self, f"by_{dimension}"):
                rows.append({"by": dimension} | asdict(group))
        rows.extend({"by": "total"} | asdict(group) for group in self.totals)
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "report": "disputes",
            "totals": [asdict(g) for g in self.totals],
            "by_reason": [asdict(g) for g in self.by_reason],
            "by_customer": [asdict(g) for g in self.by_customer],
            "by_month": [asdict(g) for g in self.by_month],
            "by_status": [asdict(g) for g in self.by_status],
            "cases": [asdict(c) for c in self.cases],
        }


def dispute_cases(disputes: Iterable[Dispute], items: Iterable[ARItem]) -> list[DisputeCase]:
    invoices: dict[str, Invoice] = {}
    marked: list[Invoice] = []
    for item in items:
        invoices[item.invoice.key] = item.invoice
        status = (item.task_status or "").strip().casefold()
        if status == DISPUTED_STATUS and item.invoice.is_receivable:
            marked.append(item.invoice)
    cases = []
    covered = set()
    for dispute in disputes:
        key = None
        if dispute.invoice_id is not None:
            key = f"{dispute.source.value}:{dispute.source_account}:{dispute.invoice_id}"
            covered.add(key)
        invoice = invoices.get(key) if key is not None else None
        cases.append(
            DisputeCase(
                origin=dispute.source.value,
                reference=dispute.source_id,
                invoice_key=key,
                customer=UNKNOWN_CUSTOMER if invoice is None else invoice.customer_name,
                reason=dispute.reason,
                status=dispute.status.value,
                month=dispute.opened_at.strftime("%Y-%m"),
                currency=dispute.amount.currency,
                amount=dispute.amount.amount,
            )
        )
    for invoice in marked:
        if invoice.key in covered:
            continue
        cases.append(
            DisputeCase(
                origin=COLLECTOR_REASON,
                reference=invoice.key,
                invoice_key=invoice.key,
                customer=invoice.customer_name,
                reason=COLLECTOR_REASON,
                status="open",
                month=invoice.issue_date.strftime("%Y-%m"),
                currency=invoice.currency,
                amount=invoice.balance,
            )
        )
    cases.sort(key=lambda c: (c.month, c.origin, c.reference))
    return cases


def _group(cases: Iterable[DisputeCase], field: str | None) -> list[DisputeGroup]:
    counts: dict[tuple[str, str], int] = defaultdict(int)
    amounts: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for case in cases:
        key = (getattr(case, field) if field else "(total)", case.currency)
        counts[key] += 1
        amounts[key] += case.amount
    groups = [DisputeGroup(k, c, counts[k, c], amounts[k, c]) for k, c in counts]
    # Months read best in order; everything else biggest first.
    if field == "month":
        groups.sort(key=lambda g: (g.key, g.currency))
    else:
        groups.sort(key=lambda g: (g.currency, -g.amount, g.key))
    return groups


def disputes_report(disputes: Iterable[Dispute], items: Iterable[ARItem]) -> DisputesReport:
    cases = dispute_cases(disputes, items)
    return DisputesReport(
        cases=cases,
        by_reason=_group(cases, "reason"),
        by_customer=_group(cases, "customer"),
        by_month=_group(cases, "month"),
        by_status=_group(cases, "status"),
        totals=_group(cases, None),
    )
