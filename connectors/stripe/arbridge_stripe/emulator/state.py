"""The emulated Stripe account(s): objects, the invoice state machine and the events it emits.

Every change goes through one of the action methods below, under one lock, and emits the
events Stripe would: ``invoice.created`` on create, ``invoice.finalized`` on finalize,
``invoice.paid`` + ``invoice.payment_succeeded`` + ``invoice.updated`` when the last amount is
paid (all in the same second, as Stripe does), ``invoice.updated`` on a partial payment, and so
on. Object and event timestamps come from the clock the state was built with.

Connect: objects belong to an account (``None`` is the platform itself); requests see only the
objects of the account named by their ``Stripe-Account`` header, and events of a connected
account carry its id in ``account``.
"""

from __future__ import annotations

import copy
import random
import string
import threading
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from arbridge.api import Clock
from arbridge_stripe.emulator import objects
from arbridge_stripe.emulator.errors import StripeApiError, bad_state, missing

RETENTION = timedelta(days=30)
DISPUTE_EVIDENCE_DAYS = 14
_ALPHABET = string.ascii_letters + string.digits

# The HTTP request being served (request id, idempotency key), named by the events it causes.
CURRENT_REQUEST: ContextVar[tuple[str | None, str | None]] = ContextVar(
    "stripe_emulator_request", default=(None, None)
)

EventListener = Callable[[dict[str, Any]], None]

_KINDS = {
    "cus": "customer",
    "in": "invoice",
    "dp": "dispute",
    "ch": "charge",
    "pi": "payment_intent",
    "inpay": "invoice_payment",
}


