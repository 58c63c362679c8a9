"""Signed webhook deliveries, with the faults real deliveries have.

Each event is queued for every subscribed endpoint and POSTed by :meth:`WebhookSender.flush`
with ``Stripe-Signature: t=<unix s>,v1=<hex HMAC-SHA256(secret, "t.body")>``. The timestamp is
the real time (as Stripe signs), not the emulator's clock, so the receiver's 300 s tolerance
holds while a demo moves its clock through months. A non-2xx answer or a transport error is
retried at once, up to ``max_attempts`` (Stripe's three days of backoff, compressed).

Knobs (:class:`DeliveryKnobs`, changeable at any time) reproduce what a receiver must survive:
duplicates, held (late) deliveries, dropped events, reversed order, stale timestamps and a
secret rotation window (two ``v1=`` entries).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class DeliveryKnobs:
    duplicate: bool = False  # every event is delivered twice
    hold: bool = False  # events stay queued until ``hold`` is cleared (late delivery)
    drop_next: int = 0  # the next n events are never delivered (the poll must find them)
    reverse: bool = False  # each flush delivers newest first
    stale_by_s: int = 0  # sign with a timestamp this far in the past (a replay)
    extra_secrets: tuple[str, ...] = ()  # also sign with these (rotation: two v1= entries)
    max_attempts: int = 3


@dataclass(frozen=True)
class Delivery:
    event_id: str
    event_type: str
    url: str
    body: bytes


@dataclass
class DeliveryStats:
    sent: int = 0  # POSTs made, retries and duplicates included
    delivered: int = 0  # events acknowledged with a 2xx
    failed: int = 0  # events given up after max_attempts
    dropped: int = 0  # events lost on purpose by ``drop_next``
    statuses: dict[str, int] = field(default_factory=dict)


def signature_header(body: bytes, secrets: list[str], timestamp: int) -> str:
    """``t=..,v1=..[,v1=..]`` exactly as Stripe (and ``WebhookSignature``) format it."""
    signed = f"{timestamp}.".encode() + body
    parts = [f"t={timestamp}"]
    for secret in secrets:
        digest = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
        parts.append(f"v1={digest}")
    return ",".join(parts)


class WebhookSender:
    def __init__(
        self,
        secret: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.secret = secret
        self.knobs = DeliveryKnobs()
        self.stats = DeliveryStats()
        self._urls: list[str] = []
        self._queue: list[Delivery] = []
        self._lock = threading.Lock()
        self._transport = transport
        self._timeout = timeout
        self._wall = wall
        self._client: httpx.Client | None = None

    def use_transport(self, transport: httpx.BaseTransport | None) -> None:
        """Send through ``transport`` (e.g. ``httpx.MockTransport`` around a receiver)."""
        self.close()
        self._transport = transport

    def subscribe(self, url: str) -> None:
        with self._lock:
            if url not in self._urls:
                self._urls.append(url)

    def on_event(self, event: dict[str, Any]) -> None:
        body = json.dumps(event, indent=2).encode("utf-8")
        with self._lock:
            if not self._urls:
                return
            if self.knobs.drop_next > 0:
                self.knobs.drop_next -= 1
                self.stats.dropped += 1
                return
            for url in self._urls:
                self._queue.append(Delivery(event["id"], event["type"], url, body))

    def pending(self) -> list[Delivery]:
        with self._lock:
            return list(self._queue)

    def flush(self) -> int:
        """Deliver what is queued (unless held); returns the POSTs made."""
        with self._lock:
            if self.knobs.hold:
                return 0
            batch, self._queue = self._queue, []
            knobs = DeliveryKnobs(**vars(self.knobs))
        if knobs.reverse:
            batch.reverse()
        if knobs.duplicate:
            batch = [d for d in batch for _ in range(2)]
        posts = 0
        for delivery in batch:
            posts += self._deliver(delivery, knobs)
        return posts

    def _deliver(self, delivery: Delivery, knobs: DeliveryKnobs) -> int:
        for attempt in range(1, knobs.max_attempts + 1):
            timestamp = int(self._wall()) - knobs.stale_by_s
            header = signature_header(delivery.body, [self.secret, *knobs.extra_secrets], timestamp)
            status = self._post(delivery, header)
            with self._lock:
                self.stats.sent += 1
                label = "error" if status is None else str(status)
                self.stats.statuses[label] = self.stats.statuses.get(label, 0) + 1
                if status is not None and 200 <= status < 300:
                    self.stats.delivered += 1
                    return attempt
        with self._lock:
            self.stats.failed += 1
        return knobs.max_attempts

    def _post(self, delivery: Delivery, header: str) -> int | None:
        if self._client is None:
            self._client = httpx.Client(timeout=self._timeout, transport=self._transport)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": header,
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        }
        try:
            response = self._client.post(delivery.url, content=delivery.body, headers=headers)
        except httpx.HTTPError:
            return None
        return response.status_code

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
