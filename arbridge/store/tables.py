"""Database tables. Rows are storage, not domain objects: ``repo`` maps them to the model."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from arbridge.store.types import UTCDateTime


def _ts(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class CustomerRow(SQLModel, table=True):
    __tablename__ = "customers"

    key: str = Field(primary_key=True)
    source: str
    source_account: str
    name: str
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    updated_at: datetime = _ts()


class InvoiceRow(SQLModel, table=True):
    """The canonical invoice as last accepted, with the source version that wins conflicts."""

    __tablename__ = "invoices"
    __table_args__ = (Index("ix_invoices_customer", "customer_key"),)

    key: str = Field(primary_key=True)
    source: str
    source_account: str
    source_id: str
    number: str
    customer_key: str
    status: str
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    version_at: datetime = _ts()
    version_seq: int = 0
    updated_at: datetime = _ts()


class TaskLinkRow(SQLModel, table=True):
    """One invoice's task: its id once created, the state queued operations will leave it in
    (``planned``) and the state the task tool last accepted (``applied``)."""

    __tablename__ = "task_links"

    invoice_key: str = Field(primary_key=True)
    task_id: str | None = Field(default=None, index=True)
    planned: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    applied: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    generation: int = 0
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class OutboxRow(SQLModel, table=True):
    """A pending operation against the task tool. Deleted once applied (the audit keeps it)."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("idempotency_key", name="uq_outbox_idempotency_key"),
        Index("ix_outbox_task_key_id", "task_key", "id"),
        Index("ix_outbox_due", "state", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    task_key: str
    kind: str
    coalesce_key: str | None = Field(default=None, index=True)
    idempotency_key: str
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    reason: str = ""
    state: str = "pending"
    attempts: int = 0
    permanent_failure: bool = False
    next_attempt_at: datetime = _ts()
    lease_until: datetime | None = _ts(nullable=True)
    claimed_by: str | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = _ts()


class CursorRow(SQLModel, table=True):
    __tablename__ = "sync_cursors"

    name: str = Field(primary_key=True)
    value: str
    updated_at: datetime = _ts()


class AuditRow(SQLModel, table=True):
    """What was sent, when and why."""

    __tablename__ = "audit"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts(index=True)
    invoice_key: str = Field(index=True)
    action: str
    reason: str = ""
    outcome: str
    detail: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class PaymentHistoryRow(SQLModel, table=True):
    """One invoice's payment outcome, imported or settled here, that predictions learn from."""

    __tablename__ = "payment_history"
    __table_args__ = (
        UniqueConstraint("customer_id", "invoice_id", name="uq_payment_history_invoice"),
        Index("ix_payment_history_customer", "customer_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: str
    invoice_id: str
    issue_date: date
    due_date: date
    amount: str
    currency: str
    paid_date: date | None = None
    disputed: bool = False
    attributes: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    origin: str
    updated_at: datetime = _ts()


class PredictionRow(SQLModel, table=True):
    """The latest prediction for an open invoice; refreshed on its changes and on each refit, so
    the task's risk fields move when the facts behind them do, not every day."""

    __tablename__ = "predictions"

    invoice_key: str = Field(primary_key=True)
    risk_score: int
    p_late: float
    p_late_30: float
    predicted_pay_date: date
    p90_pay_date: date
    reasons: list[str] = Field(sa_column=Column(JSON, nullable=False))
    queue_bucket: int | None = None
    computed_at: datetime = _ts()


class FiringRow(SQLModel, table=True):
    """A rule that fired, recorded in the transaction that queued what it does: the unique
    occurrence key is what stops a crash or a re-delivered event from firing it twice."""

    __tablename__ = "rule_firings"
    __table_args__ = (
        UniqueConstraint("subject_key", "occurrence_key", name="uq_rule_firings_occurrence"),
        Index("ix_rule_firings_rule_subject", "rule_id", "subject_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    rule_id: str
    rule_version: str
    subject_key: str
    occurrence_key: str
    intents: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    fired_at: datetime = _ts()


class CollectionRow(SQLModel, table=True):
    """What collection has done to an invoice: reminders, pauses and the rules' task intents."""

    __tablename__ = "collection_state"

    invoice_key: str = Field(primary_key=True)
    reminders_sent: int = 0
    last_reminder_at: datetime | None = _ts(nullable=True)
    customer_replied_since_last_reminder: bool = False
    promise_to_pay_date: date | None = None
    reminders_paused_until: date | None = None
    status: str | None = None
    priority: int | None = None
    assignees: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Collectors' own facts, from ClickUp webhooks (changes arbridge made itself are ignored).
    customer_replied_at: datetime | None = _ts(nullable=True)
    disputed_by_collector: bool = False
    collector_status: str | None = None
    updated_at: datetime = _ts()


class InboxRow(SQLModel, table=True):
    """A verified webhook event, stored before the delivery is acknowledged. The unique
    ``(provider, event_id)`` makes a re-delivery a no-op; rows are kept once processed so a
    late duplicate is still recognised."""

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("provider", "event_id", name="uq_inbox_provider_event"),
        Index("ix_inbox_due", "state", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    provider: str
    event_id: str
    kind: str
    account: str = ""
    occurred_at: datetime | None = _ts(nullable=True)
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    received_at: datetime = _ts()
    state: str = "pending"  # pending -> done | failed (permanent)
    attempts: int = 0
    next_attempt_at: datetime = _ts()
    lease_until: datetime | None = _ts(nullable=True)
    processed_at: datetime | None = _ts(nullable=True)
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class CredentialRow(SQLModel, table=True):
    """A connector's tokens, encrypted with the key in ARBRIDGE_SECRET_KEY."""

    __tablename__ = "credentials"

    name: str = Field(primary_key=True)
    ciphertext: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: datetime = _ts()


class DisputeRow(SQLModel, table=True):
    """A payment dispute at the source; an open one marks its invoice disputed."""

    __tablename__ = "disputes"
    __table_args__ = (Index("ix_disputes_invoice", "invoice_key"),)

    key: str = Field(primary_key=True)
    invoice_key: str | None = None
    status: str
    reason: str
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    version_at: datetime = _ts()
    version_seq: int = 0
    updated_at: datetime = _ts()
