"""Stripe as an invoice source: backfill, events polling, webhooks and event resolution.

Every event (delivered or polled) is a hint: ``resolve`` re-reads the object it names and maps
the read (see ``mapping`` for how reads are versioned), so duplicates and out-of-order
deliveries converge on Stripe's current state. A dispute is followed to its invoice through
the payment: dispute -> payment intent (or charge -> payment intent) -> invoice payments list
-> invoice, because since API 2025-03-31 neither charges nor payment intents name an invoice.

Connect: an event from a connected account carries ``account``; its objects are read with
``Stripe-Account`` and keyed with that id as ``source_account``. Objects of the platform itself
use ``settings.account``. Backfill and polling cover the platform account; connected accounts
arrive through webhooks (a Connect endpoint).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from functools import partial
from typing import Any, TypeVar

from arbridge.api import (
    AuthError,
    Clock,
    ConnectorError,
    InboundEvent,
    NotFoundError,
    PermanentError,
    PollResult,
    SourceBatch,
    SourceHealth,
)
from arbridge_stripe.client import StripeApi
from arbridge_stripe.cursor import EventCursor
from arbridge_stripe.mapping import (
    deleted_invoice,
    map_customer,
    map_dispute,
    map_invoice,
    map_payments,
)
from arbridge_stripe.settings import StripeSettings
from arbridge_stripe.webhooks import to_inbound, verify_delivery

log = logging.getLogger(__name__)
T = TypeVar("T")

# Stripe keeps events 30 days; a cursor that old may have lost some, so sweep instead. The hour
# of margin covers the time a poll takes and clock skew between us and Stripe.
EVENT_RETENTION = timedelta(days=30) - timedelta(hours=1)
# start_cursor looks back a little: an event stamped by Stripe's clock just before ours must
# not fall between the backfill and the first poll.
CURSOR_OVERLAP = timedelta(minutes=5)


@dataclass
class _Wanted:
    """The objects a set of events names, each read once."""

    invoices: dict[tuple[str | None, str], datetime | None] = field(default_factory=dict)
    deleted: dict[tuple[str | None, str], datetime | None] = field(default_factory=dict)
    disputes: set[tuple[str | None, str]] = field(default_factory=set)
    customers: set[tuple[str | None, str]] = field(default_factory=set)


def _object_id(payload: Mapping[str, Any]) -> str | None:
    data = payload.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    oid = obj.get("id") if isinstance(obj, dict) else None
    return oid if isinstance(oid, str) and oid else None


class StripeSource:
    name = "stripe"

    def __init__(
        self,
        settings: StripeSettings,
        *,
        api: StripeApi,
        clock: Clock,
        zone: tzinfo,
    ) -> None:
        self._settings = settings
        self._api = api
        self._clock = clock
        self._zone = zone
        self._backfill_cursor: str | None = None

    def __repr__(self) -> str:
        return f"StripeSource(account={self._settings.account!r})"

    # ------------------------------------------------------------------ accounts

    def _label(self, account: str | None) -> str:
        return account or self._settings.account

    def _connected(self, event: InboundEvent) -> str | None:
        """The ``Stripe-Account`` to read this event's objects with (None: the platform)."""
        account = event.payload.get("account")
        return account if isinstance(account, str) and account else None

    # ------------------------------------------------------------------ backfill

    def start_cursor(self) -> str:
        moment = self._clock.now() - CURSOR_OVERLAP
        cursor = EventCursor(int(moment.timestamp())).encode()
        self._backfill_cursor = cursor
        return cursor

    def backfill(self, progress: Callable[[int], None] | None = None) -> Iterator[SourceBatch]:
        read = 0
        after: str | None = None
        while True:
            page = self._api.list_customers(after, None)
            batch = SourceBatch(
                customers=[map_customer(c, account=self._label(None)) for c in page.data]
            )
            read += len(page.data)
            if progress is not None:
                progress(read)
            if batch:
                yield batch
            if not page.has_more or not page.data:
                break
            after = str(page.data[-1]["id"])
        after = None
        while True:
            page = self._api.list_invoices(after, None)
            read_at = self._clock.now()
            batch = SourceBatch()
            for obj in page.data:
                self._add_invoice(obj, None, read_at, batch, with_customer=False)
            read += len(page.data)
            if progress is not None:
                progress(read)
            if batch:
                yield batch
            if not page.has_more or not page.data:
                break
            after = str(page.data[-1]["id"])

    # ------------------------------------------------------------------ polling

    def poll(self, cursor: str | None) -> PollResult:
        text = cursor if cursor is not None else self._backfill_cursor
        current = EventCursor.decode(text) if text is not None else None
        if current is None or current.at < self._clock.now() - EVENT_RETENTION:
            return self._sweep(current)
        events: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            page = self._api.list_events(
                created_gte=current.created, starting_after=after, account=None
            )
            events.extend(page.data)
            if not page.has_more or not page.data:
                break
            after = str(page.data[-1]["id"])
        fresh = [e for e in events if e.get("id") not in current.seen]
        default = self._settings.account
        batch = self._resolve_many([to_inbound(e, default) for e in fresh], skip_broken=True)
        advanced = current.advance([(str(e["id"]), int(e["created"])) for e in events])
        # A quiet account must not age its cursor into a needless sweep: whatever Stripe has
        # not listed by now minus the overlap, it never will.
        floor = int((self._clock.now() - CURSOR_OVERLAP).timestamp())
        if floor > advanced.created:
            advanced = EventCursor(floor)
        return PollResult(batch=batch, cursor=advanced.encode())

    def _sweep(self, stale: EventCursor | None) -> PollResult:
        # Taken before reading, so whatever changes during the sweep is polled next time.
        cursor = self.start_cursor()
        log.info(
            "stripe full sweep",
            extra={"reason": "no cursor" if stale is None else f"cursor from {stale.at}"},
        )
        batch = SourceBatch()
        for page in self.backfill():
            batch.extend(page)
        return PollResult(batch=batch, cursor=cursor, full_sweep=True)

    # ------------------------------------------------------------------ webhooks

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> list[InboundEvent]:
        secret = self._settings.webhook_secret
        return verify_delivery(
            headers,
            body,
            secret=None if secret is None else secret.get_secret_value(),
            tolerance=self._settings.webhook_tolerance_s,
            default_account=self._settings.account,
        )

    def resolve(self, event: InboundEvent) -> SourceBatch:
        return self._resolve_many([event], skip_broken=False)

    def _resolve_many(self, events: list[InboundEvent], *, skip_broken: bool) -> SourceBatch:
        """Read each object the events name once. With ``skip_broken`` (polling) an object
        that cannot be read for good is logged and left out, so one bad invoice cannot hold
        the cursor back for every other change; transient and auth errors still fail it."""
        wanted = _Wanted()
        for event in events:
            oid = _object_id(event.payload)
            if oid is None:
                continue
            key = (self._connected(event), oid)
            if event.kind == "invoice.deleted":
                wanted.deleted[key] = event.occurred_at
                wanted.invoices.pop(key, None)
            elif event.kind.startswith("invoice.") and key not in wanted.deleted:
                wanted.invoices.setdefault(key, event.occurred_at)
            elif event.kind.startswith("charge.dispute."):
                wanted.disputes.add(key)
            elif event.kind in ("customer.created", "customer.updated"):
                wanted.customers.add(key)
            # Other types are verified and stored, but name nothing arbridge mirrors.
        batch = SourceBatch()
        guard = partial(self._guarded, skip_broken)
        for account, dispute_id in sorted(wanted.disputes, key=str):
            invoice_id = guard(dispute_id, partial(self._read_dispute, account, dispute_id, batch))
            if invoice_id is not None:
                wanted.invoices.setdefault((account, invoice_id), None)
        for account, customer_id in sorted(wanted.customers, key=str):
            guard(customer_id, partial(self._read_customer, account, customer_id, batch))
        for (account, invoice_id), occurred in sorted(wanted.invoices.items(), key=str):
            guard(invoice_id, partial(self._read_invoice, account, invoice_id, occurred, batch))
        for (account, invoice_id), occurred in sorted(wanted.deleted.items(), key=str):
            at = occurred or self._clock.now()
            batch.deleted.append(deleted_invoice(invoice_id, account=self._label(account), at=at))
        return batch

    @staticmethod
    def _guarded(skip_broken: bool, what: str, read: Callable[[], T]) -> T | None:
        try:
            return read()
        except PermanentError as exc:
            if not skip_broken or isinstance(exc, AuthError):
                raise
            log.warning("stripe object skipped", extra={"object": what, "error": str(exc)})
            return None

    def _read_invoice(
        self, account: str | None, invoice_id: str, occurred: datetime | None, batch: SourceBatch
    ) -> None:
        obj = self._api.retrieve_invoice(invoice_id, account)
        read_at = self._clock.now()
        label = self._label(account)
        if obj is None:
            at = occurred or read_at
            batch.deleted.append(deleted_invoice(invoice_id, account=label, at=at))
            return
        self._add_invoice(obj, account, read_at, batch, with_customer=True)

    def _add_invoice(
        self,
        obj: dict[str, Any],
        account: str | None,
        read_at: datetime,
        batch: SourceBatch,
        *,
        with_customer: bool,
    ) -> None:
        label = self._label(account)
        customer = obj.get("customer")
        if with_customer and isinstance(customer, dict) and not customer.get("deleted"):
            batch.customers.append(map_customer(customer, account=label))
        batch.invoices.append(map_invoice(obj, account=label, read_at=read_at, zone=self._zone))
        batch.payments.extend(map_payments(obj, account=label, read_at=read_at, zone=self._zone))

    def _read_customer(self, account: str | None, customer_id: str, batch: SourceBatch) -> None:
        obj = self._api.retrieve_customer(customer_id, account)
        if obj is not None:
            batch.customers.append(map_customer(obj, account=self._label(account)))

    def _read_dispute(self, account: str | None, dispute_id: str, batch: SourceBatch) -> str | None:
        obj = self._api.retrieve_dispute(dispute_id, account)
        read_at = self._clock.now()
        invoice_id = self._invoice_of_dispute(obj, account)
        batch.disputes.append(
            map_dispute(obj, account=self._label(account), invoice_id=invoice_id, read_at=read_at)
        )
        return invoice_id

    def _invoice_of_dispute(self, obj: dict[str, Any], account: str | None) -> str | None:
        intent = obj.get("payment_intent")
        intent_id = intent.get("id") if isinstance(intent, dict) else intent
        if not isinstance(intent_id, str) or not intent_id:
            charge = obj.get("charge")
            charge_id = charge.get("id") if isinstance(charge, dict) else charge
            if not isinstance(charge_id, str) or not charge_id:
                return None
            try:
                intent_id = self._api.payment_intent_of_charge(charge_id, account)
            except NotFoundError:
                return None
            if intent_id is None:
                return None
        return self._api.invoice_of_payment_intent(intent_id, account)

    # ------------------------------------------------------------------ health

    def health(self) -> SourceHealth:
        try:
            self._api.check()
        except AuthError as exc:
            return SourceHealth(ok=False, message=str(exc))
        except ConnectorError as exc:
            return SourceHealth(ok=False, message=f"Stripe is unreachable or failing: {exc}")
        return SourceHealth(ok=True)

    def close(self) -> None:
        self._api.close()
