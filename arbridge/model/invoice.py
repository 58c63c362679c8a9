"""Canonical invoices, customers, payments and disputes, whichever system they came from."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    field_validator,
    model_validator,
)
from pydantic_core import core_schema

from arbridge.model.calendar import BusinessCalendar
from arbridge.model.money import Money, minor_units, quantize


class Source(str):
    """Which system an object came from: the name of its source connector, as in the config
    and the store (e.g. ``"quickbooks"``). An open identifier, not an enum: a new connector
    brings a new source without an engine edit. Lower-case letters, digits and ``_``; which
    names exist is checked against the installed connectors where they enter (the config,
    the sources the engine builds)."""

    __slots__ = ()

    def __new__(cls, value: str) -> Self:
        if not isinstance(value, str) or not SOURCE_NAME.fullmatch(value):
            raise ValueError(
                f"invalid source {value!r}: lower-case letters, digits and _ after a letter"
            )
        return super().__new__(cls, value)

    @property
    def value(self) -> str:
        """The plain string, as stored."""
        return str(self)

    def __repr__(self) -> str:
        return f"Source({str(self)!r})"

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source_type: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(
            cls,
            core_schema.str_schema(),
            serialization=core_schema.plain_serializer_function_ser_schema(str),
        )


SOURCE_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    VOID = "void"
    UNCOLLECTIBLE = "uncollectible"
    DISPUTED = "disputed"


# Statuses in which money is still expected; only these age.
RECEIVABLE = frozenset({InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.DISPUTED})


class AgingBucket(StrEnum):
    CURRENT = "current"
    D1_30 = "1-30"
    D31_60 = "31-60"
    D61_90 = "61-90"
    D90_PLUS = "90+"

    @classmethod
    def for_days_overdue(cls, days: int) -> AgingBucket:
        if days <= 0:
            return cls.CURRENT
        if days <= 30:
            return cls.D1_30
        if days <= 60:
            return cls.D31_60
        if days <= 90:
            return cls.D61_90
        return cls.D90_PLUS


class SourceVersion(BaseModel):
    """Orders two copies of the same object: the later ``updated_at`` wins, then the sequence.

    QuickBooks: LastUpdatedTime + SyncToken. Stripe: the event's ``created`` (or the object's
    own timestamp on a re-read) with the sequence left at 0.
    """

    model_config = ConfigDict(frozen=True)

    updated_at: datetime
    sequence: int = 0

    @field_validator("updated_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("updated_at must be timezone-aware")
        return value

    def is_newer_than(self, other: SourceVersion) -> bool:
        return (self.updated_at, self.sequence) > (other.updated_at, other.sequence)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Customer(_Frozen):
    source: Source
    source_account: str = Field(min_length=1)
    source_id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    email: str | None = None
    tags: tuple[str, ...] = ()
    key_account: bool = False

    @property
    def key(self) -> str:
        return f"{self.source.value}:{self.source_account}:{self.source_id}"


class Invoice(_Frozen):
    source: Source
    source_account: str = Field(min_length=1)
    source_id: str = Field(min_length=1)
    number: str = Field(min_length=1)
    customer_id: str = Field(min_length=1)
    customer_name: str = Field(min_length=1)
    issue_date: date
    due_date: date | None
    terms: str | None = None
    currency: str
    total: Decimal
    amount_paid: Decimal
    balance: Decimal
    status: InvoiceStatus
    paid_date: date | None = None
    link: str | None = None
    billing_email: str | None = None
    version: SourceVersion

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        code = value.upper()
        minor_units(code)
        return code

    @model_validator(mode="after")
    def _amounts(self) -> Self:
        for name in ("total", "amount_paid", "balance"):
            value: Decimal = getattr(self, name)
            exact = quantize(value, self.currency)
            if exact != value:
                raise ValueError(
                    f"{name} {value} has more decimals than {self.currency} allows "
                    f"({minor_units(self.currency)})"
                )
            if value < 0:
                raise ValueError(f"{name} must not be negative (got {value})")
            object.__setattr__(self, name, exact)
        if self.balance > self.total:
            raise ValueError(f"balance {self.balance} exceeds total {self.total}")
        if self.status is InvoiceStatus.PAID and self.balance != 0:
            raise ValueError("a paid invoice must have a zero balance")
        return self

    @property
    def key(self) -> str:
        """Stable identity across systems; also written on the ClickUp task."""
        return f"{self.source.value}:{self.source_account}:{self.source_id}"

    @property
    def customer_key(self) -> str:
        return f"{self.source.value}:{self.source_account}:{self.customer_id}"

    @property
    def total_money(self) -> Money:
        return Money(amount=self.total, currency=self.currency)

    @property
    def balance_money(self) -> Money:
        return Money(amount=self.balance, currency=self.currency)

    @property
    def is_receivable(self) -> bool:
        return self.status in RECEIVABLE and self.balance > 0

    def days_overdue(self, today: date) -> int:
        """Calendar days past due while money is owed; 0 otherwise."""
        if not self.is_receivable or self.due_date is None:
            return 0
        return max(0, (today - self.due_date).days)

    def days_until_due(self, today: date) -> int | None:
        if self.due_date is None:
            return None
        return (self.due_date - today).days

    def business_days_overdue(self, today: date, calendar: BusinessCalendar) -> int:
        if not self.is_receivable or self.due_date is None or today <= self.due_date:
            return 0
        return calendar.business_days_between(self.due_date, today)

    def business_days_until_due(self, today: date, calendar: BusinessCalendar) -> int | None:
        if self.due_date is None:
            return None
        return calendar.business_days_between(today, self.due_date)

    def is_overdue(self, today: date) -> bool:
        return self.days_overdue(today) > 0

    def aging_bucket(self, today: date) -> AgingBucket:
        return AgingBucket.for_days_overdue(self.days_overdue(today))


class Payment(_Frozen):
    source: Source
    source_account: str = Field(min_length=1)
    source_id: str = Field(min_length=1)
    customer_id: str = Field(min_length=1)
    amount: Money
    received_date: date
    invoice_ids: tuple[str, ...] = ()
    version: SourceVersion


class DisputeStatus(StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


class Dispute(_Frozen):
    source: Source
    source_account: str = Field(min_length=1)
    source_id: str = Field(min_length=1)
    invoice_id: str | None
    amount: Money
    reason: str
    status: DisputeStatus
    opened_at: datetime
    version: SourceVersion
