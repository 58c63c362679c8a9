"""The fact catalogue: every name a condition or template may read, with its type.

Facts are typed so that a condition is checked when the file is loaded, never when it runs:
``{fact: invoice.days_overdue, gte: "three"}`` is refused with the file position.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from operator import itemgetter
from typing import Any

from arbridge.automation.problems import did_you_mean
from arbridge.model.invoice import AgingBucket, InvoiceStatus
from arbridge.model.task import TASK_STATUSES


class FactType(StrEnum):
    DECIMAL = "decimal"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    STR = "str"
    ENUM = "enum"
    DATE = "date"
    DATETIME = "datetime"
    LIST_STR = "list[str]"


FactValue = Decimal | int | float | bool | str | date | datetime | tuple[str, ...] | None

# Mirrors arbridge.insight.segments.Segment; automation may not import insight (layering).
SEGMENTS = ("new", "reliable", "occasionally_late", "chronic_late", "disputer")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True, slots=True)
class FactSpec:
    name: str
    type: FactType
    description: str
    nullable: bool = False
    values: tuple[str, ...] = ()

    @property
    def type_label(self) -> str:
        return f"enum({', '.join(self.values)})" if self.type is FactType.ENUM else self.type.value


def _f(
    name: str, kind: FactType, description: str, *, nullable: bool = False, values: Any = ()
) -> FactSpec:
    return FactSpec(name, kind, description, nullable, tuple(str(v) for v in values))


T = FactType
_CATALOGUE = [
    _f("invoice.key", T.STR, "Stable identity: source:account:id."),
    _f("invoice.number", T.STR, "Invoice number as the customer sees it."),
    _f("invoice.amount", T.DECIMAL, "Invoice total, in the invoice currency."),
    _f("invoice.amount_paid", T.DECIMAL, "Paid so far."),
    _f("invoice.balance", T.DECIMAL, "Still owed."),
    _f("invoice.currency", T.STR, "ISO 4217 code, upper case (USD, EUR, JPY)."),
    _f("invoice.status", T.ENUM, "Status at the source.", values=list(InvoiceStatus)),
    _f(
        "invoice.task_status",
        T.ENUM,
        "Current status of the task (a collector may have changed it).",
        nullable=True,
        values=TASK_STATUSES,
    ),
    _f("invoice.source", T.STR, "Where the invoice lives: its source connector's name."),
    _f("invoice.issue_date", T.DATE, "Issue date."),
    _f("invoice.due_date", T.DATE, "Due date.", nullable=True),
    _f("invoice.overdue", T.BOOL, "Money is owed and the due date has passed."),
    _f("invoice.days_overdue", T.INT, "Calendar days past due while owed; 0 otherwise."),
    _f(
        "invoice.days_until_due",
        T.INT,
        "Calendar days until the due date (negative once past).",
        nullable=True,
    ),
    _f("invoice.business_days_overdue", T.INT, "Business days past due while owed; 0 otherwise."),
    _f(
        "invoice.business_days_until_due",
        T.INT,
        "Business days until the due date (negative once past).",
        nullable=True,
    ),
    _f("invoice.aging_bucket", T.ENUM, "Aging bucket by days overdue.", values=list(AgingBucket)),
    _f("invoice.reminders_sent", T.INT, "Reminder comments posted so far."),
    _f("invoice.last_reminder_at", T.DATETIME, "When the last reminder went out.", nullable=True),
    _f(
        "invoice.customer_replied_since_last_reminder",
        T.BOOL,
        "The customer answered after the last reminder.",
    ),
    _f("invoice.promise_to_pay_date", T.DATE, "Date the customer promised to pay.", nullable=True),
    _f("invoice.disputed", T.BOOL, "A dispute is open on the invoice."),
    _f(
        "invoice.reminders_paused_until",
        T.DATE,
        "Reminders are held back through this date.",
        nullable=True,
    ),
    _f("invoice.tags", T.LIST_STR, "Tags on the task."),
    _f(
        "invoice.checks",
        T.LIST_STR,
        "Codes of data problems found on the invoice: missing_billing_email, missing_due_date, "
        "due_before_issue, due_date_past, terms_mismatch, line_total_mismatch, "
        "duplicate_number, unusual_currency.",
    ),
    _f("invoice.assignees", T.LIST_STR, "Emails of the users assigned to the task."),
    _f("invoice.link", T.STR, "Link to the invoice at the source.", nullable=True),
    _f("customer.key", T.STR, "Stable identity of the customer."),
    _f("customer.name", T.STR, "Customer name."),
    _f("customer.email", T.STR, "Billing email.", nullable=True),
    _f("customer.segment", T.ENUM, "Payment behaviour segment.", nullable=True, values=SEGMENTS),
    _f("customer.tags", T.LIST_STR, "Customer tags."),
    _f("customer.key_account", T.BOOL, "Marked as a key account."),
    _f(
        "customer.total_outstanding",
        T.DECIMAL,
        "Open balance over the customer's invoices in this invoice's currency.",
    ),
    _f("customer.open_invoice_count", T.INT, "Open invoices of the customer."),
    _f("customer.overdue_count", T.INT, "Overdue invoices of the customer."),
    _f(
        "customer.average_days_late",
        T.FLOAT,
        "Mean days late over settled invoices.",
        nullable=True,
    ),
    _f(
        "customer.preferred_weekday",
        T.ENUM,
        "Weekday most payments arrive on.",
        nullable=True,
        values=WEEKDAYS,
    ),
    _f(
        "customer.preferred_weekday_today",
        T.BOOL,
        "True on the customer's preferred weekday (null while it is unknown): send on that day.",
        nullable=True,
    ),
    _f("insight.risk_score", T.INT, "Risk of late payment, 0-100.", nullable=True),
    _f("insight.p_late", T.FLOAT, "Probability of paying after the due date.", nullable=True),
    _f("insight.p_late_30", T.FLOAT, "Probability of paying over 30 days late.", nullable=True),
    _f("insight.predicted_pay_date", T.DATE, "Median predicted pay date.", nullable=True),
    _f("insight.expected_days_late", T.FLOAT, "Expected days late.", nullable=True),
    _f(
        "insight.forecast_deviation_pct",
        T.FLOAT,
        "Collected so far against the forecast made at the last refit, in percent of the "
        "expected amount (negative: behind), in the invoice's currency.",
        nullable=True,
    ),
    _f(
        "event.actor", T.STR, "Email of whoever caused the event (collector events).", nullable=True
    ),
    _f(
        "event.previous_task_status",
        T.ENUM,
        "Task status before a collector changed it.",
        nullable=True,
        values=TASK_STATUSES,
    ),
]

FACTS: dict[str, FactSpec] = {spec.name: spec for spec in _CATALOGUE}
NAMESPACES = ("invoice", "customer", "insight", "event")
_NAMES = tuple(FACTS)


def _layout() -> dict[str, tuple[tuple[str, ...], itemgetter[Any]]]:
    split: dict[str, list[str]] = {}
    for name in _NAMES:
        split.setdefault(name.partition(".")[0], []).append(name)
    return {
        head: (tuple(n.partition(".")[2] for n in names), itemgetter(*names, *names[:1]))
        for head, names in split.items()
    }


# Per namespace: the short names and a getter of the values, for facts laid out as ``create``
# lays them out (the catalogue, in order). The getter repeats the first name so it always
# returns a tuple, even for a namespace of one fact.
_LAYOUT = _layout()

# What an entry of ``customer_invoices`` must carry (invoice facts without the prefix).
SUMMARY_FIELDS = ("key", "number", "due_date", "amount", "balance", "currency", "days_overdue")

_TYPE_WORDS = {
    T.DECIMAL: "a number",
    T.INT: "a whole number",
    T.FLOAT: "a number",
    T.BOOL: "true or false",
    T.STR: "a string",
    T.ENUM: "one of its values",
    T.DATE: "a date (YYYY-MM-DD)",
    T.DATETIME: "a date-time with a UTC offset",
    T.LIST_STR: "a list of strings",
}


def coerce(spec: FactSpec, value: Any) -> FactValue:
    """``value`` as the Python type of ``spec``; ValueError explains a mismatch."""
    if value is None:
        if spec.nullable:
            return None
        raise ValueError(f"{spec.name} is never null")
    kind = spec.type
    wrong = ValueError(f"{spec.name} is {kind.value}: expected {_TYPE_WORDS[kind]}, got {value!r}")
    if kind is T.LIST_STR:
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise wrong
        return tuple(value)
    if isinstance(value, bool) and kind is not T.BOOL:
        raise wrong
    if kind is T.BOOL:
        if not isinstance(value, bool):
            raise wrong
        return value
    if kind is T.INT:
        if not isinstance(value, int):
            raise wrong
        return value
    if kind is T.FLOAT:
        if not isinstance(value, int | float):
            raise wrong
        return float(value)
    if kind is T.DECIMAL:
        return _decimal(value, wrong)
    if kind is T.STR:
        if not isinstance(value, str):
            raise wrong
        return value
    if kind is T.ENUM:
        text = value.value if isinstance(value, StrEnum) else value
        if not isinstance(text, str):
            raise wrong
        if text not in spec.values:
            raise ValueError(
                f"{spec.name} has no value {text!r}{did_you_mean(text, spec.values)} "
                f"(values: {', '.join(spec.values)})"
            )
        return text
    if kind is T.DATE:
        return _date(value, wrong)
    return _datetime(value, wrong)


def _decimal(value: Any, wrong: ValueError) -> Decimal:
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise wrong from None
    else:
        raise wrong
    if not number.is_finite():
        raise wrong
    return number


def _date(value: Any, wrong: ValueError) -> date:
    if isinstance(value, datetime):
        raise wrong
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise wrong from None
    raise wrong


def _datetime(value: Any, wrong: ValueError) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise wrong from None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise wrong
    return value


@dataclass(frozen=True)
class FactSet:
    """Every fact of one invoice, plus the customer's open invoices for templates.

    ``customer_invoices`` holds all the customer's open invoices (this one included), each a
    mapping of invoice facts without the ``invoice.`` prefix; at least ``SUMMARY_FIELDS``.
    """

    values: Mapping[str, FactValue]
    customer_invoices: tuple[Mapping[str, FactValue], ...] = field(default=())

    @classmethod
    def create(
        cls,
        values: Mapping[str, Any],
        customer_invoices: Sequence[Mapping[str, Any]] = (),
    ) -> FactSet:
        """Validated and complete: unknown names and wrong types raise ValueError; nullable
        facts that are left out are null, and every other fact is required."""
        unknown = sorted(set(values) - set(FACTS))
        if unknown:
            raise ValueError(f"unknown fact {unknown[0]!r}{did_you_mean(unknown[0], FACTS)}")
        checked: dict[str, FactValue] = {}
        for name, spec in FACTS.items():
            if name not in values and not spec.nullable:
                raise ValueError(f"fact {name} is required")
            checked[name] = coerce(spec, values.get(name))
        summaries = []
        for entry in customer_invoices:
            missing = [f for f in SUMMARY_FIELDS if f not in entry]
            if missing:
                raise ValueError(f"customer invoice lacks {', '.join(missing)}")
            summaries.append(
                {
                    k: coerce(FACTS[f"invoice.{k}"], v) if f"invoice.{k}" in FACTS else v
                    for k, v in entry.items()
                }
            )
        return cls(values=checked, customer_invoices=tuple(summaries))

    @property
    def invoice_key(self) -> str:
        return str(self.values["invoice.key"])

    @property
    def customer_key(self) -> str:
        return str(self.values["customer.key"])

    def get(self, name: str) -> FactValue:
        return self.values.get(name)

    def with_values(self, extra: Mapping[str, Any]) -> FactSet:
        """A copy with some facts replaced (event facts, simulation steps), re-validated."""
        merged = dict(self.values)
        merged.update(extra)
        return FactSet.create(merged, self.customer_invoices)

    def namespace(self, prefix: str) -> dict[str, FactValue]:
        """``invoice`` -> ``{"number": ..., "balance": ...}`` for templates."""
        start = f"{prefix}."
        return {k[len(start) :]: v for k, v in self.values.items() if k.startswith(start)}

    def namespaces(self) -> dict[str, dict[str, FactValue]]:
        """Every top-level namespace at once, as ``namespace`` gives each."""
        values = self.values
        if tuple(values) == _NAMES:
            return {
                head: dict(zip(short, get(values), strict=False))
                for head, (short, get) in _LAYOUT.items()
            }
        split: dict[str, dict[str, FactValue]] = {}
        for name, value in self.values.items():
            head, dot, rest = name.partition(".")
            if dot:
                split.setdefault(head, {})[rest] = value
        return split
