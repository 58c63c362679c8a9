"""Group commit for the webhook inbox.

Every acknowledged delivery must be on disk first, and on SQLite with ``synchronous=FULL`` a
commit is an fsync (about 7 ms on the machines measured). Deliveries that arrive while a commit
is in flight wait for the next one and share it, so a burst of webhooks costs a few fsyncs
instead of one each; a lone delivery is committed at once, so its latency does not grow.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from datetime import datetime

from sqlalchemy import Engine

from arbridge.ports.source import InboundEvent
from arbridge.store.inbox import StoreResult, store_deliveries

Pending = tuple[list[InboundEvent], datetime, "Future[StoreResult]"]


class GroupCommitter:
    def __init__(self, engine: Engine, *, max_batch: int = 256) -> None:
        self.engine = engine
        self.max_batch = max_batch
        self.commits = 0
        self._queue: list[Pending] = []
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    def store(self, events: list[InboundEvent], now: datetime) -> StoreResult:
        """Store one delivery's events; returns once they are committed (raises if not)."""
        future: Future[StoreResult] = Future()
        with self._cond:
            if self._closed:
                raise RuntimeError("the inbox writer is closed")
            self._queue.append((events, now, future))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="inbox-writer", daemon=True)
                self._thread.start()
            self._cond.notify()
        return future.result()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue:
                    return
                batch = self._queue[: self.max_batch]
                del self._queue[: self.max_batch]
            try:
                results = store_deliveries(self.engine, [(e, now) for e, now, _ in batch])
            except Exception as exc:
                if len(batch) == 1:
                    # Not acknowledged: the provider will deliver it again.
                    batch[0][2].set_exception(exc)
                    continue
                # The transaction held everyone's deliveries and was rolled back whole. One of
                # them may be the cause (a value the database refuses), so each is committed on
                # its own: only the offender, or all of them if the store itself is down, fail.
                for events, now, future in batch:
                    self._store_alone(events, now, future)
                continue
            self.commits += 1
            for (_, _, future), result in zip(batch, results, strict=True):
                future.set_result(result)

    def _store_alone(
        self, events: list[InboundEvent], now: datetime, future: Future[StoreResult]
    ) -> None:
        try:
            result = store_deliveries(self.engine, [(events, now)])[0]
        except Exception as exc:
            future.set_exception(exc)
            return
        self.commits += 1
        future.set_result(result)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=10)
