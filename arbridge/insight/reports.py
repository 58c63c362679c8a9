"""Accounts-receivable reports: aging, DSO and collections, each per currency.

Every figure belongs to one currency; a book in several currencies gets one row per currency.
Reports return plain dataclasses; ``records()`` gives flat rows for ``to_table`` and ``to_csv``,
``to_dict()`` the whole report for ``to_json`` (amounts and ratios as decimal strings).

**Aging**: the balance of every receivable invoice, by aging bucket (days past due: current,
1-30, 31-60, 61-90, 90+), grouped by customer, collector or task status.

**DSO, countback method**: take the receivables outstanding on the day, then walk back through
the sales (invoice totals, drafts and voids excluded) of consecutive periods of ``period_days``
ending on that day. While the receivables left exceed a period's sales, subtract those sales
and count the whole period; the period that covers the rest counts in proportion::

    AR 150; sales 100 in the last 30 days, 100 in the 30 before
    DSO = 30 + 30 × (150 − 100) / 100 = 45 days

When ``periods`` periods do not cover the receivables, DSO is ``periods × period_days`` and
marked ``capped``. The trend repeats the computation at the end of each of the last ``weeks``
ISO weeks (the current week at today).

**What was outstanding on a past day** is an invoice's amount paid until its paid date, and
its current balance while it is still owed (the dates of partial payments are not known, so
they count as received before the day). Uncollectible invoices are written off and owe nothing.

**Collections**, per ISO week (the current week up to today):

- collected: amount paid of the invoices settled that week;
- outstanding due: what was owed at the week's end on invoices due by then;
- collection rate = collected / (collected + outstanding due);
- average days late of the invoices paid that week (early payment counts as 0);
- in follow-up: invoices past due and unpaid at the week's end; escalated: those of them
  whose task is escalated now (escalation dates are not kept); resolved: invoices settled.

Against ``target_collection_rate`` (a fraction, e.g. 0.85) and ``target_days_late``.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from rich.table import Table

from arbridge.model.invoice import AgingBucket, Invoice, InvoiceStatus
from arbridge.model.money import quantize

RATE = Decimal("0.0001")
DAYS = Decimal("0.1")
NO_SALES = frozenset({InvoiceStatus.DRAFT, InvoiceStatus.VOID})


class Grouping(StrEnum):
    CUSTOMER = "customer"
    COLLECTOR = "collector"
    STATUS = "status"


@dataclass(frozen=True, slots=True)
class ARItem:
    """An invoice as collectors see it: who chases it, the task's status, whether escalated."""

    invoice: Invoice
    collector: str | None = None
    task_status: str | None = None
    escalated: bool = False


def group_of(item: ARItem, by: Grouping | None) -> str:
    if by is None:
        return "(all)"
    if by is Grouping.CUSTOMER:
        return item.invoice.customer_name
    if by is Grouping.COLLECTOR:
        return item.collector or "(unassigned)"
    return item.task_status or "(no task)"


def _grouped(items: Iterable[ARItem], by: Grouping | None) -> dict[tuple[str, str], list[ARItem]]:
    groups: dict[tuple[str, str], list[ARItem]] = defaultdict(list)
    for item in items:
        groups[group_of(item, by), item.invoice.currency].append(item)
    return dict(sorted(groups.items()))


def outstanding_on(invoice: Invoice, day: date) -> Decimal:
    """What ``invoice`` was owed at the end of ``day`` (see the module docstring)."""
    if invoice.status in NO_SALES or invoice.issue_date > day:
        return Decimal(0)
    if invoice.is_receivable:
        return invoice.balance
    if invoice.paid_date is not None and invoice.paid_date > day:
        return invoice.amount_paid
    return Decimal(0)


def iso_weeks(today: date, count: int) -> list[tuple[str, date, date]]:
    """The last ``count`` ISO weeks, oldest first, as (label, Monday, last day up to today)."""
    monday = today - timedelta(days=today.weekday())
    weeks = []
    for back in range(count - 1, -1, -1):
        start = monday - timedelta(weeks=back)
        year, week, _ = start.isocalendar()
        weeks.append((f"{year}-W{week:02d}", start, min(start + timedelta(days=6), today)))
    return weeks


# --- aging ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgingRow:
    group: str
    currency: str
    invoices: int
    buckets: dict[AgingBucket, Decimal]

    @property
    def total(self) -> Decimal:
        return sum(self.buckets.values(), Decimal(0))

    def record(self) -> dict[str, Any]:
        return (
            {"group": self.group, "currency": self.currency, "invoices": self.invoices}
            | {bucket.value: amount for bucket, amount in self.buckets.items()}
            | {"total": self.total}
        )


