"""The task an invoice should have: a pure function of the invoice, its customer and the date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from arbridge.model.invoice import Customer, Invoice, InvoiceStatus
from arbridge.model.task import FACTS, TASK_STATUSES, TaskSpec, bucket_priority, normalise_fact


def task_status(invoice: Invoice, today: date) -> str:
    """The task-status key: money owed past the due date reads "overdue" unless disputed."""
    if invoice.status in (InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID) and invoice.is_overdue(
        today
    ):
        return "overdue"
    return invoice.status.value


def _description(invoice: Invoice, customer_name: str) -> str:
    # Nothing here may change with the date or a payment: the balance lives in its own field, so a
    # payment costs one field request, not a description rewrite as well.
    lines = [
        f"**Invoice {invoice.number}** for {customer_name}",
        "",
        f"- Total: {invoice.total:,} {invoice.currency}",
        f"- Issued: {invoice.issue_date.isoformat()}",
        f"- Due: {invoice.due_date.isoformat() if invoice.due_date else 'no due date'}",
    ]
    if invoice.terms:
        lines.append(f"- Terms: {invoice.terms}")
    if invoice.link:
        lines.append(f"- Open in {invoice.source.value}: {invoice.link}")
    lines.append("")
    lines.append(f"_Mirrored by arbridge from {invoice.source.value}; edits here are overwritten._")
    return "\n".join(lines)


@dataclass(frozen=True)
class InsightFacts:
    """The stored prediction of an open invoice, as the task shows it."""

    risk_score: int
    predicted_pay_date: date
    queue_bucket: int | None = None


@dataclass(frozen=True)
class RuleState:
    """What collection rules decided for the task: they win over derived values while money is
    still owed; once the invoice is settled its own status takes over again."""

    status: str | None = None
    priority: int | None = None
    assignees: tuple[str, ...] = ()
    # A status a collector chose that holds while money is owed: "disputed", or a list status
    # arbridge does not map (kept as the task has it; see ``Reconciler``).
    collector: str | None = None


# Risk is shown in steps of 5: a refit that nudges a score by a point must not cost a request.
RISK_STEP = 5


def invoice_facts(
    invoice: Invoice,
    customer_name: str,
    today: date,
    insight: InsightFacts | None = None,
    checks: str | None = None,
) -> dict[str, str | None]:
    raw: dict[str, object] = {
        "arbridge_key": invoice.key,
        "number": invoice.number,
        "customer": customer_name,
        "source": invoice.source.value,
        "invoice_status": invoice.status.value,
        "currency": invoice.currency,
        "total": invoice.total,
        "amount_due": invoice.balance,
        "issue_date": invoice.issue_date,
        "due_date": invoice.due_date,
        # The bucket, not the day count: it changes a handful of times in an invoice's life.
        "aging": invoice.aging_bucket(today).value,
        "link": invoice.link,
    }
    # Once no money is owed, the prediction stays as it was last shown: clearing it would cost
    # two requests per payment and tell finance nothing.
    if invoice.is_receivable:
        raw["risk_score"] = (
            None if insight is None else RISK_STEP * round(insight.risk_score / RISK_STEP)
        )
        raw["predicted_pay_date"] = None if insight is None else insight.predicted_pay_date
        raw["queue_rank"] = None if insight is None else insight.queue_bucket
    # Checks matter before an invoice goes out: shown on drafts and when a task is first made
    # (``checks`` is given then), and left as they were afterwards.
    if checks is not None:
        raw["invoice_checks"] = checks or None
    return {fact: normalise_fact(FACTS[fact], value) for fact, value in raw.items()}


def desired_task(
    invoice: Invoice,
    customer: Customer | None,
    today: date,
    owned: frozenset[str],
    insight: InsightFacts | None = None,
    checks: str | None = None,
    rules: RuleState | None = None,
) -> TaskSpec:
    """``checks``: the invoice-check summary ("" when clean) or None to leave the field alone."""
    customer_name = customer.name if customer is not None else invoice.customer_name
    facts = invoice_facts(invoice, customer_name, today, insight, checks)
    bucket = None if insight is None or not invoice.is_receivable else insight.queue_bucket
    priority = None if bucket is None else bucket_priority(bucket)
    status = task_status(invoice, today)
    if rules is not None and invoice.is_receivable:
        held = rules.collector if rules.collector in TASK_STATUSES else None
        status = rules.status or held or status
        priority = rules.priority or priority
    return TaskSpec(
        key=invoice.key,
        name=f"{invoice.number} · {customer_name}",
        description=_description(invoice, customer_name),
        status=status,
        due_date=invoice.due_date,
        priority=priority,
        assignees=tuple(sorted(rules.assignees)) if rules is not None else (),
        fields={fact: value for fact, value in facts.items() if fact in owned},
    )
