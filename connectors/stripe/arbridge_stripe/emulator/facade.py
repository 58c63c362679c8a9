"""The emulator as the demo and the end-to-end tests drive it (``SourceEmulator``).

Bookkeeping actions (``issue_invoice``, ``pay_invoice``, ``dispute_invoice``...) change the
state directly, as a finance team would in the Stripe Dashboard; the connector sees them only
through the HTTP API and the webhooks they cause.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import httpx

from arbridge.api import Clock, Money
from arbridge_stripe.emulator.app import EmulatorApp, create_app
from arbridge_stripe.emulator.state import StripeState
from arbridge_stripe.emulator.webhooks import DeliveryKnobs, WebhookSender

DEMO_API_KEY = "sk_test_arbridgeEmulatorKey0000000000"
DEMO_WEBHOOK_SECRET = "whsec_arbridgeEmulatorSigningSecret000000"  # noqa: S105 - emulator only
# Dates become timestamps at noon UTC, so they read back as the same date in any zone
# within ±12 h.
_NOON = time(12, 0, tzinfo=UTC)


def at_noon(day: date) -> int:
    return int(datetime.combine(day, _NOON).timestamp())


class StripeEmulator:
    def __init__(
        self,
        *,
        clock: Clock,
        seed: int = 0,
        api_key: str = DEMO_API_KEY,
        webhook_secret: str = DEMO_WEBHOOK_SECRET,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.state = StripeState(clock, seed=seed)
        self.api_key = api_key
        self.webhook_secret = webhook_secret
        self.sender = WebhookSender(webhook_secret, transport=transport)
        self.state.add_listener(self.sender.on_event)
        self._app = create_app(self.state, api_keys={api_key})

    @property
    def app(self) -> Any:
        return self._app

    @property
    def http(self) -> EmulatorApp:
        emulator: EmulatorApp = self._app.state.emulator
        return emulator

    @property
    def knobs(self) -> DeliveryKnobs:
        return self.sender.knobs

    def config(self, base_url: str) -> dict[str, Any]:
        return {
            "api_key": self.api_key,
            "api_base": base_url,
            "webhook_secret": self.webhook_secret,
        }

    def stats(self) -> dict[str, Any]:
        stats = self.http.snapshot()
        delivery = self.sender.stats
        stats.update(
            webhooks_sent=delivery.sent,
            webhooks_delivered=delivery.delivered,
            webhooks_failed=delivery.failed,
            webhooks_dropped=delivery.dropped,
            webhooks_pending=len(self.sender.pending()),
            events=len(self.state.events),
        )
        return stats

    def subscribe(self, url: str) -> None:
        self.sender.subscribe(url)

    def flush_webhooks(self) -> int:
        return self.sender.flush()

    def add_customer(
        self, name: str, email: str | None = None, *, account: str | None = None
    ) -> str:
        customer_id: str = self.state.create_customer(name, email, account=account)["id"]
        return customer_id

    def update_customer(
        self, customer_id: str, *, account: str | None = None, **changes: Any
    ) -> None:
        self.state.update_customer(customer_id, changes, account=account)

    def draft_invoice(
        self,
        customer_id: str,
        *,
        currency: str,
        amount: Decimal,
        due_date: date | None = None,
        terms: str | None = None,
        account: str | None = None,
    ) -> str:
        minor = Money(amount=amount, currency=currency).to_minor()
        invoice = self.state.create_invoice(
            customer_id,
            currency=currency,
            amount=minor,
            account=account,
            due_date=None if due_date is None else at_noon(due_date),
            metadata={} if terms is None else {"terms": terms},
        )
        invoice_id: str = invoice["id"]
        return invoice_id

    def issue_invoice(
        self,
        customer_id: str,
        *,
        currency: str,
        amount: Decimal,
        issue_date: date,
        due_date: date,
        terms: str,
        account: str | None = None,
    ) -> str:
        invoice_id = self.draft_invoice(
            customer_id,
            currency=currency,
            amount=amount,
            due_date=due_date,
            terms=terms,
            account=account,
        )
        self.state.finalize(invoice_id, account=account, effective_at=at_noon(issue_date))
        return invoice_id

    def pay_invoice(self, invoice_id: str, amount: Decimal, *, account: str | None = None) -> None:
        currency = self.state.get("invoice", invoice_id, account)["currency"]
        minor = Money(amount=amount, currency=currency).to_minor()
        self.state.pay(invoice_id, minor, account=account)

    def fail_payment(self, invoice_id: str, *, account: str | None = None) -> None:
        """A declined automatic payment attempt (``invoice.payment_failed``)."""
        self.state.fail_payment(invoice_id, account=account)

    def emit_overdue(self, invoice_id: str, *, account: str | None = None) -> None:
        """``invoice.overdue``, as a Billing automation would send it."""
        self.state.emit_overdue(invoice_id, account=account)

    def void_invoice(self, invoice_id: str, *, account: str | None = None) -> None:
        self.state.void(invoice_id, account=account)

    def mark_uncollectible(self, invoice_id: str, *, account: str | None = None) -> None:
        self.state.mark_uncollectible(invoice_id, account=account)

    def delete_invoice(self, invoice_id: str, *, account: str | None = None) -> None:
        self.state.delete_invoice(invoice_id, account=account)

    def dispute_invoice(self, invoice_id: str, reason: str, *, account: str | None = None) -> None:
        """Open a dispute on the invoice's latest payment (``charge.dispute.created``)."""
        self.open_dispute(invoice_id, reason, account=account)

    def open_dispute(self, invoice_id: str, reason: str, *, account: str | None = None) -> str:
        """Like ``dispute_invoice``; returns the dispute id (``dp_...``)."""
        dispute_id: str = self.state.open_dispute(invoice_id, reason, account=account)["id"]
        return dispute_id

    def close_dispute(self, dispute_id: str, *, won: bool, account: str | None = None) -> None:
        self.state.close_dispute(dispute_id, won=won, account=account)

    def close(self) -> None:
        self.sender.close()