@dataclass(frozen=True, slots=True)
class AgingReport:
    as_of: date
    by: Grouping
    rows: list[AgingRow]
    totals: list[AgingRow]  # one per currency, group "(total)"

    def records(self) -> list[dict[str, Any]]:
        return [row.record() for row in [*self.rows, *self.totals]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "report": "aging",
            "as_of": self.as_of,
            "by": self.by.value,
            "rows": [row.record() for row in self.rows],
            "totals": [row.record() for row in self.totals],
        }


def _aging_row(group: str, currency: str, invoices: Sequence[Invoice], today: date) -> AgingRow:
    buckets = {bucket: quantize(Decimal(0), currency) for bucket in AgingBucket}
    for invoice in invoices:
        buckets[invoice.aging_bucket(today)] += invoice.balance
    return AgingRow(group, currency, len(invoices), buckets)


def aging(items: Iterable[ARItem], today: date, by: Grouping = Grouping.CUSTOMER) -> AgingReport:
    receivable = [item for item in items if item.invoice.is_receivable]
    rows = [
        _aging_row(group, currency, [i.invoice for i in members], today)
        for (group, currency), members in _grouped(receivable, by).items()
    ]
    rows.sort(key=lambda row: (row.currency, -row.total, row.group))
    totals = [
        _aging_row("(total)", currency, [i.invoice for i in members], today)
        for (_, currency), members in _grouped(receivable, None).items()
    ]
    return AgingReport(today, by, rows, totals)


# --- DSO -----------------------------------------------------------------------------------


def countback(
    receivables: Decimal, sales: Sequence[Decimal], period_days: int
) -> tuple[Decimal, bool]:
    """DSO from receivables and each period's sales, latest period first; True when capped."""
    left = receivables
    days = Decimal(0)
    if left <= 0:
        return days.quantize(DAYS), False
    for period_sales in sales:
        if period_sales > 0 and left <= period_sales:
            return (days + period_days * left / period_sales).quantize(DAYS), False
        left -= period_sales
        days += period_days
    return days.quantize(DAYS), True


@dataclass(frozen=True, slots=True)
class DsoPoint:
    week: str
    as_of: date
    group: str
    currency: str
    receivables: Decimal
    dso: Decimal
    capped: bool


@dataclass(frozen=True, slots=True)
class DsoReport:
    as_of: date
    by: Grouping | None
    period_days: int
    periods: int
    current: list[DsoPoint]
    trend: list[DsoPoint]  # oldest week first, the last one is ``current``

    def records(self) -> list[dict[str, Any]]:
        return [asdict(point) for point in self.trend]

    def to_dict(self) -> dict[str, Any]:
        return {
            "report": "dso",
            "method": "countback",
            "as_of": self.as_of,
            "by": None if self.by is None else self.by.value,
            "period_days": self.period_days,
            "periods": self.periods,
            "current": [asdict(point) for point in self.current],
            "trend": self.records(),
        }


