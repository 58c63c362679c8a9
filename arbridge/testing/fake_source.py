"""An in-memory invoice source for engine tests: a tiny signed-webhook provider.

It keeps invoices and a change log; ``poll`` reads the log from a cursor, webhooks carry
``{"id", "type", "invoice"}`` signed with hex HMAC-SHA256 in ``x-fake-signature``, and
``resolve`` re-reads the invoice as a real connector does. ``refuse_credentials`` makes every
call raise ``AuthError``, like a revoked token.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from arbridge.clock import Clock
from arbridge.errors import AuthError, WebhookRejected
from arbridge.model.invoice import Customer, Dispute, Invoice, InvoiceStatus, Source, SourceVersion
from arbridge.ports.source import (
    DeletedInvoice,
    InboundEvent,
    PollResult,
    SourceBatch,
    SourceHealth,
)

ACCOUNT = "fake-acct"


# The fake stands in for a Stripe-like source: its objects carry that name.
SOURCE = Source("stripe")


class FakeSource:
    name = "stripe"

    def __init__(self, clock: Clock, secret: str = "whsec_fake_secret") -> None:  # noqa: S107
        self.clock = clock
        self.secret = secret
        self.customers: dict[str, Customer] = {}
        self.invoices: dict[str, Invoice] = {}
        self.log: list[tuple[str, str]] = []  # (kind, object id)
        self.disputes: dict[str, Dispute] = {}
        self.deleted: dict[str, datetime] = {}
        self.refuse_credentials = False
        self.calls = 0
        self._seq = 0

    # -- the bookkeeping side -------------------------------------------------------------

    def add_customer(self, source_id: str, name: str) -> Customer:
        customer = Customer(source=SOURCE, source_account=ACCOUNT, source_id=source_id, name=name)
        self.customers[source_id] = customer
        return customer

    def issue(self, source_id: str, customer_id: str, amount: str, due: date) -> dict[str, Any]:
        customer = self.customers[customer_id]
        total = Decimal(amount)
        invoice = Invoice(
            source=SOURCE,
            source_account=ACCOUNT,
            source_id=source_id,
            number=f"F-{source_id}",
            customer_id=customer_id,
            customer_name=customer.name,
            issue_date=self.clock.now().date(),
            due_date=due,
            currency="USD",
            total=total,
            amount_paid=Decimal(0),
            balance=total,
            status=InvoiceStatus.OPEN,
            version=self._version(),
        )
        self.invoices[source_id] = invoice
        return self.record("invoice.finalized", source_id)

    def pay(self, source_id: str, amount: str) -> dict[str, Any]:
        invoice = self.invoices[source_id]
        paid = invoice.amount_paid + Decimal(amount)
        balance = invoice.total - paid
        status = InvoiceStatus.PAID if balance == 0 else InvoiceStatus.PARTIALLY_PAID
        self.invoices[source_id] = Invoice.model_validate(
            invoice.model_dump()
            | {
                "amount_paid": paid,
                "balance": balance,
                "status": status,
                "paid_date": self.clock.now().date() if balance == 0 else None,
                "version": self._version(),
            }
        )
        return self.record("invoice.paid" if balance == 0 else "invoice.updated", source_id)

    def dispute(self, dispute_id: str, invoice_id: str, *, open_: bool = True) -> dict[str, Any]:
        from arbridge.model.invoice import DisputeStatus
        from arbridge.model.money import Money

        invoice = self.invoices[invoice_id]
        self.disputes[dispute_id] = Dispute(
            source=SOURCE,
            source_account=ACCOUNT,
            source_id=dispute_id,
            invoice_id=invoice_id,
            amount=Money(amount=invoice.total, currency=invoice.currency),
            reason="fraudulent",
            status=DisputeStatus.OPEN if open_ else DisputeStatus.WON,
            opened_at=self.clock.now(),
            version=self._version(),
        )
        return self.record(
            "charge.dispute.created" if open_ else "charge.dispute.closed", dispute_id
        )

    def delete(self, source_id: str) -> dict[str, Any]:
        self.invoices.pop(source_id)
        self.deleted[source_id] = self.clock.now()
        return self.record("invoice.deleted", source_id)

    def _version(self) -> SourceVersion:
        self._seq += 1
        return SourceVersion(updated_at=self.clock.now(), sequence=self._seq)

    def record(self, kind: str, object_id: str) -> dict[str, Any]:
        self.log.append((kind, object_id))
        return {"id": f"evt_{len(self.log)}", "type": kind, "object": object_id}

    def sign(self, body: bytes) -> str:
        return hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()

    def delivery(self, event: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(event).encode()
        return body, {"content-type": "application/json", "x-fake-signature": self.sign(body)}

    # -- the InvoiceSource side ----------------------------------------------------------

    def _call(self) -> None:
        self.calls += 1
        if self.refuse_credentials:
            raise AuthError("the fake provider refused the key (reconnect)")

    def backfill(self, progress: Callable[[int], None] | None = None) -> Iterator[SourceBatch]:
        self._call()
        yield SourceBatch(customers=list(self.customers.values()))
        invoices = list(self.invoices.values())
        for start in range(0, len(invoices), 50):
            yield SourceBatch(invoices=invoices[start : start + 50])
            if progress is not None:
                progress(min(start + 50, len(invoices)))

    def start_cursor(self) -> str:
        return str(len(self.log))

    def poll(self, cursor: str | None) -> PollResult:
        self._call()
        start = int(cursor or 0)
        batch = SourceBatch()
        for kind, object_id in self.log[start:]:
            batch.extend(self._read(kind, object_id))
        return PollResult(batch=batch, cursor=str(len(self.log)))

    def _read(self, kind: str, object_id: str) -> SourceBatch:
        if kind.startswith("charge.dispute"):
            return SourceBatch(disputes=[self.disputes[object_id]])
        if object_id in self.deleted:
            return SourceBatch(
                deleted=[DeletedInvoice(SOURCE, ACCOUNT, object_id, self.deleted[object_id])]
            )
        invoice = self.invoices[object_id]
        return SourceBatch(customers=[self.customers[invoice.customer_id]], invoices=[invoice])

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> list[InboundEvent]:
        given = headers.get("x-fake-signature", "")
        if not given:
            raise WebhookRejected("missing x-fake-signature header", status=400)
        if not hmac.compare_digest(given, self.sign(body)):
            raise WebhookRejected("signature does not match", status=400)
        try:
            event = json.loads(body)
            return [
                InboundEvent(
                    provider="stripe",
                    event_id=str(event["id"]),
                    kind=str(event["type"]),
                    account=ACCOUNT,
                    occurred_at=None,
                    payload=event,
                )
            ]
        except (ValueError, KeyError, TypeError):
            raise WebhookRejected("body is not a fake event", status=400) from None

    def resolve(self, event: InboundEvent) -> SourceBatch:
        self._call()
        return self._read(event.kind, str(event.payload["object"]))

    def health(self) -> SourceHealth:
        if self.refuse_credentials:
            return SourceHealth(False, "the fake provider refused the key: reconnect it")
        return SourceHealth(True)

    def close(self) -> None:
        pass
