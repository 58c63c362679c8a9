"""The webhook sender: POSTs queued events to their endpoints like ClickUp does.

Which events are queued, and the signed bodies, come from ``state.py`` and ``events.py``.
``Collector`` acts as a person in the workspace, so tests and the demo can produce the webhooks
a collector's work in ClickUp sends.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from datetime import time as day_time

import httpx

from arbridge_clickup.emulator.events import WebhookDelivery
from arbridge_clickup.emulator.model import Task
from arbridge_clickup.emulator.state import EmulatorState

PROMISE_FIELD = "Promise to pay date"


class Collector:
    """A workspace member (not arbridge's token user) changing tasks as people do in ClickUp.

    Each action goes through the same rules as the API and queues the signed webhook ClickUp
    would send, with this user in ``history_items``.
    """

    def __init__(self, state: EmulatorState, user_id: int) -> None:
        self.state = state
        self.user_id = user_id

    @property
    def email(self) -> str:
        return self.state.user(self.user_id).email

    def set_status(self, task_id: str, status: str) -> None:
        self.state.update_task(self._task(task_id), {"status": status}, user_id=self.user_id)

    def set_promise_date(self, task_id: str, day: date | None, field: str = PROMISE_FIELD) -> None:
        """Fill in (or clear, with ``None``) the promise-to-pay date field: noon UTC that day."""
        task = self._task(task_id)
        fdef = self.state.field_by_name(task.list_id, field)
        if day is None:
            self.state.clear_field(task, fdef.id, user_id=self.user_id)
            return
        moment = datetime.combine(day, day_time(12), tzinfo=UTC)
        value = int(moment.timestamp() * 1000)
        self.state.set_field(task, fdef.id, {"value": value}, user_id=self.user_id)

    def comment(self, task_id: str, text: str) -> str:
        body = {"comment_text": text, "notify_all": False}
        return self.state.add_comment(self._task(task_id), body, user_id=self.user_id).id

    def _task(self, task_id: str) -> Task:
        with self.state.lock:
            return self.state.tasks[task_id]


def collector_named(state: EmulatorState, email: str) -> Collector:
    wanted = email.casefold()
    for user in state.users.values():
        if user.email.casefold() == wanted:
            return Collector(state, user.id)
    raise KeyError(f"the workspace has no member with e-mail {email}")


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
        headers = {"Content-Type": "application/json", "X-Signature": delivery.signature}
        started = time.monotonic()
        try:
            if self._closed:
                # A delivery still in flight when the dispatcher closes (the sending thread may
                # outlive close's join) must not open a pooled connection nobody will close.
                with httpx.Client(timeout=self.timeout, transport=self._transport) as client:
                    response = client.post(
                        delivery.endpoint, content=delivery.body, headers=headers
                    )
            else:
                if self._client is None:
                    self._client = httpx.Client(timeout=self.timeout, transport=self._transport)
                response = self._client.post(
                    delivery.endpoint, content=delivery.body, headers=headers
                )
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
