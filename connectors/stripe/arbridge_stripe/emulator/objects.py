"""The JSON shapes of Stripe objects, as in Stripe's ``fixtures3.json`` (API 2026-10-28).

Invoices carry the Basil-era fields (``parent``, ``amount_overpaid``; ``payments`` when
expanded) and none of the removed ones (``paid``, ``charge``, ``payment_intent``).
"""

from __future__ import annotations

from typing import Any

API_VERSION = "2026-10-28.endive"

_EMPTY_ADDRESS: dict[str, Any] = {
    "city": None,
    "country": None,
    "line1": None,
    "line2": None,
    "postal_code": None,
    "state": None,
}

_EVIDENCE_FIELDS = (
    "access_activity_log",
    "billing_address",
    "cancellation_policy",
    "cancellation_policy_disclosure",
    "cancellation_rebuttal",
    "customer_communication",
    "customer_email_address",
    "customer_name",
    "customer_purchase_ip",
    "customer_signature",
    "duplicate_charge_documentation",
    "duplicate_charge_explanation",
    "duplicate_charge_id",
    "product_description",
    "receipt",
    "refund_policy",
    "refund_policy_disclosure",
    "refund_refusal_explanation",
    "service_date",
    "service_documentation",
    "shipping_address",
    "shipping_carrier",
    "shipping_date",
    "shipping_documentation",
    "shipping_tracking_number",
    "uncategorized_file",
    "uncategorized_text",
)


def customer(
    cid: str, *, name: str | None, email: str | None, created: int, prefix: str
) -> dict[str, Any]:
    return {
        "id": cid,
        "object": "customer",
        "address": dict(_EMPTY_ADDRESS),
        "balance": 0,
        "created": created,
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "email": email,
        "invoice_prefix": prefix,
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": {},
        "name": name,
        "next_invoice_sequence": 1,
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }


def invoice(
    iid: str,
    *,
    customer_id: str,
    currency: str,
    amount: int,
    created: int,
    collection_method: str,
    due_date: int | None,
    description: str | None,
    metadata: dict[str, str],
    line_id: str,
) -> dict[str, Any]:
    return {
        "id": iid,
        "object": "invoice",
        "account_country": "US",
        "account_name": "arbridge emulator",
        "account_tax_ids": None,
        "amount_due": amount,
        "amount_overpaid": 0,
        "amount_paid": 0,
        "amount_remaining": amount,
        "amount_shipping": 0,
        "application": None,
        "attempt_count": 0,
        "attempted": False,
        "auto_advance": False,
        "automatically_finalizes_at": None,
        "billing_reason": "manual",
        "collection_method": collection_method,
        "created": created,
        "currency": currency,
        "custom_fields": None,
        "customer": customer_id,
        "customer_account": None,
        "customer_address": None,
        "customer_email": None,
        "customer_name": None,
        "customer_phone": None,
        "customer_shipping": None,
        "customer_tax_exempt": "none",
        "customer_tax_ids": [],
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": description,
        "discounts": [],
        "due_date": due_date,
        "effective_at": None,
        "ending_balance": None,
        "footer": None,
        "from_invoice": None,
        "hosted_invoice_url": None,
        "invoice_pdf": None,
        "issuer": {"type": "self"},
        "last_finalization_error": None,
        "latest_revision": None,
        "lines": {
            "object": "list",
            "data": (
                [
                    line_item(
                        line_id,
                        iid,
                        amount=amount,
                        currency=currency,
                        description=description,
                        at=created,
                    )
                ]
                if amount
                else []
            ),
            "has_more": False,
            "url": f"/v1/invoices/{iid}/lines",
        },
        "livemode": False,
        "metadata": dict(metadata),
        "next_payment_attempt": None,
        "number": None,
        "on_behalf_of": None,
        "parent": None,
        "period_end": created,
        "period_start": created,
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": None,
        "starting_balance": 0,
        "statement_descriptor": None,
        "status": "draft",
        "status_transitions": {
            "finalized_at": None,
            "marked_uncollectible_at": None,
            "paid_at": None,
            "voided_at": None,
        },
        "subtotal": amount,
        "subtotal_excluding_tax": amount,
        "test_clock": None,
        "total": amount,
        "total_discount_amounts": [],
        "total_excluding_tax": amount,
        "total_pretax_credit_amounts": [],
        "total_taxes": [],
        "webhooks_delivered_at": None,
    }


def line_item(
    lid: str, iid: str, *, amount: int, currency: str, description: str | None, at: int
) -> dict[str, Any]:
    return {
        "id": lid,
        "object": "line_item",
        "amount": amount,
        "currency": currency,
        "description": description,
        "invoice": iid,
        "livemode": False,
        "metadata": {},
        "period": {"end": at, "start": at},
        "quantity": 1,
    }


def invoice_payment(
    ipid: str, *, invoice_id: str, amount: int, currency: str, payment_intent: str, paid_at: int
) -> dict[str, Any]:
    return {
        "id": ipid,
        "object": "invoice_payment",
        "amount_paid": amount,
        "amount_requested": amount,
        "created": paid_at,
        "currency": currency,
        "invoice": invoice_id,
        "is_default": True,
        "livemode": False,
        "payment": {"type": "payment_intent", "payment_intent": payment_intent},
        "status": "paid",
        "status_transitions": {"canceled_at": None, "paid_at": paid_at},
    }


def payment_intent(
    pid: str, *, amount: int, currency: str, customer_id: str, charge_id: str, created: int
) -> dict[str, Any]:
    return {
        "id": pid,
        "object": "payment_intent",
        "amount": amount,
        "amount_received": amount,
        "created": created,
        "currency": currency,
        "customer": customer_id,
        "latest_charge": charge_id,
        "livemode": False,
        "metadata": {},
        "status": "succeeded",
    }


def charge(
    chid: str, *, amount: int, currency: str, customer_id: str, payment_intent: str, created: int
) -> dict[str, Any]:
    return {
        "id": chid,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": 0,
        "captured": True,
        "created": created,
        "currency": currency,
        "customer": customer_id,
        "disputed": False,
        "livemode": False,
        "metadata": {},
        "paid": True,
        "payment_intent": payment_intent,
        "refunded": False,
        "status": "succeeded",
    }


def dispute(
    did: str,
    *,
    amount: int,
    currency: str,
    charge_id: str,
    payment_intent: str | None,
    reason: str,
    created: int,
    due_by: int,
) -> dict[str, Any]:
    return {
        "id": did,
        "object": "dispute",
        "amount": amount,
        "balance_transactions": [],
        "charge": charge_id,
        "created": created,
        "currency": currency,
        "enhanced_eligibility_types": [],
        "evidence": {name: None for name in _EVIDENCE_FIELDS},
        "evidence_details": {
            "due_by": due_by,
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
        },
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "payment_intent": payment_intent,
        "payment_method_details": {"type": "card", "card": {"brand": "visa", "network": "visa"}},
        "reason": reason,
        "status": "needs_response",
    }


def event(
    eid: str,
    *,
    kind: str,
    obj: dict[str, Any],
    created: int,
    account: str | None,
    request_id: str | None,
    idempotency_key: str | None,
    previous_attributes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {"object": obj}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    body: dict[str, Any] = {
        "id": eid,
        "object": "event",
        "api_version": API_VERSION,
        "created": created,
        "data": data,
        "livemode": False,
        "pending_webhooks": 0,
        "request": {"id": request_id, "idempotency_key": idempotency_key},
        "type": kind,
    }
    if account is not None:
        # Connect: events of a connected account name it; the platform's own events don't.
        body["account"] = account
    return body
