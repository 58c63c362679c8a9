"""A local QuickBooks Online emulator: OAuth (auto-approving), the data API subset arbridge
uses, CDC, throttling and signed webhooks in both formats.

    emulator = QuickBooksEmulator(clock=FakeClock(...))
    with LoopbackServer(emulator.app) as server:        # from arbridge.testing
        section = emulator.config(server.base_url)      # a full ``quickbooks:`` settings section
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from arbridge.api import Clock
from arbridge_quickbooks.emulator.app import EmulatorApp, Gate, json_response
from arbridge_quickbooks.emulator.errors import QboFault
from arbridge_quickbooks.emulator.oauth import OAuthServer
from arbridge_quickbooks.emulator.outbox import Format, WebhookOutbox
from arbridge_quickbooks.emulator.state import Change, CompanyState, sales_line

DEMO_REALM = "9341453050298765"
DEMO_CLIENT_ID = "ABemulatorClientId0000000000000000000000000000"
DEMO_CLIENT_SECRET = "emulator-client-secret-0000000000000000"  # noqa: S105 - emulator only
DEMO_VERIFIER_TOKEN = "emulator-verifier-token-00000000"  # noqa: S105 - emulator only
DEMO_REDIRECT_URI = "http://localhost:8080/oauth/quickbooks/callback"


class QuickBooksEmulator:
    """The ``SourceEmulator`` for QuickBooks Online."""

    def __init__(
        self,
        *,
        clock: Clock,
        seed: int = 0,
        rate_limit: int | None = 500,
        max_concurrent: int = 10,
        webhook_format: Format = "cloudevents",
        webhook_transport: httpx.BaseTransport | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        home_currency: str = "USD",
        redirect_uri: str = DEMO_REDIRECT_URI,
    ) -> None:
        self.clock = clock
        self.seed = seed
        self.redirect_uri = redirect_uri
        self.company = CompanyState(DEMO_REALM, clock, home_currency)
        self.oauth = OAuthServer(clock, {DEMO_CLIENT_ID: DEMO_CLIENT_SECRET}, DEMO_REALM)
        self.gate = Gate(rate_limit, max_concurrent, monotonic)
        self.outbox = WebhookOutbox(
            DEMO_VERIFIER_TOKEN,
            app_id=DEMO_CLIENT_ID,
            fmt=webhook_format,
            transport=webhook_transport,
        )
        self.company.listeners.append(self.outbox.record)
        self._app = EmulatorApp(self.company, self.oauth, self.gate)

    @property
    def app(self) -> Any:
        return self._app

    @property
    def realm_id(self) -> str:
        return DEMO_REALM

    def config(self, base_url: str) -> dict[str, Any]:
        base = base_url.rstrip("/")
        return {
            "client_id": DEMO_CLIENT_ID,
            "client_secret": DEMO_CLIENT_SECRET,
            "environment": "sandbox",
            "api_base_url": base,
            "oauth_base_url": base,
            "webhook_verifier_token": DEMO_VERIFIER_TOKEN,
            "redirect_uri": self.redirect_uri,
        }

    def stats(self) -> dict[str, Any]:
        requests = dict(self.gate.requests)
        return {
            "requests": requests,
            "total": sum(requests.values()),
            "http_429": self.gate.statuses.get(429, 0),
            "http_401": self.gate.statuses.get(401, 0),
            "token_refreshes": self.oauth.refreshes,
            "refresh_rotations": self.oauth.rotations,
            "webhooks_sent": self.outbox.sent,
            "webhooks_dropped": self.outbox.dropped,
            "webhooks_failed": self.outbox.failed,
            "webhooks_queued": self.outbox.queued,
        }

    def approve(self, authorization_url: str) -> str:
        """What a user clicking Connect does: the redirect URL (code, realmId, state) for an
        authorization URL, without a browser or an HTTP round trip."""
        params = {k: v[0] for k, v in parse_qs(urlsplit(authorization_url).query).items()}
        code = self.oauth.authorize(params.get("client_id", ""), params.get("redirect_uri", ""))
        query = urlencode({"code": code, "state": params.get("state", ""), "realmId": DEMO_REALM})
        target = params["redirect_uri"]
        return f"{target}{'&' if '?' in target else '?'}{query}"

    # --- webhooks -------------------------------------------------------------------------

    def subscribe(self, url: str) -> None:
        self.outbox.subscribe(url)

    def flush_webhooks(self) -> int:
        return self.outbox.flush()

    def close(self) -> None:
        """Close the webhook sender's connections."""
        self.outbox.close()

    # --- bookkeeping ----------------------------------------------------------------------

    def add_customer(self, name: str, email: str | None = None) -> str:
        body: dict[str, Any] = {"DisplayName": name}
        if email:
            body["PrimaryEmailAddr"] = {"Address": email}
        return str(self.company.create("Customer", body)["Id"])

    def _term_ref(self, terms: str) -> dict[str, str]:
        for term in self.company.objects["Term"].values():
            if term["Name"] == terms:
                return {"value": term["Id"], "name": terms}
        days = int("".join(ch for ch in terms if ch.isdigit()) or 0)
        term = self.company.create("Term", {"Name": terms, "DueDays": days, "Type": "STANDARD"})
        return {"value": str(term["Id"]), "name": terms}

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
        customer = self.company.get("Customer", customer_id)
        body: dict[str, Any] = {
            "CustomerRef": {"value": customer_id},
            "CurrencyRef": {"value": currency.upper()},
            "TxnDate": issue_date.isoformat(),
            "DueDate": due_date.isoformat(),
            "SalesTermRef": self._term_ref(terms),
            "Line": [sales_line(amount, "Services")],
            "EmailStatus": "NotSet",
        }
        if customer.get("PrimaryEmailAddr"):
            body["BillEmail"] = dict(customer["PrimaryEmailAddr"])
        return str(self.company.create("Invoice", body)["Id"])

    def pay_invoice(self, invoice_id: str, amount: Decimal) -> None:
        invoice = self.company.get("Invoice", invoice_id)
        self.company.create(
            "Payment",
            {
                "CustomerRef": {"value": invoice["CustomerRef"]["value"]},
                "CurrencyRef": dict(invoice["CurrencyRef"]),
                "TotalAmt": amount,
                "TxnDate": self.clock.now().date().isoformat(),
                "Line": [
                    {"Amount": amount, "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}
                ],
            },
        )

    def void_invoice(self, invoice_id: str) -> None:
        invoice = self.company.get("Invoice", invoice_id)
        self.company.void("Invoice", {"Id": invoice_id, "SyncToken": invoice["SyncToken"]})

    def delete_invoice(self, invoice_id: str) -> None:
        invoice = self.company.get("Invoice", invoice_id)
        self.company.delete("Invoice", {"Id": invoice_id, "SyncToken": invoice["SyncToken"]})

    def dispute_invoice(self, invoice_id: str, reason: str) -> None:
        raise NotImplementedError("QuickBooks Online has no disputes")


__all__ = [
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "DEMO_REALM",
    "DEMO_REDIRECT_URI",
    "DEMO_VERIFIER_TOKEN",
    "Change",
    "CompanyState",
    "EmulatorApp",
    "Gate",
    "OAuthServer",
    "QboFault",
    "QuickBooksEmulator",
    "WebhookOutbox",
    "json_response",
]
