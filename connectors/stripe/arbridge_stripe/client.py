"""Reads from the Stripe API through the official library, with errors in arbridge's terms.

``StripeClient`` runs on its httpx client (sync methods enabled), points at
``settings.api_base`` (the emulator in tests and the demo) and retries connection errors, 409s
and 5xx by itself ``max_network_retries`` times with Stripe's own backoff; every request
carries the pinned API version. What still fails is mapped once, in :func:`map_error`, and
every message is scrubbed of the key. Objects come back as plain dicts, so mapping code reads
Stripe's documented field names and can be tested against ``fixtures3.json`` samples.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import stripe
from stripe.params import CustomerListParams, EventListParams, InvoiceListParams

from arbridge.errors import (
    AuthError,
    ConnectorError,
    NotFoundError,
    PermanentError,
    RateLimitedError,
    TransientError,
)
from arbridge.logging import SecretRedactor
from arbridge.settings import StripeSettings

T = TypeVar("T")
PAGE_SIZE = 100

# The events arbridge subscribes to and polls for (``types[]`` takes at most 20).
EVENT_TYPES: tuple[str, ...] = (
    "invoice.created",
    "invoice.finalized",
    "invoice.updated",
    "invoice.paid",
    "invoice.payment_failed",
    "invoice.payment_succeeded",
    "invoice.voided",
    "invoice.marked_uncollectible",
    "invoice.deleted",
    "invoice.overdue",
    "charge.dispute.created",
    "charge.dispute.updated",
    "charge.dispute.closed",
    "customer.created",
    "customer.updated",
)


@dataclass(frozen=True)
class Page:
    data: list[dict[str, Any]]
    has_more: bool


def _retry_after(exc: stripe.StripeError) -> float | None:
    headers = exc.headers or {}
    for name, value in headers.items():
        if name.lower() == "retry-after":
            try:
                return float(value)
            except (TypeError, ValueError):
                return None
    return None


def map_error(exc: stripe.StripeError, what: str, redactor: SecretRedactor) -> ConnectorError:
    """One table from the library's exceptions to arbridge's error classes."""
    status = exc.http_status
    code = exc.code
    detail = redactor.scrub(exc.user_message or str(exc) or type(exc).__name__)
    request_id = f" (request {exc.request_id})" if exc.request_id else ""
    message = f"Stripe {what} failed: {detail}{request_id}"
    if isinstance(exc, stripe.AuthenticationError):
        return AuthError(
            f"Stripe refused the API key while reading {what}: set a valid secret or "
            f"restricted key in stripe.api_key ({detail})",
            status=status,
            code=code,
        )
    if isinstance(exc, stripe.PermissionError):
        return AuthError(
            f"the Stripe key may not read {what}: give the restricted key read access to "
            f"Invoices, Customers, Disputes and Events ({detail})",
            status=status,
            code=code,
        )
    if isinstance(exc, stripe.RateLimitError) or status == 429:
        return RateLimitedError(message, status=status, code=code, retry_after=_retry_after(exc))
    if isinstance(exc, stripe.APIConnectionError):
        return TransientError(message, status=status, code=code)
    if status == 404 or code == "resource_missing":
        return NotFoundError(message, status=status, code=code)
    if status is not None and (status >= 500 or status == 409):
        return TransientError(message, status=status, code=code)
    if isinstance(exc, stripe.APIError) and status is None:
        return TransientError(message, status=status, code=code)
    return PermanentError(message, status=status, code=code)


def as_dict(obj: Any) -> dict[str, Any]:
    if isinstance(obj, stripe.StripeObject):
        return obj.to_dict(recursive=True)
    if isinstance(obj, dict):
        return obj
    raise TypeError(f"unexpected Stripe response {type(obj).__name__}")


class StripeApi:
    """The handful of reads the source needs. ``account`` is a Connect account id to act as
    (``Stripe-Account``); ``None`` is the platform's own account."""

    def __init__(
        self,
        settings: StripeSettings,
        *,
        secrets: Iterable[str] = (),
        http_client: stripe.HTTPClient | None = None,
    ) -> None:
        key = settings.api_key.get_secret_value()
        self._redactor = SecretRedactor([key, *secrets])
        self._http = http_client or stripe.HTTPXClient(
            timeout=settings.timeout_s, allow_sync_methods=True
        )
        self._client = stripe.StripeClient(
            key,
            base_addresses={"api": settings.api_base.rstrip("/")},
            max_network_retries=settings.max_network_retries,
            http_client=self._http,
        )

    def __repr__(self) -> str:
        return "StripeApi(api_key=[redacted])"

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except stripe.StripeError as exc:
            # "from None": the library's exception keeps the request and its headers.
            raise map_error(exc, what, self._redactor) from None

    @staticmethod
    def _options(account: str | None) -> stripe.RequestOptions:
        return {"stripe_account": account} if account else {}

    def retrieve_invoice(self, invoice_id: str, account: str | None) -> dict[str, Any] | None:
        """The invoice with its customer and payments expanded; ``None`` when Stripe no longer
        has it (deleted drafts)."""
        try:
            obj = self._call(
                f"invoice {invoice_id}",
                lambda: self._client.v1.invoices.retrieve(
                    invoice_id, {"expand": ["customer", "payments"]}, self._options(account)
                ),
            )
        except NotFoundError:
            return None
        found = as_dict(obj)
        return None if found.get("deleted") else found

    def retrieve_customer(self, customer_id: str, account: str | None) -> dict[str, Any] | None:
        try:
            obj = self._call(
                f"customer {customer_id}",
                lambda: self._client.v1.customers.retrieve(
                    customer_id, None, self._options(account)
                ),
            )
        except NotFoundError:
            return None
        found = as_dict(obj)
        return None if found.get("deleted") else found

    def retrieve_dispute(self, dispute_id: str, account: str | None) -> dict[str, Any]:
        return as_dict(
            self._call(
                f"dispute {dispute_id}",
                lambda: self._client.v1.disputes.retrieve(dispute_id, None, self._options(account)),
            )
        )

    def payment_intent_of_charge(self, charge_id: str, account: str | None) -> str | None:
        charge = as_dict(
            self._call(
                f"charge {charge_id}",
                lambda: self._client.v1.charges.retrieve(charge_id, None, self._options(account)),
            )
        )
        intent = charge.get("payment_intent")
        return intent if isinstance(intent, str) else None

    def invoice_of_payment_intent(self, intent_id: str, account: str | None) -> str | None:
        """Since API 2025-03-31 a payment names no invoice; the invoice payments list does."""
        page = self._call(
            f"invoice payments of {intent_id}",
            lambda: self._client.v1.invoice_payments.list(
                {"payment": {"type": "payment_intent", "payment_intent": intent_id}, "limit": 1},
                self._options(account),
            ),
        )
        for item in page.data:
            invoice = as_dict(item).get("invoice")
            if isinstance(invoice, str):
                return invoice
            if isinstance(invoice, dict) and isinstance(invoice.get("id"), str):
                return str(invoice["id"])
        return None

    def list_customers(self, starting_after: str | None, account: str | None) -> Page:
        params: CustomerListParams = {"limit": PAGE_SIZE}
        if starting_after:
            params["starting_after"] = starting_after
        result = self._call(
            "customers",
            lambda: self._client.v1.customers.list(params, self._options(account)),
        )
        return Page([as_dict(o) for o in result.data], bool(result.has_more))

    def list_invoices(self, starting_after: str | None, account: str | None) -> Page:
        params: InvoiceListParams = {"limit": PAGE_SIZE, "expand": ["data.payments"]}
        if starting_after:
            params["starting_after"] = starting_after
        result = self._call(
            "invoices",
            lambda: self._client.v1.invoices.list(params, self._options(account)),
        )
        return Page([as_dict(o) for o in result.data], bool(result.has_more))

    def list_events(
        self, *, created_gte: int, starting_after: str | None, account: str | None
    ) -> Page:
        """One page of the events arbridge handles, newest first."""
        params: EventListParams = {
            "limit": PAGE_SIZE,
            "created": {"gte": created_gte},
            "types": list(EVENT_TYPES),
        }
        if starting_after:
            params["starting_after"] = starting_after
        result = self._call(
            "events",
            lambda: self._client.v1.events.list(params, self._options(account)),
        )
        return Page([as_dict(o) for o in result.data], bool(result.has_more))

    def check(self) -> None:
        """One cheap authenticated read (raises the mapped error)."""
        self._call("events", lambda: self._client.v1.events.list({"limit": 1}))

    def close(self) -> None:
        self._http.close()  # type: ignore[no-untyped-call]
