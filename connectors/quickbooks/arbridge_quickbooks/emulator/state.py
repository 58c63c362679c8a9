"""The emulated company's books: entities with SyncToken and MetaData, voids, deletions and
payments that lower invoice balances. Every change is recorded for CDC and for webhooks.

Objects are plain dicts in Intuit's JSON shape with ``Decimal`` amounts. Times come from the
clock the state is built with, at Intuit's one-second precision.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from arbridge.api import Clock
from arbridge_quickbooks.emulator.errors import QboFault, not_found, stale

ENTITIES = ("Customer", "Invoice", "Payment", "CreditMemo", "Term")
CDC_LOOKBACK = timedelta(days=30)
CDC_CAP = 1000
# Fields a client may not set: the emulator computes them.
READ_ONLY = frozenset({"Id", "SyncToken", "MetaData", "TotalAmt", "Balance", "domain"})


@dataclass(frozen=True)
class Change:
    """One write, as a webhook will describe it."""

    realm: str
    entity: str
    entity_id: str
    operation: str  # Create, Update, Delete, Void
    last_updated: str


def stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def canonical_entity(name: str) -> str:
    for entity in (*ENTITIES, "Preferences"):
        if entity.lower() == name.lower():
            return entity
    raise QboFault(400, "4001", "Invalid query", f"unsupported entity {name!r}")


class CompanyState:
    """One company (realm); thread-safe (the app runs on a server thread)."""

    def __init__(self, realm_id: str, clock: Clock, home_currency: str = "USD") -> None:
        self.realm_id = realm_id
        self.clock = clock
        self.home_currency = home_currency
        self.objects: dict[str, dict[str, dict[str, Any]]] = {e: {} for e in ENTITIES}
        self.deleted: dict[str, list[dict[str, Any]]] = {e: [] for e in ENTITIES}
        self._next_id = 1
        self._lock = threading.RLock()
        self.listeners: list[Callable[[Change], None]] = []

    # --- helpers ------------------------------------------------------------------------

    def now(self) -> str:
        return stamp(self.clock.now())

    def _new_id(self) -> str:
        self._next_id += 1
        return str(self._next_id - 1)

    def _emit(self, entity: str, obj: dict[str, Any], operation: str) -> None:
        change = Change(
            self.realm_id, entity, str(obj["Id"]), operation, obj["MetaData"]["LastUpdatedTime"]
        )
        for listener in self.listeners:
            listener(change)

    def _touch(self, obj: dict[str, Any]) -> None:
        obj["SyncToken"] = str(int(obj["SyncToken"]) + 1)
        obj["MetaData"]["LastUpdatedTime"] = self.now()

    def get(self, entity: str, entity_id: str) -> dict[str, Any]:
        with self._lock:
            obj = self.objects[canonical_entity(entity)].get(str(entity_id))
            if obj is None:
                raise not_found(entity, entity_id)
            return copy.deepcopy(obj)

    def rows(self, entity: str) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._live(entity))

    def select(
        self,
        entity: str,
        pick: Callable[[list[dict[str, Any]]], tuple[list[dict[str, Any]], int]],
        render: Callable[[list[dict[str, Any]], int], bytes],
    ) -> bytes:
        """Run ``pick`` (a query) over the live objects and ``render`` its page, under the
        lock: rendering straight from the objects spares copying them."""
        with self._lock:
            page, total = pick(self._live(entity))
            return render(page, total)

    def _live(self, entity: str) -> list[dict[str, Any]]:
        name = canonical_entity(entity)
        if name == "Preferences":
            return [self.preferences()]
        return list(self.objects[name].values())

    def preferences(self) -> dict[str, Any]:
        return {
            "Id": "1",
            "SyncToken": "0",
            "CurrencyPrefs": {
                "MultiCurrencyEnabled": True,
                "HomeCurrency": {"value": self.home_currency},
            },
            "MetaData": {"CreateTime": self.now(), "LastUpdatedTime": self.now()},
        }

    # --- writes -------------------------------------------------------------------------

    def create(self, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        entity = canonical_entity(entity)
        with self._lock:
            obj = {k: copy.deepcopy(v) for k, v in body.items() if k not in READ_ONLY}
            now = self.now()
            obj.update({"Id": self._new_id(), "SyncToken": "0", "domain": "QBO", "sparse": False})
            obj["MetaData"] = {"CreateTime": now, "LastUpdatedTime": now}
            if entity == "Customer":
                self._check_customer(obj)
                obj.setdefault("Active", True)
                obj.setdefault("Balance", Decimal(0))
            elif entity in ("Invoice", "CreditMemo"):
                self._check_customer_ref(obj)
                obj.setdefault("TxnDate", self.clock.now().date().isoformat())
                obj.setdefault("DocNumber", str(1000 + int(obj["Id"])))
                obj.setdefault("CurrencyRef", {"value": self.home_currency})
                obj.setdefault("LinkedTxn", [])
                obj["TotalAmt"] = _line_total(obj)
                obj["Balance"] = obj["TotalAmt"]
                if entity == "CreditMemo":
                    obj["RemainingCredit"] = obj["TotalAmt"]
            elif entity == "Payment":
                self._check_customer_ref(obj)
                obj.setdefault("TxnDate", self.clock.now().date().isoformat())
                obj.setdefault("CurrencyRef", {"value": self.home_currency})
                obj["TotalAmt"] = Decimal(str(body.get("TotalAmt", 0)))
                self._apply_payment(obj)
            self.objects[entity][obj["Id"]] = obj
            self._emit(entity, obj, "Create")
            return copy.deepcopy(obj)

    def update(self, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        entity = canonical_entity(entity)
        with self._lock:
            obj = self._current(entity, body)
            if body.get("sparse") is True:
                changes = {k: v for k, v in body.items() if k not in READ_ONLY}
                obj.update(copy.deepcopy(changes))
            else:
                kept = {k: obj[k] for k in READ_ONLY | {"LinkedTxn"} if k in obj}
                obj.clear()
                obj.update({k: copy.deepcopy(v) for k, v in body.items() if k not in READ_ONLY})
                obj.update(kept)
            obj["sparse"] = False
            if entity == "Invoice":
                paid = obj["TotalAmt"] - obj["Balance"]
                total = _line_total(obj)
                if total < paid:
                    raise QboFault(
                        400,
                        "6000",
                        "A business validation error has occurred",
                        "the new total is below what has been paid",
                    )
                obj["TotalAmt"], obj["Balance"] = total, total - paid
            self._touch(obj)
            self._emit(entity, obj, "Update")
            return copy.deepcopy(obj)

    def void(self, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        entity = canonical_entity(entity)
        with self._lock:
            obj = self._current(entity, body)
            for line in obj.get("Line", []):
                line["Amount"] = Decimal(0)
                detail = line.get("SalesItemLineDetail")
                if isinstance(detail, dict):
                    detail["Qty"] = 0
                    detail.pop("UnitPrice", None)
            obj["TotalAmt"] = Decimal(0)
            obj["Balance"] = Decimal(0)
            note = str(obj.get("PrivateNote") or "")
            obj["PrivateNote"] = "Voided" + (f" - {note}" if note else "")
            self._touch(obj)
            self._emit(entity, obj, "Void")
            return copy.deepcopy(obj)

    def delete(self, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        entity = canonical_entity(entity)
        with self._lock:
            obj = self._current(entity, body)
            if entity == "Customer":
                raise QboFault(
                    400,
                    "6000",
                    "A business validation error has occurred",
                    "customers cannot be deleted; make them inactive",
                )
            if entity == "Invoice" and any(
                link.get("TxnType") == "Payment" for link in obj.get("LinkedTxn", [])
            ):
                raise QboFault(
                    400,
                    "6000",
                    "A business validation error has occurred",
                    "this invoice has payments applied; delete or unlink them first",
                )
            if entity == "Payment":
                self._unapply_payment(obj)
            del self.objects[entity][obj["Id"]]
            now = self.now()
            stub = {
                "status": "Deleted",
                "domain": "QBO",
                "Id": obj["Id"],
                "MetaData": {"LastUpdatedTime": now},
            }
            self.deleted[entity].append(stub)
            obj["MetaData"]["LastUpdatedTime"] = now
            self._emit(entity, obj, "Delete")
            return {"status": "Deleted", "domain": "QBO", "Id": obj["Id"]}

    def _current(self, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        entity_id = str(body.get("Id") or "")
        obj = self.objects[entity].get(entity_id)
        if obj is None:
            raise not_found(entity, entity_id)
        if str(body.get("SyncToken")) != obj["SyncToken"]:
            raise stale(entity, entity_id)
        return obj

    def _check_customer(self, obj: dict[str, Any]) -> None:
        name = str(obj.get("DisplayName") or "").strip()
        if not name:
            raise QboFault(
                400,
                "2020",
                "Required param missing, need to supply the required value for the API",
                "DisplayName",
            )
        for other in self.objects["Customer"].values():
            if str(other.get("DisplayName", "")).lower() == name.lower():
                raise QboFault(
                    400,
                    "6240",
                    "Duplicate Name Exists Error",
                    f"The name supplied already exists. : Id={other['Id']}",
                )

    def _check_customer_ref(self, obj: dict[str, Any]) -> None:
        ref = obj.get("CustomerRef") or {}
        customer = self.objects["Customer"].get(str(ref.get("value")))
        if customer is None:
            raise QboFault(400, "2500", "Invalid Reference Id", f"CustomerRef {ref.get('value')!r}")
        ref["name"] = customer["DisplayName"]
        obj["CustomerRef"] = ref

    def _apply_payment(self, payment: dict[str, Any]) -> None:
        total = payment["TotalAmt"]
        applied = Decimal(0)
        for line in payment.get("Line", []):
            amount = Decimal(str(line.get("Amount", 0)))
            for link in line.get("LinkedTxn", []):
                if link.get("TxnType") != "Invoice":
                    continue
                invoice = self.objects["Invoice"].get(str(link.get("TxnId")))
                if invoice is None:
                    raise not_found("Invoice", str(link.get("TxnId")))
                if amount > invoice["Balance"]:
                    raise QboFault(
                        400,
                        "6000",
                        "A business validation error has occurred",
                        f"payment {amount} exceeds the balance of invoice {invoice['Id']}",
                    )
                invoice["Balance"] -= amount
                invoice["LinkedTxn"].append({"TxnId": payment["Id"], "TxnType": "Payment"})
                self._touch(invoice)
                applied += amount
                self._emit("Invoice", invoice, "Update")
        payment["TotalAmt"] = total
        payment["UnappliedAmt"] = total - applied

    def _unapply_payment(self, payment: dict[str, Any]) -> None:
        for line in payment.get("Line", []):
            for link in line.get("LinkedTxn", []):
                invoice = self.objects["Invoice"].get(str(link.get("TxnId")))
                if invoice is None:
                    continue
                invoice["Balance"] += Decimal(str(line.get("Amount", 0)))
                invoice["LinkedTxn"] = [
                    link for link in invoice["LinkedTxn"] if link.get("TxnId") != payment["Id"]
                ]
                self._touch(invoice)
                self._emit("Invoice", invoice, "Update")

    # --- CDC ----------------------------------------------------------------------------

    def changed_since(
        self, entities: list[str], since: datetime
    ) -> list[tuple[str, list[dict[str, Any]]]]:
        """Objects changed at or after ``since``, grouped by entity in LastUpdatedTime order,
        deleted stubs after the live ones, at most 1000 in all."""
        if self.clock.now() - since > CDC_LOOKBACK:
            raise QboFault(
                400,
                "2010",
                "Request has invalid or unsupported property",
                "changedSince may not be more than 30 days in the past",
            )
        left = CDC_CAP
        found: list[tuple[str, list[dict[str, Any]]]] = []
        with self._lock:
            for name in entities:
                entity = canonical_entity(name)

                def when(obj: dict[str, Any]) -> datetime:
                    return datetime.fromisoformat(obj["MetaData"]["LastUpdatedTime"])

                live = sorted(
                    (o for o in self.objects[entity].values() if when(o) >= since), key=when
                )
                gone = [o for o in self.deleted[entity] if when(o) >= since]
                rows = (live + gone)[:left]
                left -= len(rows)
                found.append((entity, copy.deepcopy(rows)))
        return found


def _line_total(obj: dict[str, Any]) -> Decimal:
    total = Decimal(0)
    for line in obj.get("Line", []):
        if line.get("DetailType") in ("SubTotalLineDetail",):
            continue
        total += Decimal(str(line.get("Amount", 0)))
    return total


def sales_line(amount: Decimal, description: str) -> dict[str, Any]:
    return {
        "Amount": amount,
        "Description": description,
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": {
            "ItemRef": {"value": "1", "name": "Services"},
            "Qty": 1,
            "UnitPrice": amount,
        },
    }


def day(value: date) -> str:
    return value.isoformat()
