"""Facts from the canonical model: what the daemon, the simulation and ``explain`` feed rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from arbridge.automation.facts import WEEKDAYS, FactSet, FactValue
from arbridge.model.calendar import BusinessCalendar
from arbridge.model.invoice import Customer, Invoice, InvoiceStatus


@dataclass(frozen=True)
class CollectionState:
    """What arbridge and the collectors know about chasing one invoice (stored by the daemon)."""

    reminders_sent: int = 0
    last_reminder_at: datetime | None = None
    customer_replied_since_last_reminder: bool = False
    promise_to_pay_date: date | None = None
    reminders_paused_until: date | None = None
    disputed: bool = False
    task_status: str | None = None
    tags: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()


@dataclass(frozen=True)
class CustomerStats:
    segment: str | None = None
    average_days_late: float | None = None
    preferred_weekday: int | None = None  # 0 = Monday


@dataclass(frozen=True)
class InsightValues:
    risk_score: int | None = None
    p_late: float | None = None
    p_late_30: float | None = None
    predicted_pay_date: date | None = None
    expected_days_late: float | None = None
    forecast_deviation_pct: float | None = None


def invoice_values(invoice: Invoice, today: date, calendar: BusinessCalendar) -> dict[str, Any]:
    """The ``invoice.*`` facts derivable from the invoice alone."""
    return {
        "invoice.key": invoice.key,
        "invoice.number": invoice.number,
        "invoice.amount": invoice.total,
        "invoice.amount_paid": invoice.amount_paid,
        "invoice.balance": invoice.balance,
        "invoice.currency": invoice.currency,
        "invoice.status": invoice.status.value,
        "invoice.source": invoice.source.value,
        "invoice.issue_date": invoice.issue_date,
        "invoice.due_date": invoice.due_date,
        "invoice.overdue": invoice.is_overdue(today),
        "invoice.days_overdue": invoice.days_overdue(today),
        "invoice.days_until_due": invoice.days_until_due(today),
        "invoice.business_days_overdue": invoice.business_days_overdue(today, calendar),
        "invoice.business_days_until_due": invoice.business_days_until_due(today, calendar),
        "invoice.aging_bucket": invoice.aging_bucket(today).value,
        "invoice.link": invoice.link,
    }


def _summary(invoice: Invoice, today: date) -> dict[str, FactValue]:
    return {
        "key": invoice.key,
        "number": invoice.number,
        "issue_date": invoice.issue_date,
        "due_date": invoice.due_date,
        "amount": invoice.total,
        "balance": invoice.balance,
        "currency": invoice.currency,
        "status": invoice.status.value,
        "days_overdue": invoice.days_overdue(today),
        "link": invoice.link,
    }


def build_facts(
    invoice: Invoice,
    customer: Customer | None,
    *,
    today: date,
    calendar: BusinessCalendar,
    collection: CollectionState | None = None,
    customer_invoices: Sequence[Invoice] = (),
    stats: CustomerStats | None = None,
    insight: InsightValues | None = None,
    event: Mapping[str, Any] | None = None,
    checks: Sequence[str] = (),
) -> FactSet:
    """All facts of ``invoice`` on ``today``.

    ``customer_invoices`` are the customer's invoices (this one may be among them); the open ones
    feed the customer totals and the template lists.
    """
    state = collection or CollectionState()
    stats = stats or CustomerStats()
    insight = insight or InsightValues()
    open_invoices = {i.key: i for i in customer_invoices if i.is_receivable}
    if invoice.is_receivable:
        open_invoices[invoice.key] = invoice
    same_currency = [i for i in open_invoices.values() if i.currency == invoice.currency]
    values: dict[str, Any] = invoice_values(invoice, today, calendar)
    values.update(
        {
            "invoice.task_status": state.task_status,
            "invoice.reminders_sent": state.reminders_sent,
            "invoice.last_reminder_at": state.last_reminder_at,
            "invoice.customer_replied_since_last_reminder": (
                state.customer_replied_since_last_reminder
            ),
            "invoice.promise_to_pay_date": state.promise_to_pay_date,
            "invoice.disputed": state.disputed or invoice.status is InvoiceStatus.DISPUTED,
            "invoice.reminders_paused_until": state.reminders_paused_until,
            "invoice.tags": state.tags,
            "invoice.checks": tuple(checks),
            "invoice.assignees": state.assignees,
            "customer.key": customer.key if customer else invoice.customer_key,
            "customer.name": customer.name if customer else invoice.customer_name,
            "customer.email": customer.email if customer else invoice.billing_email,
            "customer.segment": stats.segment,
            "customer.tags": customer.tags if customer else (),
            "customer.key_account": customer.key_account if customer else False,
            "customer.total_outstanding": sum((i.balance for i in same_currency), Decimal(0)),
            "customer.open_invoice_count": len(open_invoices),
            "customer.overdue_count": sum(1 for i in open_invoices.values() if i.is_overdue(today)),
            "customer.average_days_late": stats.average_days_late,
            "customer.preferred_weekday": None
            if stats.preferred_weekday is None
            else WEEKDAYS[stats.preferred_weekday],
            "customer.preferred_weekday_today": None
            if stats.preferred_weekday is None
            else today.weekday() == stats.preferred_weekday,
            "insight.risk_score": insight.risk_score,
            "insight.p_late": insight.p_late,
            "insight.p_late_30": insight.p_late_30,
            "insight.predicted_pay_date": insight.predicted_pay_date,
            "insight.expected_days_late": insight.expected_days_late,
            "insight.forecast_deviation_pct": insight.forecast_deviation_pct,
        }
    )
    values.update(event or {})
    ordered = sorted(open_invoices.values(), key=lambda i: (i.due_date or i.issue_date, i.number))
    return FactSet.create(values, [_summary(i, today) for i in ordered])