def _dso_on(
    invoices: Sequence[Invoice], week: str, day: date, where: tuple[str, str], span: tuple[int, int]
) -> DsoPoint:
    (group, currency), (period_days, periods) = where, span
    sales = [Decimal(0)] * periods
    for invoice in invoices:
        back = (day - invoice.issue_date).days
        if invoice.status not in NO_SALES and 0 <= back < period_days * periods:
            sales[back // period_days] += invoice.total
    receivables = quantize(sum((outstanding_on(i, day) for i in invoices), Decimal(0)), currency)
    value, capped = countback(receivables, sales, period_days)
    return DsoPoint(week, day, group, currency, receivables, value, capped)


def dso(
    items: Iterable[ARItem],
    today: date,
    *,
    period_days: int = 30,
    periods: int = 12,
    weeks: int = 8,
    by: Grouping | None = None,
) -> DsoReport:
    if period_days < 1 or periods < 1 or weeks < 1:
        raise ValueError("period_days, periods and weeks must each be at least 1")
    trend: list[DsoPoint] = []
    current: list[DsoPoint] = []
    for where, members in _grouped(items, by).items():
        invoices = [i.invoice for i in members]
        for label, _, end in iso_weeks(today, weeks):
            trend.append(_dso_on(invoices, label, end, where, (period_days, periods)))
        current.append(trend[-1])
    return DsoReport(today, by, period_days, periods, current, trend)


# --- collections ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CollectionsWeek:
    week: str
    start: date
    end: date
    group: str
    currency: str
    collected: Decimal
    outstanding_due: Decimal
    collection_rate: Decimal | None
    avg_days_late: Decimal | None
    in_follow_up: int
    escalated: int
    resolved: int
    rate_on_target: bool | None
    days_late_on_target: bool | None


@dataclass(frozen=True, slots=True)
class CollectionsReport:
    as_of: date
    by: Grouping | None
    target_collection_rate: Decimal | None
    target_days_late: Decimal | None
    rows: list[CollectionsWeek]

    def records(self) -> list[dict[str, Any]]:
        """Flat rows; the ISO week and its last day say which days count."""
        return [{k: v for k, v in asdict(row).items() if k != "start"} for row in self.rows]

    def to_dict(self) -> dict[str, Any]:
        return {
            "report": "collections",
            "as_of": self.as_of,
            "by": None if self.by is None else self.by.value,
            "target_collection_rate": self.target_collection_rate,
            "target_days_late": self.target_days_late,
            "weeks": [asdict(row) for row in self.rows],
        }


def _week(
    members: Sequence[ARItem], label: str, start: date, end: date, group: str, currency: str
) -> CollectionsWeek:
    paid = [
        i.invoice
        for i in members
        if i.invoice.paid_date is not None and start <= i.invoice.paid_date <= end
    ]
    collected = quantize(sum((i.amount_paid for i in paid), Decimal(0)), currency)
    due = quantize(
        sum(
            (
                outstanding_on(i.invoice, end)
                for i in members
                if (i.invoice.due_date or i.invoice.issue_date) <= end
            ),
            Decimal(0),
        ),
        currency,
    )
    chased = [
        i
        for i in members
        if (i.invoice.due_date or i.invoice.issue_date) < end and outstanding_on(i.invoice, end) > 0
    ]
    late = [max(0, (i.paid_date - (i.due_date or i.issue_date)).days) for i in paid if i.paid_date]
    return CollectionsWeek(
        week=label,
        start=start,
        end=end,
        group=group,
        currency=currency,
        collected=collected,
        outstanding_due=due,
        collection_rate=(collected / (collected + due)).quantize(RATE) if collected + due else None,
        avg_days_late=(Decimal(sum(late)) / len(late)).quantize(DAYS) if late else None,
        in_follow_up=len(chased),
        escalated=sum(1 for i in chased if i.escalated),
        resolved=len(paid),
        rate_on_target=None,
        days_late_on_target=None,
    )


def collections(
    items: Iterable[ARItem],
    today: date,
    *,
    weeks: int = 8,
    by: Grouping | None = None,
    target_collection_rate: Decimal | None = None,
    target_days_late: Decimal | None = None,
) -> CollectionsReport:
    if weeks < 1:
        raise ValueError("weeks must be at least 1")
    rows = []
    for (group, currency), members in _grouped(items, by).items():
        for label, start, end in iso_weeks(today, weeks):
            row = _week(members, label, start, end, group, currency)
            rate, late = row.collection_rate, row.avg_days_late
            rate_ok = None
            if target_collection_rate is not None and rate is not None:
                rate_ok = rate >= target_collection_rate
            late_ok = None
            if target_days_late is not None and late is not None:
                late_ok = late <= target_days_late
            rows.append(replace(row, rate_on_target=rate_ok, days_late_on_target=late_ok))
    return CollectionsReport(today, by, target_collection_rate, target_days_late, rows)


# --- renderers -----------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def to_json(payload: Mapping[str, Any]) -> str:
    """JSON with amounts and ratios as decimal strings (no float rounding) and ISO dates."""
    return json.dumps(payload, default=_plain, indent=2)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def to_csv(records: Sequence[Mapping[str, Any]]) -> str:
    if not records:
        return ""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(records[0]), lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({key: _cell(value) for key, value in record.items()})
    return out.getvalue()


def to_table(title: str, records: Sequence[Mapping[str, Any]]) -> Table:
    table = Table(title=title)
    if not records:
        table.caption = "nothing to report"
        return table
    for key in records[0]:
        numeric = any(
            isinstance(r.get(key), (int, Decimal)) and not isinstance(r.get(key), bool)
            for r in records
        )
        table.add_column(key.replace("_", " "), justify="right" if numeric else "left")
    for record in records:
        table.add_row(*(f"{v:,}" if isinstance(v, Decimal) else _cell(v) for v in record.values()))
    return table
