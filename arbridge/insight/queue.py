"""The follow-up queue: which open invoices a collector should chase first.

Priority score = amount × p_late × age factor, where

- amount is the open balance as a float. Balances in different currencies are not comparable,
  so each currency is ranked on its own, unless ``rates`` (base-currency units per unit of each
  currency) are given: then amounts are converted and one ranking covers the whole book;
- p_late is the predicted probability of late payment; without a prediction, 1.0 for an
  overdue invoice and ``DEFAULT_P_LATE`` for one not yet due;
- age factor = 1 + min(days overdue, 90) / 30: from 1 (not yet due) to 4 (90+ days overdue),
  so an old debt outranks a fresh one of the same size and risk.

Rank 1 is the highest score (ties: larger balance, then earlier due date, then invoice key).
Ranks map to buckets, and buckets to task priorities:

=========  ======  ================
rank       bucket  task priority
=========  ======  ================
1-10       1       1 urgent
11-50      2       2 high
51-200     3       3 normal
201+       4       4 low
=========  ======  ================

Writing a task's priority only when its bucket changes keeps small rank moves from costing
requests.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from arbridge.insight.forecast import PayDateEstimate
from arbridge.model.invoice import Invoice
from arbridge.model.task import PRIORITY_NAMES, bucket_priority

DEFAULT_P_LATE = 0.5
MAX_AGE_DAYS = 90
# Upper rank of each bucket; anything past the last is the lowest bucket.
BUCKET_LIMITS = (10, 50, 200)


def queue_rank_bucket(rank: int) -> int:
    """1 for ranks 1-10, 2 for 11-50, 3 for 51-200, 4 beyond."""
    if rank < 1:
        raise ValueError(f"rank must be at least 1, got {rank}")
    for bucket, limit in enumerate(BUCKET_LIMITS, start=1):
        if rank <= limit:
            return bucket
    return len(BUCKET_LIMITS) + 1


def age_factor(days_overdue: int) -> float:
    return 1.0 + min(max(days_overdue, 0), MAX_AGE_DAYS) / 30


@dataclass(frozen=True, slots=True)
class QueueEntry:
    rank: int
    bucket: int
    priority: int
    score: float
    invoice_key: str
    number: str
    customer: str
    currency: str
    balance: Decimal
    days_overdue: int
    p_late: float
    age_factor: float

    def record(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "priority": PRIORITY_NAMES[self.priority],
            "score": round(self.score, 2),
            "number": self.number,
            "customer": self.customer,
            "currency": self.currency,
            "balance": self.balance,
            "days_overdue": self.days_overdue,
            "p_late": self.p_late,
            "invoice_key": self.invoice_key,
        }


def rank_queue(
    invoices: Iterable[Invoice],
    estimates: Iterable[PayDateEstimate],
    today: date,
    *,
    rates: Mapping[str, Decimal] | None = None,
) -> list[QueueEntry]:
    """Open invoices by priority; ranks restart per currency unless ``rates`` are given."""
    p_late = {e.invoice_key: e.p_late for e in estimates}
    receivable = [i for i in invoices if i.is_receivable]
    if rates is not None:
        missing = sorted({i.currency for i in receivable} - set(rates))
        if missing:
            raise ValueError(f"no conversion rate for {', '.join(missing)}")
    lanes: dict[str, list[tuple[float, Invoice, float, int]]] = {}
    for invoice in receivable:
        overdue = invoice.days_overdue(today)
        chance = p_late.get(invoice.key, 1.0 if overdue > 0 else DEFAULT_P_LATE)
        amount = invoice.balance * (rates[invoice.currency] if rates is not None else 1)
        score = float(amount) * chance * age_factor(overdue)
        lane = "*" if rates is not None else invoice.currency
        lanes.setdefault(lane, []).append((score, invoice, chance, overdue))
    entries = []
    for lane in sorted(lanes):
        ordered = sorted(
            lanes[lane],
            key=lambda s: (-s[0], -s[1].balance, s[1].due_date or s[1].issue_date, s[1].key),
        )
        for rank, (score, invoice, chance, overdue) in enumerate(ordered, start=1):
            bucket = queue_rank_bucket(rank)
            entries.append(
                QueueEntry(
                    rank=rank,
                    bucket=bucket,
                    priority=bucket_priority(bucket),
                    score=score,
                    invoice_key=invoice.key,
                    number=invoice.number,
                    customer=invoice.customer_name,
                    currency=invoice.currency,
                    balance=invoice.balance,
                    days_overdue=overdue,
                    p_late=chance,
                    age_factor=age_factor(overdue),
                )
            )
    return entries
