"""The desired state of one invoice's task, independent of any task tool's wire format."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

# The task priority scale, 1 most urgent (task tools such as ClickUp use the same four steps).
PRIORITY_NAMES = {1: "urgent", 2: "high", 3: "normal", 4: "low"}


def bucket_priority(bucket: int) -> int:
    """The task priority of a follow-up queue bucket: bucket 1 is urgent ... 4 is low."""
    if bucket not in PRIORITY_NAMES:
        raise ValueError(f"bucket must be 1 to 4, got {bucket}")
    return bucket


class FactKind(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    CHOICE = "choice"
    URL = "url"


# Facts a task field can mirror. Values travel as JSON-safe strings: numbers as Decimal strings,
# dates as ISO dates, choices as the option name.
FACTS: dict[str, FactKind] = {
    "arbridge_key": FactKind.TEXT,
    "number": FactKind.TEXT,
    "customer": FactKind.TEXT,
    "source": FactKind.CHOICE,
    "invoice_status": FactKind.CHOICE,
    "currency": FactKind.TEXT,
    "total": FactKind.NUMBER,
    "amount_due": FactKind.NUMBER,
    "issue_date": FactKind.DATE,
    "due_date": FactKind.DATE,
    "aging": FactKind.CHOICE,
    "link": FactKind.URL,
    "risk_score": FactKind.NUMBER,
    "predicted_pay_date": FactKind.DATE,
    "queue_rank": FactKind.NUMBER,
    "invoice_checks": FactKind.TEXT,
}

# The choices each CHOICE fact can take; a drop-down field must offer all of them. The
# ``source`` fact's choices are the installed sources' names (``settings.installed_sources``).
CHOICES: dict[str, tuple[str, ...]] = {
    "invoice_status": (
        "draft",
        "open",
        "partially_paid",
        "paid",
        "void",
        "uncollectible",
        "disputed",
    ),
    "aging": ("current", "1-30", "31-60", "61-90", "90+"),
}

# Task statuses arbridge derives; config maps each to a status name of the list.
TASK_STATUSES = (
    "draft",
    "open",
    "overdue",
    "partially_paid",
    "paid",
    "void",
    "uncollectible",
    "disputed",
)


def normalise_fact(kind: FactKind, value: Any) -> str | None:
    """The one canonical string form of a fact value, so equal values always compare equal."""
    if value is None or value == "":
        return None
    if kind is FactKind.NUMBER:
        try:
            number = Decimal(str(value))
        except InvalidOperation as exc:
            raise ValueError(f"not a number: {value!r}") from exc
        if not number.is_finite():
            raise ValueError(f"not a number: {value!r}")
        return format(number.normalize() or Decimal(0), "f")  # no "-0"
    if kind is FactKind.DATE:
        if isinstance(value, datetime):
            return value.date().isoformat()
        if isinstance(value, date):
            return value.isoformat()
        return date.fromisoformat(str(value)).isoformat()
    return str(value)


class TaskSpec(BaseModel):
    """Everything arbridge owns on a task. Fields it does not own are never read or written."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    name: str
    description: str
    status: str
    due_date: date | None = None
    priority: int | None = None
    assignees: tuple[str, ...] = ()
    fields: dict[str, str | None] = {}

    def state(self) -> dict[str, Any]:
        """JSON form stored as the planned/applied state."""
        return self.model_dump(mode="json")