class StripeState:
    """All objects of all accounts, thread-safe."""

    def __init__(self, clock: Clock, *, seed: int = 0) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self._random = random.Random(seed)
        self._objects: dict[str, dict[str, Any]] = {}
        self._owner: dict[str, str | None] = {}
        self._order: dict[str, int] = {}
        self._numbers: dict[str, int] = {}
        self.events: list[dict[str, Any]] = []
        self._listeners: list[EventListener] = []

    # ----------------------------------------------------------------- plumbing

    def now(self) -> int:
        return int(self.clock.now().timestamp())

    def new_id(self, prefix: str) -> str:
        with self.lock:
            suffix = "".join(self._random.choice(_ALPHABET) for _ in range(24))
        return f"{prefix}_{suffix}"

    def add_listener(self, listener: EventListener) -> None:
        with self.lock:
            self._listeners.append(listener)

    def _store(self, obj: dict[str, Any], account: str | None) -> dict[str, Any]:
        self._objects[obj["id"]] = obj
        self._owner[obj["id"]] = account
        self._order[obj["id"]] = len(self._order)
        return obj

    def get(self, kind: str, object_id: str, account: str | None) -> dict[str, Any]:
        """The live object (not a copy) of ``kind`` owned by ``account``; 404 otherwise."""
        with self.lock:
            obj = self._objects.get(object_id)
            if obj is None or obj["object"] != kind or self._owner[object_id] != account:
                raise missing(kind, object_id)
            return obj

    def account_of(self, object_id: str) -> str | None:
        with self.lock:
            return self._owner.get(object_id)

    def find(
        self,
        kind: str,
        account: str | None,
        where: Callable[[dict[str, Any]], bool] = lambda _: True,
    ) -> list[dict[str, Any]]:
        """Objects of ``kind`` in Stripe's list order: newest first."""
        with self.lock:
            found = [
                obj
                for oid, obj in self._objects.items()
                if obj["object"] == kind and self._owner[oid] == account and where(obj)
            ]
            found.sort(key=lambda o: (o["created"], self._order[o["id"]]), reverse=True)
            return found

    def list_events(self, account: str | None) -> list[dict[str, Any]]:
        """The account's events of the last 30 days (by the clock), newest first."""
        cutoff = int((self.clock.now() - RETENTION).timestamp())
        with self.lock:
            found = [
                e for e in self.events if e.get("account") == account and e["created"] >= cutoff
            ]
        found.reverse()
        return found

    def emit(
        self,
        kind: str,
        obj: dict[str, Any],
        account: str | None,
        previous: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        request_id, idempotency_key = CURRENT_REQUEST.get()
        with self.lock:
            event = objects.event(
                self.new_id("evt"),
                kind=kind,
                obj=copy.deepcopy(obj),
                created=self.now(),
                account=account,
                request_id=request_id,
                idempotency_key=idempotency_key,
                previous_attributes=previous,
            )
            self.events.append(event)
            listeners = list(self._listeners)
        for listener in listeners:
            listener(event)
        return event

    # ----------------------------------------------------------------- customers

    def create_customer(
        self,
        name: str | None,
        email: str | None = None,
        *,
        account: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        with self.lock:
            cid = self.new_id("cus")
            prefix = "".join(self._random.choice(string.ascii_uppercase) for _ in range(7))
            obj = objects.customer(cid, name=name, email=email, created=self.now(), prefix=prefix)
            obj["metadata"] = dict(metadata or {})
            self._store(obj, account)
            self.emit("customer.created", obj, account)
            return obj

    def update_customer(
        self, cid: str, changes: dict[str, Any], *, account: str | None = None
    ) -> dict[str, Any]:
        with self.lock:
            obj = self.get("customer", cid, account)
            previous = {k: copy.deepcopy(obj.get(k)) for k in changes}
            for key, value in changes.items():
                if key == "metadata" and isinstance(value, dict):
                    obj["metadata"] = {**obj["metadata"], **value}
                elif key in ("name", "email", "description", "phone"):
                    obj[key] = value or None
                else:
                    raise StripeApiError(400, f"Received unknown parameter: {key}", param=key)
            self.emit("customer.updated", obj, account, previous)
            return obj

    # ----------------------------------------------------------------- invoices

    def create_invoice(
        self,
        customer_id: str,
        *,
        currency: str,
        amount: int,
        account: str | None = None,
        collection_method: str = "send_invoice",
        due_date: int | None = None,
        days_until_due: int | None = None,
        description: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        with self.lock:
            self.get("customer", customer_id, account)
            if amount < 0:
                raise StripeApiError(400, "amount must be positive", param="amount")
            if collection_method not in ("send_invoice", "charge_automatically"):
                raise StripeApiError(
                    400,
                    f"Invalid collection_method: {collection_method}",
                    param="collection_method",
                )
            created = self.now()
            if collection_method == "send_invoice" and due_date is None:
                due_date = created + 86400 * (30 if days_until_due is None else days_until_due)
            obj = objects.invoice(
                self.new_id("in"),
                customer_id=customer_id,
                currency=currency.lower(),
                amount=amount,
                created=created,
                collection_method=collection_method,
                due_date=due_date,
                description=description,
                metadata=metadata or {},
                line_id=self.new_id("il"),
            )
            self._store(obj, account)
            self.emit("invoice.created", obj, account)
            return obj

    def add_line(
        self,
        iid: str,
        amount: int,
        description: str | None = None,
        *,
        account: str | None = None,
    ) -> dict[str, Any]:
        """An invoice item on a draft (``POST /v1/invoiceitems`` with ``invoice``)."""
        with self.lock:
            obj = self.get("invoice", iid, account)
            if obj["status"] != "draft":
                raise bad_state("Invoice items can only be added to draft invoices.")
            line = objects.line_item(
                self.new_id("il"),
                iid,
                amount=amount,
                currency=obj["currency"],
                description=description,
                at=self.now(),
            )
            obj["lines"]["data"].append(line)
            for name in ("amount_due", "amount_remaining", "subtotal", "total"):
                obj[name] += amount
            obj["subtotal_excluding_tax"] = obj["total_excluding_tax"] = obj["total"]
            self.emit("invoice.updated", obj, account, {"total": obj["total"] - amount})
            return obj

    def finalize(
        self, iid: str, *, account: str | None = None, effective_at: int | None = None
    ) -> dict[str, Any]:
        with self.lock:
            obj = self.get("invoice", iid, account)
            if obj["status"] != "draft":
                raise bad_state(f"This invoice is already finalized (status {obj['status']}).")
            customer = self.get("customer", obj["customer"], account)
            now = self.now()
            key = f"{account}:{customer['id']}"
            self._numbers[key] = self._numbers.get(key, 0) + 1
            customer["next_invoice_sequence"] = self._numbers[key] + 1
            obj["number"] = f"{customer['invoice_prefix']}-{self._numbers[key]:04d}"
            obj["status"] = "open"
            obj["status_transitions"]["finalized_at"] = now
            obj["effective_at"] = effective_at if effective_at is not None else now
            obj["customer_name"] = customer["name"]
            obj["customer_email"] = customer["email"]
            obj["hosted_invoice_url"] = f"https://invoice.stripe.com/i/acct_emulator/test_{iid}"
            obj["invoice_pdf"] = f"https://pay.stripe.com/invoice/acct_emulator/test_{iid}/pdf"
            obj["webhooks_delivered_at"] = now
            self.emit("invoice.finalized", obj, account)
            return obj

    def pay(self, iid: str, amount: int | None = None, *, account: str | None = None) -> None:
        """A successful payment of ``amount`` (the whole remaining amount when ``None``)."""
        with self.lock:
            obj = self.get("invoice", iid, account)
            if obj["status"] not in ("open", "uncollectible"):
                raise bad_state(f"Invoice {iid} cannot be paid in status {obj['status']}.")
            remaining = obj["amount_remaining"]
            paid = remaining if amount is None else amount
            if paid <= 0 or paid > remaining:
                raise StripeApiError(
                    400,
                    f"Payment amount {paid} must be between 1 and the remaining {remaining}.",
                    param="amount",
                )
            now = self.now()
            currency, customer_id = obj["currency"], obj["customer"]
            pi_id, ch_id = self.new_id("pi"), self.new_id("ch")
            self._store(
                objects.payment_intent(
                    pi_id,
                    amount=paid,
                    currency=currency,
                    customer_id=customer_id,
                    charge_id=ch_id,
                    created=now,
                ),
                account,
            )
            self._store(
                objects.charge(
                    ch_id,
                    amount=paid,
                    currency=currency,
                    customer_id=customer_id,
                    payment_intent=pi_id,
                    created=now,
                ),
                account,
            )
            self._store(
                objects.invoice_payment(
                    self.new_id("inpay"),
                    invoice_id=iid,
                    amount=paid,
                    currency=currency,
                    payment_intent=pi_id,
                    paid_at=now,
                ),
                account,
            )
            previous = {
                "amount_paid": obj["amount_paid"],
                "amount_remaining": obj["amount_remaining"],
                "attempt_count": obj["attempt_count"],
                "attempted": obj["attempted"],
            }
            obj["amount_paid"] += paid
            obj["amount_remaining"] -= paid
            obj["attempt_count"] += 1
            obj["attempted"] = True
            if obj["amount_remaining"] == 0:
                previous["status"] = obj["status"]
                previous["status_transitions"] = copy.deepcopy(obj["status_transitions"])
                obj["status"] = "paid"
                obj["status_transitions"]["paid_at"] = now
                self.emit("invoice.paid", obj, account)
                self.emit("invoice.payment_succeeded", obj, account)
            self.emit("invoice.updated", obj, account, previous)

    def fail_payment(self, iid: str, *, account: str | None = None) -> None:
        with self.lock:
            obj = self.get("invoice", iid, account)
            if obj["status"] != "open":
                raise bad_state(f"Invoice {iid} has no payment to attempt in {obj['status']}.")
            obj["attempt_count"] += 1
            obj["attempted"] = True
            self.emit("invoice.payment_failed", obj, account)

    def void(self, iid: str, *, account: str | None = None) -> dict[str, Any]:
        return self._close(iid, "void", "voided_at", "invoice.voided", account)

    def mark_uncollectible(self, iid: str, *, account: str | None = None) -> dict[str, Any]:
        return self._close(
            iid, "uncollectible", "marked_uncollectible_at", "invoice.marked_uncollectible", account
        )

    def _close(
        self, iid: str, status: str, stamp: str, kind: str, account: str | None
    ) -> dict[str, Any]:
        allowed = ("open", "uncollectible") if status == "void" else ("open",)
        with self.lock:
            obj = self.get("invoice", iid, account)
            if obj["status"] not in allowed:
                raise bad_state(f"Invoice {iid} cannot become {status} from {obj['status']}.")
            previous = {"status": obj["status"]}
            obj["status"] = status
            obj["status_transitions"][stamp] = self.now()
            self.emit(kind, obj, account)
            self.emit("invoice.updated", obj, account, previous)
            return obj

    def delete_invoice(self, iid: str, *, account: str | None = None) -> None:
        """Only drafts can be deleted; finalized invoices are voided instead."""
        with self.lock:
            obj = self.get("invoice", iid, account)
            if obj["status"] != "draft":
                raise bad_state("You can only delete draft invoices.")
            del self._objects[iid]
            self.emit("invoice.deleted", obj, account)

    def emit_overdue(self, iid: str, *, account: str | None = None) -> None:
        """What a Billing automation would send; Stripe does not send it on its own."""
        with self.lock:
            self.emit("invoice.overdue", self.get("invoice", iid, account), account)

    def payments_of(self, iid: str, account: str | None) -> list[dict[str, Any]]:
        return self.find("invoice_payment", account, lambda p: p["invoice"] == iid)

    # ----------------------------------------------------------------- disputes

    def open_dispute(
        self, iid: str, reason: str = "general", *, account: str | None = None
    ) -> dict[str, Any]:
        """Dispute the invoice's latest payment (its charge and payment intent)."""
        with self.lock:
            payments = self.payments_of(iid, account)
            if not payments:
                self.get("invoice", iid, account)
                raise bad_state(f"Invoice {iid} has no payment to dispute.")
            intent = self.get("payment_intent", payments[0]["payment"]["payment_intent"], account)
            charge = self.get("charge", intent["latest_charge"], account)
            now = self.now()
            charge["disputed"] = True
            obj = objects.dispute(
                self.new_id("dp"),
                amount=charge["amount"],
                currency=charge["currency"],
                charge_id=charge["id"],
                payment_intent=intent["id"],
                reason=reason,
                created=now,
                due_by=now + DISPUTE_EVIDENCE_DAYS * 86400,
            )
            self._store(obj, account)
            self.emit("charge.dispute.created", obj, account)
            return obj

    def update_dispute(
        self, did: str, status: str = "under_review", *, account: str | None = None
    ) -> None:
        with self.lock:
            obj = self.get("dispute", did, account)
            previous = {"status": obj["status"]}
            obj["status"] = status
            self.emit("charge.dispute.updated", obj, account, previous)

    def close_dispute(self, did: str, *, won: bool, account: str | None = None) -> None:
        with self.lock:
            obj = self.get("dispute", did, account)
            previous = {"status": obj["status"]}
            obj["status"] = "won" if won else "lost"
            self.emit("charge.dispute.closed", obj, account, previous)

    # ----------------------------------------------------------------- reading

    def expand(
        self, obj: dict[str, Any], fields: Iterable[str], account: str | None
    ) -> dict[str, Any]:
        """A copy of ``obj`` with ``expand[]`` fields replaced by their objects."""
        with self.lock:
            out = copy.deepcopy(obj)
            for name in fields:
                if name == "customer" and isinstance(out.get("customer"), str):
                    customer = self._objects.get(out["customer"])
                    if customer is not None and self._owner[out["customer"]] == account:
                        out["customer"] = copy.deepcopy(customer)
                elif name == "payments" and out.get("object") == "invoice":
                    data = [copy.deepcopy(p) for p in self.payments_of(out["id"], account)]
                    out["payments"] = {
                        "object": "list",
                        "data": data,
                        "has_more": False,
                        "url": f"/v1/invoice_payments?invoice={out['id']}",
                    }
                elif name in ("charge", "payment_intent") and isinstance(out.get(name), str):
                    target = self._objects.get(out[name])
                    if target is not None:
                        out[name] = copy.deepcopy(target)
                else:
                    raise StripeApiError(
                        400, f"This property cannot be expanded ({name}).", param="expand"
                    )
            return out

    def kind_of(self, object_id: str) -> str | None:
        prefix = object_id.split("_", 1)[0]
        return _KINDS.get(prefix)
