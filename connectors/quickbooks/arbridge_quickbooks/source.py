"""The QuickBooks Online ``InvoiceSource``: backfill by query, incremental by Change Data Capture,
webhooks as hints that name the objects to read.

The cursor is this module's own JSON: ``{"since": <ISO time>, "swept": <ISO time>}``. ``since``
is the time taken *before* the last read, so a change made while reading is seen again next
time (a duplicate is harmless: every object carries its ``SourceVersion``). CDC looks back at most
30 days; an older cursor, or a sweep older than ``full_sweep_every_s``, triggers a full query
sweep instead. CDC answers at most 1000 objects: when it is full, the live objects are re-read
by ``MetaData.LastUpdatedTime`` queries, which have no cap.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any

import httpx

from arbridge.api import (
    AuthError,
    Clock,
    DeletedInvoice,
    InboundEvent,
    MappingError,
    PollResult,
    SourceBatch,
    SourceHealth,
)
from arbridge_quickbooks import mapping, webhooks
from arbridge_quickbooks.auth import TokenManager
from arbridge_quickbooks.client import QuickBooksClient, quote
from arbridge_quickbooks.settings import QuickBooksSettings

log = logging.getLogger(__name__)

BACKFILL_ENTITIES = ("Customer", "Invoice", "Payment")
CDC_ENTITIES = ("Customer", "Invoice", "Payment", "CreditMemo")
CDC_LOOKBACK = timedelta(days=30)
# Leave room for clock differences with Intuit: a cursor this close to the limit is "too old".
CDC_MARGIN = timedelta(hours=1)
CDC_CAP = 1000
# Re-read a minute before the cursor: Intuit stamps objects to the second with its own clock,
# which may differ a little from ours. A re-read object is harmless (it carries its version).
OVERLAP = timedelta(seconds=60)
FALLBACK_CURRENCY = "USD"


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def encode_cursor(since: datetime, swept: datetime) -> str:
    return json.dumps({"since": _iso(since), "swept": _iso(swept)}, sort_keys=True)


def decode_cursor(cursor: str | None) -> tuple[datetime, datetime] | None:
    if not cursor:
        return None
    try:
        raw = json.loads(cursor)
        since = datetime.fromisoformat(raw["since"])
        swept = datetime.fromisoformat(raw["swept"])
    except (ValueError, KeyError, TypeError):
        log.warning("QuickBooks cursor %r is not ours; doing a full sweep", cursor[:80])
        return None
    if since.tzinfo is None or swept.tzinfo is None:
        return None
    return since, swept


class QuickBooksSource:
    name = "quickbooks"

    def __init__(
        self,
        settings: QuickBooksSettings,
        tokens: TokenManager,
        client: QuickBooksClient,
        http: httpx.Client,
        clock: Clock,
    ) -> None:
        self._settings = settings
        self._tokens = tokens
        self.client = client
        self._http = http
        self._clock = clock
        self._home_currency: str | None = None
        self.skipped = 0  # objects left out because they could not be mapped

    def __repr__(self) -> str:
        return f"QuickBooksSource({self.client!r})"

    # --- reading ------------------------------------------------------------------------

    @property
    def realm_id(self) -> str:
        return self._tokens.realm_id()

    def home_currency(self) -> str:
        """The company's home currency, read once (objects omit ``CurrencyRef`` without
        multicurrency)."""
        if self._home_currency is None:
            rows = self.client.query("select * from Preferences").get("Preferences", [])
            prefs = rows[0] if rows else {}
            home = (prefs.get("CurrencyPrefs") or {}).get("HomeCurrency") or {}
            code = home.get("value") if isinstance(home, dict) else None
            if not code:
                log.warning("QuickBooks Preferences name no home currency; assuming USD")
            self._home_currency = str(code or FALLBACK_CURRENCY).upper()
        return self._home_currency

    def _batch(self, objects: Mapping[str, Iterable[dict[str, Any]]]) -> SourceBatch:
        """Canonical objects for raw ones grouped by entity; deleted stubs become deletions,
        credit memos a re-read of the invoices they are applied to."""
        realm = self.realm_id
        batch = SourceBatch()
        paid_on: dict[str, date] = {}
        invoices: dict[str, dict[str, Any]] = {}
        reread: set[str] = set()
        for entity, rows in objects.items():
            for row in rows:
                with self._skipping(entity, row):
                    if mapping.is_deleted_stub(row):
                        self._deleted(entity, row, batch)
                    elif entity == "Customer":
                        batch.customers.append(mapping.to_customer(row, realm))
                    elif entity == "Invoice":
                        invoices[str(row["Id"])] = row
                    elif entity == "Payment":
                        payment = mapping.to_payment(row, realm, self._currency(row))
                        batch.payments.append(payment)
                        for invoice_id in payment.invoice_ids:
                            day = paid_on.get(invoice_id)
                            if day is None or payment.received_date > day:
                                paid_on[invoice_id] = payment.received_date
                    elif entity == "CreditMemo":
                        reread.update(mapping.linked_invoice_ids(row))
        missing = reread - set(invoices)
        if missing:
            for row in self.client.read_many("Invoice", missing):
                invoices[str(row["Id"])] = row
        for invoice_id, row in invoices.items():
            with self._skipping("Invoice", row):
                batch.invoices.append(
                    mapping.to_invoice(
                        row, realm, self._currency(row), paid_date=paid_on.get(invoice_id)
                    )
                )
        return batch

    @contextmanager
    def _skipping(self, entity: str, row: dict[str, Any]) -> Iterator[None]:
        """One object that cannot be mapped is logged and left out, so that it cannot block
        every other object of the batch (and of every later poll) behind it."""
        try:
            yield
        except (MappingError, ValueError, KeyError, TypeError) as exc:
            self.skipped += 1
            text = str(exc).splitlines()[0][:200]
            log.error("QuickBooks %s %s skipped: %s", entity, row.get("Id", "?"), text)

    def _currency(self, row: dict[str, Any]) -> str:
        ref = row.get("CurrencyRef")
        if isinstance(ref, dict) and ref.get("value"):
            return str(ref["value"])
        return self.home_currency()

    def _deleted(self, entity: str, row: dict[str, Any], batch: SourceBatch) -> None:
        if entity != "Invoice":
            log.info("QuickBooks %s %s was deleted; nothing to close", entity, row.get("Id"))
            return
        meta = row.get("MetaData") or {}
        when = meta.get("LastUpdatedTime")
        batch.deleted.append(
            DeletedInvoice(
                source=mapping.SOURCE,
                source_account=self.realm_id,
                source_id=str(row["Id"]),
                deleted_at=mapping.parse_time(str(when)) if when else self._clock.now(),
            )
        )

    # --- InvoiceSource ------------------------------------------------------------------

    def backfill(self, progress: Callable[[int], None] | None = None) -> Iterator[SourceBatch]:
        read = 0
        for entity in BACKFILL_ENTITIES:
            for rows in self.client.query_all(entity):
                read += len(rows)
                yield self._batch({entity: rows})
                if progress is not None:
                    progress(read)

    def start_cursor(self) -> str:
        now = self._clock.now()
        return encode_cursor(now, now)

    def poll(self, cursor: str | None) -> PollResult:
        now = self._clock.now()
        decoded = decode_cursor(cursor)
        if decoded is None:
            return self._sweep(now, "no cursor")
        since, swept = decoded
        if now - since >= CDC_LOOKBACK - CDC_MARGIN:
            return self._sweep(now, f"cursor from {_iso(since)} is older than CDC's 30 days")
        if (now - swept).total_seconds() >= self._settings.full_sweep_every_s:
            return self._sweep(now, "periodic full sweep")
        changed = self.client.cdc(CDC_ENTITIES, _iso(since - OVERLAP))
        total = sum(len(rows) for rows in changed.values())
        if total >= CDC_CAP:
            log.warning("QuickBooks CDC returned its cap of %d objects; re-reading by query", total)
            changed = self._changed_by_query(since - OVERLAP, changed)
        return PollResult(batch=self._batch(changed), cursor=encode_cursor(now, swept))

    def _changed_by_query(
        self, since: datetime, cdc: dict[str, list[dict[str, Any]]]
    ) -> dict[str, list[dict[str, Any]]]:
        # The deleted stubs of a capped CDC answer are kept; queries cannot see deletions.
        found: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for entity, rows in cdc.items():
            found[entity].extend(r for r in rows if mapping.is_deleted_stub(r))
        where = f"MetaData.LastUpdatedTime >= {quote(_iso(since))}"
        for entity in CDC_ENTITIES:
            for rows in self.client.query_all(entity, where):
                found[entity].extend(rows)
        return dict(found)

    def _sweep(self, now: datetime, why: str) -> PollResult:
        log.info("QuickBooks full sweep: %s", why)
        batch = SourceBatch()
        for entity in BACKFILL_ENTITIES:
            for rows in self.client.query_all(entity):
                batch.extend(self._batch({entity: rows}))
        # Queries cannot see deletions; CDC can, for as far back as it reaches.
        recent = self.client.cdc(["Invoice"], _iso(now - CDC_LOOKBACK + CDC_MARGIN))
        stubs = [row for row in recent.get("Invoice", []) if mapping.is_deleted_stub(row)]
        batch.extend(self._batch({"Invoice": stubs}))
        return PollResult(batch=batch, cursor=encode_cursor(now, now), full_sweep=True)

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> list[InboundEvent]:
        token = self._settings.webhook_verifier_token
        return webhooks.verify(headers, body, token.get_secret_value() if token else None)

    def resolve(self, event: InboundEvent) -> SourceBatch:
        return self.resolve_many([event])

    def resolve_many(self, events: Iterable[InboundEvent]) -> SourceBatch:
        """Read what several events name with one query per entity kind."""
        realm = self.realm_id
        wanted: dict[str, set[str]] = defaultdict(set)
        batch = SourceBatch()
        for event in events:
            payload = event.payload
            if event.account and event.account != realm:
                log.warning(
                    "QuickBooks event %s is for company %s, not %s; ignored",
                    event.event_id,
                    event.account,
                    realm,
                )
                continue
            entity, entity_id = str(payload["entity"]), str(payload["id"])
            if payload.get("operation") == "Delete":
                when = event.occurred_at or self._clock.now()
                stub = {
                    "Id": entity_id,
                    "status": "Deleted",
                    "MetaData": {"LastUpdatedTime": when.isoformat()},
                }
                self._deleted(entity, stub, batch)
                continue
            wanted[entity].add(entity_id)
        read = {entity: self.client.read_many(entity, ids) for entity, ids in wanted.items()}
        payments = read.get("Payment", [])
        linked = {i for row in payments for i in mapping.linked_invoice_ids(row)}
        linked -= {str(row["Id"]) for row in read.get("Invoice", [])}
        if linked:
            read.setdefault("Invoice", []).extend(self.client.read_many("Invoice", linked))
        batch.extend(self._batch(read))
        return batch

    def health(self) -> SourceHealth:
        refused = self._tokens.refused
        if refused is not None:
            return SourceHealth(ok=False, message=refused)
        try:
            realm = self._tokens.realm_id()
        except AuthError as exc:
            return SourceHealth(ok=False, message=str(exc))
        return SourceHealth(ok=True, message=f"connected to QuickBooks company {realm}")

    def close(self) -> None:
        self._http.close()
