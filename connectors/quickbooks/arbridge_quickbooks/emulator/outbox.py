"""Webhook deliveries from the emulated company, in the classic or the CloudEvents format.

Changes are queued as they happen and sent by :meth:`WebhookOutbox.flush` on the caller's
thread. A failed delivery stays at the head of the queue and holds back the later ones, as
Intuit does. Knobs make deliveries go missing (``drop_next``), arrive twice
(``duplicate_next``), arrive newest first (``reorder``) or wait (``hold``), so that the
connector's CDC safety net gets exercised.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

import httpx

from arbridge_quickbooks.emulator.state import Change
from arbridge_quickbooks.webhooks import sign

Format = Literal["cloudevents", "legacy"]
_VERBS = {
    "Create": "created",
    "Update": "updated",
    "Delete": "deleted",
    "Void": "voided",
    "Merge": "merged",
    "Emailed": "emailed",
}


def legacy_body(changes: list[Change]) -> dict[str, Any]:
    by_realm: dict[str, list[dict[str, Any]]] = {}
    for change in changes:
        by_realm.setdefault(change.realm, []).append(
            {
                "name": change.entity,
                "id": change.entity_id,
                "operation": change.operation,
                "lastUpdated": change.last_updated,
            }
        )
    return {
        "eventNotifications": [
            {"realmId": realm, "dataChangeEvent": {"entities": entities}}
            for realm, entities in by_realm.items()
        ]
    }


def cloudevents_body(changes: list[Change], app_id: str) -> list[dict[str, Any]]:
    return [
        {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": f"intuit.{app_id}",
            "type": f"qbo.{change.entity.lower()}.{_VERBS.get(change.operation, 'updated')}.v1",
            "datacontenttype": "application/json",
            "time": change.last_updated,
            "intuitentityid": change.entity_id,
            "intuitaccountid": change.realm,
            "data": {},
        }
        for change in changes
    ]


class WebhookOutbox:
    def __init__(
        self,
        verifier_token: str,
        *,
        app_id: str,
        fmt: Format = "cloudevents",
        events_per_delivery: int = 10,
        transport: httpx.BaseTransport | None = None,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.verifier_token = verifier_token
        self.app_id = app_id
        self.format: Format = fmt
        self.events_per_delivery = events_per_delivery
        self.url: str | None = None
        self.drop_next = 0
        self.duplicate_next = 0
        self.reorder = False
        self.hold = False
        self._pending: list[list[Change]] = []
        self._open: list[Change] = []
        self._lock = threading.Lock()
        self.transport = transport
        self._wall = wall
        self.sent = 0
        self.dropped = 0
        self.failed = 0
        self.bodies: list[bytes] = []
        self._http: httpx.Client | None = None

    def subscribe(self, url: str) -> None:
        self.url = url

    def record(self, change: Change) -> None:
        if self.url is None:
            return  # Intuit only notifies about changes made after the app was connected
        with self._lock:
            self._open.append(change)
            if len(self._open) >= self.events_per_delivery:
                self._pending.append(self._open)
                self._open = []

    @property
    def queued(self) -> int:
        with self._lock:
            return sum(len(d) for d in self._pending) + len(self._open)

    def body_for(self, changes: list[Change]) -> bytes:
        if self.format == "legacy":
            payload: Any = legacy_body(changes)
        else:
            payload = cloudevents_body(changes, self.app_id)
        return json.dumps(payload).encode()

    def flush(self) -> int:
        """Deliver what is queued; returns the deliveries attempted (duplicates included)."""
        if self.hold or self.url is None:
            return 0
        with self._lock:
            if self._open:
                self._pending.append(self._open)
                self._open = []
            deliveries, self._pending = self._pending, []
        if self.reorder:
            deliveries.reverse()
        made = 0
        http = self._client()
        for index, changes in enumerate(deliveries):
            if self.drop_next > 0:
                self.drop_next -= 1
                self.dropped += 1
                continue
            copies = 2 if self.duplicate_next > 0 else 1
            if copies == 2:
                self.duplicate_next -= 1
            body = self.body_for(changes)
            for _ in range(copies):
                made += 1
                if not self._send(http, body):
                    with self._lock:
                        self._pending = deliveries[index:] + self._pending
                    return made
        return made

    def _client(self) -> httpx.Client:
        # One client for every flush: building one loads the CA bundle (~0.1 s each time).
        if self._http is None:
            self._http = httpx.Client(transport=self.transport, timeout=3.0)
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def _send(self, http: httpx.Client, body: bytes) -> bool:
        assert self.url is not None
        headers = {
            "content-type": "application/json",
            "intuit-signature": sign(body, self.verifier_token),
            "intuit-created-time": self._wall().isoformat(timespec="milliseconds"),
            "intuit-t-id": str(uuid.uuid4()),
            "intuit-notification-schema-version": "0.1",
            "user-agent": "intuit_notification_server/0.1",
        }
        try:
            response = http.post(self.url, content=body, headers=headers)
        except httpx.HTTPError:
            self.failed += 1
            return False
        if response.status_code >= 300:
            self.failed += 1
            return False
        self.sent += 1
        self.bodies.append(body)
        return True
