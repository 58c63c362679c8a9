"""The emulated endpoints: one function per Stripe v1 path, plus the test hooks.

Each handler gets the parsed request (:class:`Call`) and the state, and returns the JSON
answer or raises ``StripeApiError``; ``app.endpoint`` does auth, encoding and idempotency.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from arbridge_stripe.emulator import listing
from arbridge_stripe.emulator.errors import StripeApiError
from arbridge_stripe.emulator.state import StripeState

Params = dict[str, Any]


@dataclass(frozen=True)
class Call:
    """One authenticated request, parsed."""

    params: Params
    account: str | None
    path: dict[str, str]

    def expand(self) -> list[str]:
        value = self.params.get("expand", [])
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]


Handler = Callable[[StripeState, Call], Any]

# ---------------------------------------------------------------------- handlers


def _int(params: Params, name: str, default: int | None = None) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise StripeApiError(400, f"Invalid integer: {value}", param=name) from None


def _required(params: Params, name: str) -> str:
    value = params.get(name)
    if not isinstance(value, str) or not value:
        raise StripeApiError(400, f"Missing required param: {name}.", param=name)
    return value


def _metadata(params: Params) -> dict[str, str]:
    value = params.get("metadata", {})
    if not isinstance(value, dict):
        raise StripeApiError(400, "Invalid metadata: must be a hash", param="metadata")
    return {str(k): str(v) for k, v in value.items()}


def list_customers(state: StripeState, call: Call) -> Any:
    email = call.params.get("email")
    found = state.find("customer", call.account, lambda c: email is None or c["email"] == email)
    found = listing.by_created(found, call.params)
    return listing.page(found, call.params, "/v1/customers")


def create_customer(state: StripeState, call: Call) -> Any:
    return state.create_customer(
        call.params.get("name"),
        call.params.get("email"),
        account=call.account,
        metadata=_metadata(call.params),
    )


def get_customer(state: StripeState, call: Call) -> Any:
    return state.get("customer", call.path["id"], call.account)


def update_customer(state: StripeState, call: Call) -> Any:
    changes = {k: v for k, v in call.params.items() if k != "expand"}
    return state.update_customer(call.path["id"], changes, account=call.account)


def list_invoices(state: StripeState, call: Call) -> Any:
    params = call.params
    wanted = {k: params.get(k) for k in ("customer", "status", "collection_method")}

    def keep(invoice: dict[str, Any]) -> bool:
        return all(v is None or invoice[k] == v for k, v in wanted.items())

    found = listing.by_created(state.find("invoice", call.account, keep), params)
    found = listing.by_range(found, params, "due_date")
    return listing.page(
        found, params, "/v1/invoices", lambda o: state.expand(o, _nested(call), call.account)
    )


def _nested(call: Call) -> list[str]:
    # In a list, expand names fields of the items as ``data.customer``.
    return [f.removeprefix("data.") for f in call.expand()]


def create_invoice(state: StripeState, call: Call) -> Any:
    params = call.params
    currency = params.get("currency") or "usd"
    obj = state.create_invoice(
        _required(params, "customer"),
        currency=str(currency),
        amount=0,
        account=call.account,
        collection_method=str(params.get("collection_method") or "charge_automatically"),
        due_date=_int(params, "due_date"),
        days_until_due=_int(params, "days_until_due"),
        description=params.get("description"),
        metadata=_metadata(params),
    )
    return state.expand(obj, call.expand(), call.account)


def get_invoice(state: StripeState, call: Call) -> Any:
    obj = state.get("invoice", call.path["id"], call.account)
    return state.expand(obj, call.expand(), call.account)


def update_invoice(state: StripeState, call: Call) -> Any:
    with state.lock:
        obj = state.get("invoice", call.path["id"], call.account)
        previous: dict[str, Any] = {}
        for key in ("description", "due_date", "metadata"):
            if key not in call.params:
                continue
            previous[key] = obj[key]
            if key == "metadata":
                obj["metadata"] = {**obj["metadata"], **_metadata(call.params)}
            elif key == "due_date":
                obj["due_date"] = _int(call.params, "due_date")
            else:
                obj[key] = call.params[key] or None
        if previous:
            state.emit("invoice.updated", obj, call.account, previous)
        return state.expand(obj, call.expand(), call.account)


def delete_invoice(state: StripeState, call: Call) -> Any:
    state.delete_invoice(call.path["id"], account=call.account)
    return {"id": call.path["id"], "object": "invoice", "deleted": True}


def invoice_action(action: str) -> Handler:
    def handle(state: StripeState, call: Call) -> Any:
        iid, account = call.path["id"], call.account
        if action == "finalize":
            state.finalize(iid, account=account)
        elif action == "pay":
            state.pay(iid, _int(call.params, "amount"), account=account)
        elif action == "void":
            state.void(iid, account=account)
        elif action == "mark_uncollectible":
            state.mark_uncollectible(iid, account=account)
        elif action == "send":
            state.emit("invoice.sent", state.get("invoice", iid, account), account)
        return state.expand(state.get("invoice", iid, account), call.expand(), account)

    return handle


def create_invoice_item(state: StripeState, call: Call) -> Any:
    params = call.params
    iid = _required(params, "invoice")
    amount = _int(params, "amount")
    if amount is None:
        raise StripeApiError(400, "Missing required param: amount.", param="amount")
    state.add_line(iid, amount, params.get("description"), account=call.account)
    return {
        "id": state.new_id("ii"),
        "object": "invoiceitem",
        "amount": amount,
        "currency": state.get("invoice", iid, call.account)["currency"],
        "customer": params.get("customer"),
        "description": params.get("description"),
        "invoice": iid,
    }


def list_invoice_payments(state: StripeState, call: Call) -> Any:
    params = call.params
    payment = params.get("payment") if isinstance(params.get("payment"), dict) else {}
    assert isinstance(payment, dict)

    def keep(item: dict[str, Any]) -> bool:
        if params.get("invoice") and item["invoice"] != params["invoice"]:
            return False
        if params.get("status") and item["status"] != params["status"]:
            return False
        if payment.get("type") and item["payment"]["type"] != payment["type"]:
            return False
        intent = payment.get("payment_intent")
        return not intent or item["payment"].get("payment_intent") == intent

    found = state.find("invoice_payment", call.account, keep)
    return listing.page(found, params, "/v1/invoice_payments")


def list_disputes(state: StripeState, call: Call) -> Any:
    params = call.params

    def keep(item: dict[str, Any]) -> bool:
        return all(not params.get(k) or item[k] == params[k] for k in ("charge", "payment_intent"))

    found = listing.by_created(state.find("dispute", call.account, keep), params)
    return listing.page(found, params, "/v1/disputes")


def get_object(kind: str) -> Handler:
    def handle(state: StripeState, call: Call) -> Any:
        obj = state.get(kind, call.path["id"], call.account)
        return state.expand(obj, call.expand(), call.account)

    return handle


def list_events(state: StripeState, call: Call) -> Any:
    params = call.params
    found = listing.by_created(state.list_events(call.account), params)
    found = listing.by_type(found, params)
    return listing.page(found, params, "/v1/events")


def get_event(state: StripeState, call: Call) -> Any:
    for event in state.list_events(call.account):
        if event["id"] == call.path["id"]:
            return event
    raise StripeApiError(
        404, f"No such event: '{call.path['id']}'", code="resource_missing", param="id"
    )


# Test hooks: what only a cardholder's bank or Stripe's Dashboard can do to a real account.


def hook_dispute(state: StripeState, call: Call) -> Any:
    reason = str(call.params.get("reason") or "general")
    return state.open_dispute(call.path["id"], reason, account=call.account)


def hook_close_dispute(state: StripeState, call: Call) -> Any:
    won = str(call.params.get("won", "false")).lower() == "true"
    state.close_dispute(call.path["id"], won=won, account=call.account)
    return state.get("dispute", call.path["id"], call.account)


def hook_fail_payment(state: StripeState, call: Call) -> Any:
    state.fail_payment(call.path["id"], account=call.account)
    return state.get("invoice", call.path["id"], call.account)


def hook_overdue(state: StripeState, call: Call) -> Any:
    state.emit_overdue(call.path["id"], account=call.account)
    return state.get("invoice", call.path["id"], call.account)


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/v1/customers", list_customers),
    ("POST", "/v1/customers", create_customer),
    ("GET", "/v1/customers/{id}", get_customer),
    ("POST", "/v1/customers/{id}", update_customer),
    ("GET", "/v1/invoices", list_invoices),
    ("POST", "/v1/invoices", create_invoice),
    ("GET", "/v1/invoices/{id}", get_invoice),
    ("POST", "/v1/invoices/{id}", update_invoice),
    ("DELETE", "/v1/invoices/{id}", delete_invoice),
    ("POST", "/v1/invoices/{id}/finalize", invoice_action("finalize")),
    ("POST", "/v1/invoices/{id}/pay", invoice_action("pay")),
    ("POST", "/v1/invoices/{id}/void", invoice_action("void")),
    ("POST", "/v1/invoices/{id}/mark_uncollectible", invoice_action("mark_uncollectible")),
    ("POST", "/v1/invoices/{id}/send", invoice_action("send")),
    ("POST", "/v1/invoiceitems", create_invoice_item),
    ("GET", "/v1/invoice_payments", list_invoice_payments),
    ("GET", "/v1/disputes", list_disputes),
    ("GET", "/v1/disputes/{id}", get_object("dispute")),
    ("GET", "/v1/charges/{id}", get_object("charge")),
    ("GET", "/v1/payment_intents/{id}", get_object("payment_intent")),
    ("GET", "/v1/events", list_events),
    ("GET", "/v1/events/{id}", get_event),
    ("POST", "/_test/invoices/{id}/dispute", hook_dispute),
    ("POST", "/_test/invoices/{id}/fail_payment", hook_fail_payment),
    ("POST", "/_test/invoices/{id}/overdue", hook_overdue),
    ("POST", "/_test/disputes/{id}/close", hook_close_dispute),
]
