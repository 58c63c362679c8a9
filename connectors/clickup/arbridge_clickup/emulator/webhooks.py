"""The webhook sender: POSTs queued events to their endpoints like ClickUp does.

Which events are queued, and the signed bodies, come from ``state.py`` and ``events.py``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import httpx

from arbridge_clickup.emulator.events import WebhookDelivery
from arbridge_clickup.emulator.state import EmulatorState


@dataclass(frozen=True)
class DeliveryAttempt:
    delivery: WebhookDelivery
    status: int | None  # None when no HTTP response arrived
    ok: bool
    elapsed: float


class WebhookDispatcher:
    """POSTs queued webhook events, retrying and tracking webhook health like ClickUp.

    A delivery fails on a non-2xx status, a transport error or taking longer than ``timeout``;
    it is retried ``max_retries`` times, then dropped and the webhook's ``fail_count`` grows.
    A 410 suspends the webhook at once. Deliveries run on a daemon thread that starts with the
    first queued event; ``pause()`` holds them so a test can ``flush()`` them itself, reversed
    or duplicated, as ClickUp may do.
    """

    def __init__(
        self,
        state: EmulatorState,
        *,
        enabled: bool = True,
        timeout: float = 7.0,
        max_retries: int = 5,
        retry_delay: float = 0.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.state = state
        self.enabled = enabled
        self.timeout = timeout
        self.max_retries = max_retries
        self.retry_delay = retry_delay
        self.attempts: list[DeliveryAttempt] = []
        self._transport = transport
        self._client: httpx.Client | None = None
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._paused = False
        self._closed = False
        state.add_outbox_listener(self._wake)

    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self) -> None:
        with self._cond:
            self._paused = True

    def resume(self) -> None:
        with self._cond:
            self._paused = False
        self._wake()

    def pending(self) -> list[WebhookDelivery]:
        with self.state.lock:
            return list(self.state.outbox)

    def flush(self, *, reverse: bool = False, duplicate: bool = False) -> list[DeliveryAttempt]:
        """Deliver everything queued now, on the calling thread; returns the attempts made."""
        batch = self.state.take_deliveries()
        if reverse:
            batch.reverse()
        if duplicate:
            batch = [d for d in batch for _ in range(2)]
        start = len(self.attempts)
        for delivery in batch:
            self.deliver(delivery)
        return self.attempts[start:]

    def deliver(self, delivery: WebhookDelivery) -> bool:
        for attempt in range(self.max_retries + 1):
            hook = self.state.webhooks.get(delivery.webhook_id)
            if hook is None or hook.status == "suspended":
                return False
            status, elapsed = self._post(delivery)
            ok = status is not None and 200 <= status < 300 and elapsed <= self.timeout
            self.attempts.append(DeliveryAttempt(delivery, status, ok, elapsed))
            if ok:
                self.state.record_delivery(delivery.webhook_id, ok=True)
                return True
            if status == 410:
                self.state.record_delivery(delivery.webhook_id, ok=False, gone=True)
                return False
            if self.retry_delay and attempt < self.max_retries:
                time.sleep(self.retry_delay)
        self.state.record_delivery(delivery.webhook_id, ok=False)
        return False

    def _post(self, delivery: WebhookDelivery) -> tuple[int | None, float]:
        if self._client is None:
            self._client = httpx.Client(timeout=self.timeout, transport=self._transport)
        headers = {"Content-Type": "application/json", "X-Signature": delivery.signature}
        started = time.monotonic()
        try:
            response = self._client.post(delivery.endpoint, content=delivery.body, headers=headers)
        except httpx.HTTPError:
            return None, time.monotonic() - started
        return response.status_code, time.monotonic() - started

    def _wake(self) -> None:
        with self._cond:
            if self.enabled and not self._paused and not self._closed and self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="clickup-emulator-webhooks", daemon=True
                )
                self._thread.start()
            self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed and (self._paused or not self.state.outbox):
                    self._cond.wait(timeout=1.0)
                if self._closed:
                    return
            for delivery in self.state.take_deliveries():
                self.deliver(delivery)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=self.timeout + 1)
        if self._client is not None:
            self._client.close()
            self._client = None
