"""What the engine needs from a source of invoices (QuickBooks Online, Stripe) and from a
webhook sender (those two and ClickUp).

A source never writes to the store itself: it turns API reads and webhook deliveries into
canonical objects (:class:`SourceBatch`) and the engine stores them. The only state a source
keeps is its credentials (through :class:`CredentialStore`) and the opaque polling cursor the
engine stores for it.

Webhook handling is split in two so that nothing is lost and nothing is done twice:

1. ``verify_webhook`` runs on the request thread: it checks the signature on the raw body and
   splits the delivery into :class:`InboundEvent` objects, each with the provider's event id.
   The engine writes them to the inbox (deduplicated by ``(provider, event_id)``) and only then
   acknowledges the delivery.
2. ``resolve`` runs later on a worker: it reads whatever the event names (or trusts the
   payload when it carries a versioned object) and returns canonical objects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from arbridge.clock import Clock
from arbridge.model.invoice import Customer, Dispute, Invoice, Payment, Source


@dataclass(frozen=True)
class InboundEvent:
    """One event of a verified webhook delivery, as stored in the inbox."""

    provider: str  # "stripe", "quickbooks" or "clickup"
    event_id: str  # the provider's id; the inbox's deduplication key with ``provider``
    kind: str  # e.g. "invoice.paid", "Invoice.Update", "taskStatusUpdated"
    account: str  # Stripe account, QuickBooks realm, ClickUp team ("" when unknown)
    occurred_at: datetime | None
    payload: dict[str, Any]  # this event's JSON, enough for ``resolve`` to work from


@dataclass(frozen=True)
class DeletedInvoice:
    """An invoice deleted at the source; the engine closes its task as void."""

    source: Source
    source_account: str
    source_id: str
    deleted_at: datetime

    @property
    def key(self) -> str:
        return f"{self.source.value}:{self.source_account}:{self.source_id}"


@dataclass
class SourceBatch:
    """Canonical objects read from a source, applied by the engine in this order: customers,
    invoices, payments, disputes, deletions. Every invoice carries its ``SourceVersion``, so a
    batch built from an old event can never overwrite newer state."""

    customers: list[Customer] = field(default_factory=list)
    invoices: list[Invoice] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    disputes: list[Dispute] = field(default_factory=list)
    deleted: list[DeletedInvoice] = field(default_factory=list)

    def __len__(self) -> int:
        return (
            len(self.customers)
            + len(self.invoices)
            + len(self.payments)
            + len(self.disputes)
            + len(self.deleted)
        )

    def extend(self, other: SourceBatch) -> None:
        self.customers.extend(other.customers)
        self.invoices.extend(other.invoices)
        self.payments.extend(other.payments)
        self.disputes.extend(other.disputes)
        self.deleted.extend(other.deleted)


@dataclass(frozen=True)
class PollResult:
    batch: SourceBatch
    cursor: str  # opaque to the engine; stored and handed back on the next poll
    full_sweep: bool = False  # True when the source re-read everything (cursor too old, daily)


@dataclass(frozen=True)
class SourceHealth:
    ok: bool
    message: str = ""  # when not ok: what is wrong and what to do (no secrets)


class CredentialStore(Protocol):
    """Durable, encrypted-at-rest storage for a connector's tokens.

    ``save`` returns only once the value is committed: a refresh token rotated by the provider
    must be safe on disk before the new access token is used.
    """

    def load(self, name: str) -> dict[str, Any] | None: ...

    def save(self, name: str, value: dict[str, Any]) -> None: ...


class InvoiceSource(Protocol):
    """A system invoices come from. Calls may raise ``arbridge.errors`` exceptions:
    ``AuthError`` means the stored credentials were refused (the engine stops polling this
    source only and reports ``health()``); ``TransientError`` is retried later."""

    name: str  # "quickbooks" or "stripe"

    def backfill(self, progress: Callable[[int], None] | None = None) -> Iterator[SourceBatch]:
        """Everything, page by page (customers before the invoices that name them).
        ``progress`` is called with the number of objects read so far."""
        ...

    def poll(self, cursor: str | None) -> PollResult:
        """What changed since ``cursor`` (None: since the start of the backfill that just ran)."""
        ...

    def start_cursor(self) -> str:
        """A cursor for "now", taken before a backfill so nothing changed during it is missed."""
        ...

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> list[InboundEvent]:
        """Check the signature over the raw ``body`` and split the delivery into events.
        Raises ``WebhookRejected`` for a bad signature, a stale timestamp or a malformed body.
        ``headers`` keys are lower-case."""
        ...

    def resolve(self, event: InboundEvent) -> SourceBatch:
        """The canonical objects an event stands for (reading the source when needed)."""
        ...

    def health(self) -> SourceHealth: ...

    def close(self) -> None: ...


class SourceEmulator(Protocol):
    """A local stand-in for a source, with the actions of a company's bookkeeping, used by the
    demo and the end-to-end tests. Object timestamps come from the clock it was built with;
    webhook signatures use the real time, as providers do."""

    @property
    def app(self) -> Any:
        """The ASGI application."""
        ...

    def config(self, base_url: str) -> dict[str, Any]:
        """The connector's config section pointing at this emulator served at ``base_url``."""
        ...

    def stats(self) -> dict[str, Any]:
        """``{"requests": {endpoint: n}, "total": n, "webhooks_sent": n, ...}``."""
        ...

    def subscribe(self, url: str) -> None:
        """Send webhooks to ``url`` from now on."""
        ...

    def flush_webhooks(self) -> int:
        """Deliver every queued webhook now, on the calling thread; returns deliveries made
        (duplicates and retries included)."""
        ...

    def add_customer(self, name: str, email: str | None = None) -> str:
        """Create a customer; returns its source id."""
        ...

    def issue_invoice(
        self,
        customer_id: str,
        *,
        currency: str,
        amount: Decimal,
        issue_date: date,
        due_date: date,
        terms: str,
    ) -> str:
        """Create (and finalise) an invoice; returns its source id."""
        ...

    def pay_invoice(self, invoice_id: str, amount: Decimal) -> None:
        """Record a payment of ``amount`` (all or part of the balance) on the clock's date."""
        ...

    def void_invoice(self, invoice_id: str) -> None: ...

    def dispute_invoice(self, invoice_id: str, reason: str) -> None:
        """Open a dispute on the invoice's payment (Stripe); QuickBooks has no disputes and
        raises ``NotImplementedError``."""
        ...


@runtime_checkable
class SourceConnector(Protocol):
    """The entry-point object of a source distribution (group ``arbridge.connectors``)."""

    name: str

    def build_source(
        self,
        settings: Any,
        *,
        credentials: CredentialStore,
        clock: Clock,
        secrets: list[str],
    ) -> InvoiceSource: ...

    def source_emulator(self, *, clock: Clock, seed: int = 0) -> SourceEmulator: ...


@runtime_checkable
class OAuthConnector(Protocol):
    """A source connected through an OAuth authorization-code grant (e.g. QuickBooks). The
    daemon serves ``/oauth/{name}/callback`` with ``complete_pending``."""

    def authorization_url(self, settings: Any, state: str) -> str: ...

    def begin_authorization(self, settings: Any, credentials: CredentialStore) -> str:
        """Start a connection (its state kept in ``credentials``); the URL to open."""
        ...

    def complete_pending(
        self, settings: Any, credentials: CredentialStore, redirect_url: str, *, clock: Clock
    ) -> str:
        """Finish the connection started by ``begin_authorization`` from the provider's
        redirect; returns the connected account. Raises ``ConfigError`` with what to fix."""
        ...
