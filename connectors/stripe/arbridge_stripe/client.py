"""Reads from the Stripe API through the official library, with errors in arbridge's terms.

``StripeClient`` runs on its httpx client (sync methods enabled), points at
``settings.api_base`` (the emulator in tests and the demo) and retries connection errors, 409s
and 5xx by itself ``max_network_retries`` times with Stripe's own backoff; 429s, which it leaves
alone, are retried here as often. Every request carries the library's pinned API version
(2026-10-28). What still fails is mapped once, in :func:`map_error`, and every message is
scrubbed of the key. Objects come back as plain dicts, so mapping code reads Stripe's
documented field names and is tested against ``fixtures3.json`` samples.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

import stripe

from arbridge.api import (
    STATUS_ERRORS,
    AuthError,
    Backoff,
    ConnectorError,
    NotFoundError,
    PermanentError,
    RateLimitedError,
    SecretRedactor,
    TransientError,
    call_with_retries,
    make_error,
    retry_after_s,
)
from arbridge_stripe.settings import StripeSettings

T = TypeVar("T")
PAGE_SIZE = 100
# The library retries everything but 429s; those are retried here: 1 s, 2 s, 4 s ... up to
# 20 s (a longer Retry-After too), plus up to a quarter second.
RATE_LIMIT_BACKOFF = Backoff(
    first_s=1.0, max_s=20.0, jitter_s=0.25, retry_after_jitter_s=0.25, retry_after_max_s=20.0
)
# Stripe answers 409 to a request that collided with another on the same object: try again.
STATUS_ERRORS_STRIPE = STATUS_ERRORS.extend({409: TransientError})

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


def _body_code(body: object) -> str | None:
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else None


def map_error(exc: stripe.StripeError, what: str, redactor: SecretRedactor) -> ConnectorError:
    """One table from the library's exceptions to arbridge's error classes."""
    status = exc.http_status
    # Some classes (409s become APIError) leave ``code`` unset; the error body still has it.
    code = exc.code or _body_code(exc.json_body)
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
    cls: type[ConnectorError]
    if isinstance(exc, stripe.RateLimitError):
        cls = RateLimitedError
    elif isinstance(exc, stripe.APIConnectionError):
        cls = TransientError
    elif code == "resource_missing":
        cls = NotFoundError
    elif status is None:
        # No answer to classify: an API error is the service's side, anything else ours.
        cls = TransientError if isinstance(exc, stripe.APIError) else PermanentError
    else:
        cls = STATUS_ERRORS_STRIPE.error_class(status) or PermanentError
    retry_after = retry_after_s(exc.headers) if issubclass(cls, RateLimitedError) else None
    return make_error(cls, message, status=status, code=code, retry_after=retry_after)


def _id_of(value: Any) -> str | None:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return str(value["id"])
    return None


class StripeApi:
    """The handful of reads the source needs. ``account`` is a Connect account id to act as
    (``Stripe-Account``); ``None`` is the platform's own account."""

    def __init__(
        self,
        settings: StripeSettings,
        *,
        secrets: Iterable[str] = (),
        http_client: stripe.HTTPClient | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        key = settings.api_key.get_secret_value()
        self._max_retries = settings.max_network_retries
        self._sleep = sleep
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
        """``fn`` with errors mapped. The library retries connection errors, 409s and 5xx but
        never a 429, so a rate-limited read is retried here, as many times and backing off."""

        def attempt() -> T:
            try:
                return fn()
            except stripe.StripeError as exc:
                error = map_error(exc, what, self._redactor)
            # Raised outside the handler: the library's exception keeps the request and its
            # headers, and must not travel on as ``__context__``.
            raise error

        return call_with_retries(
            attempt,
            retries=self._max_retries,
            sleep=self._sleep,
            policy=RATE_LIMIT_BACKOFF,
            retry_if=lambda error: isinstance(error, RateLimitedError),
        )

    def _get(
        self, what: str, path: str, params: dict[str, Any], account: str | None
    ) -> dict[str, Any]:
        """One GET through the library's ``raw_request`` (same auth, version pin, retries and
        errors), read as JSON: building typed objects for 100 full invoices a page costs more
        than the request itself, and the mapping reads documented field names anyway."""
        if account:
            params = {**params, "stripe_account": account}
        response = self._call(what, lambda: self._client.raw_request("get", path, **params))
        body = response.data if isinstance(response, stripe.StripeResponse) else None
        if not isinstance(body, dict):
            raise TransientError(f"Stripe {what} answered without a JSON object; retrying later")
        return dict(body)

    def _optional(
        self, what: str, path: str, params: dict[str, Any], account: str | None
    ) -> dict[str, Any] | None:
        try:
            found = self._get(what, path, params, account)
        except NotFoundError:
            return None
        return None if found.get("deleted") else found

    def retrieve_invoice(self, invoice_id: str, account: str | None) -> dict[str, Any] | None:
        """The invoice with its customer and payments expanded; ``None`` when Stripe no longer
        has it (deleted drafts)."""
        params = {"expand": ["customer", "payments"]}
        path = f"/v1/invoices/{quote(invoice_id, safe='')}"
        found = self._optional(f"invoice {invoice_id}", path, params, account)
        # Older API versions could also answer a deleted draft with status "deleted".
        return None if found is None or found.get("status") == "deleted" else found

    def retrieve_customer(self, customer_id: str, account: str | None) -> dict[str, Any] | None:
        path = f"/v1/customers/{quote(customer_id, safe='')}"
        return self._optional(f"customer {customer_id}", path, {}, account)

    def retrieve_dispute(self, dispute_id: str, account: str | None) -> dict[str, Any]:
        path = f"/v1/disputes/{quote(dispute_id, safe='')}"
        return self._get(f"dispute {dispute_id}", path, {}, account)

    def payment_intent_of_charge(self, charge_id: str, account: str | None) -> str | None:
        path = f"/v1/charges/{quote(charge_id, safe='')}"
        intent = self._get(f"charge {charge_id}", path, {}, account).get("payment_intent")
        return _id_of(intent)

    def invoice_of_payment_intent(self, intent_id: str, account: str | None) -> str | None:
        """Since API 2025-03-31 a payment names no invoice; the invoice payments list does."""
        params = {"payment": {"type": "payment_intent", "payment_intent": intent_id}, "limit": 1}
        page = self._list(
            f"invoice payments of {intent_id}", "/v1/invoice_payments", params, account
        )
        for item in page.data:
            invoice = _id_of(item.get("invoice"))
            if invoice is not None:
                return invoice
        return None

    def _list(self, what: str, path: str, params: dict[str, Any], account: str | None) -> Page:
        body = self._get(what, path, params, account)
        items = body.get("data")
        if not isinstance(items, list):
            raise TransientError(f"Stripe {what} answered without a list; retrying later")
        return Page([dict(item) for item in items], bool(body.get("has_more")))

    @staticmethod
    def _paged(params: dict[str, Any], starting_after: str | None) -> dict[str, Any]:
        return {**params, "starting_after": starting_after} if starting_after else params

    def list_customers(self, starting_after: str | None, account: str | None) -> Page:
        params = self._paged({"limit": PAGE_SIZE}, starting_after)
        return self._list("customers", "/v1/customers", params, account)

    def list_invoices(self, starting_after: str | None, account: str | None) -> Page:
        params = self._paged({"limit": PAGE_SIZE, "expand": ["data.payments"]}, starting_after)
        return self._list("invoices", "/v1/invoices", params, account)

    def list_events(
        self, *, created_gte: int, starting_after: str | None, account: str | None
    ) -> Page:
        """One page of the events arbridge handles, newest first."""
        params = {"limit": PAGE_SIZE, "created": {"gte": created_gte}, "types": list(EVENT_TYPES)}
        return self._list("events", "/v1/events", self._paged(params, starting_after), account)

    def check(self) -> None:
        """One cheap authenticated read (raises the mapped error)."""
        self._get("events", "/v1/events", {"limit": 1}, None)

    def close(self) -> None:
        self._http.close()  # type: ignore[no-untyped-call]
