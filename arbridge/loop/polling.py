"""Polling a source: the safety net under webhooks.

The first run takes a cursor for "now", then backfills everything; later runs ask for what
changed since the stored cursor. The cursor is stored only after the batch it covers has been
applied, so a crash in between re-reads that batch (harmless: versions decide) instead of
skipping it. A refused credential stops this source only: the error is recorded where
``arbridge status`` and ``/readyz`` show it, and the source is rebuilt on the next interval so
that reconnecting (``arbridge quickbooks connect``) heals it without a restart.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import Engine

from arbridge.clock import Clock
from arbridge.errors import AuthError, ConnectorError
from arbridge.logging import redactor
from arbridge.loop.ingest import Applied, BatchApplier
from arbridge.ports.source import InboundEvent, InvoiceSource, SourceBatch
from arbridge.store import repo
from arbridge.store.db import transaction

log = structlog.get_logger(__name__)


def cursor_name(source: str) -> str:
    return f"source.{source}.cursor"


def state_name(source: str) -> str:
    return f"source.{source}.state"


@dataclass(frozen=True)
class SourceState:
    """What status pages show of a source; stored as JSON in the cursors table."""

    last_ok_at: str | None = None
    last_error: str | None = None
    auth_refused: bool = False
    backfilled: bool = False
    invoices_seen: int = 0

    @classmethod
    def load(cls, engine: Engine, source: str) -> SourceState:
        with transaction(engine) as session:
            raw = repo.get_cursor(session, state_name(source))
        return cls(**json.loads(raw)) if raw else cls()

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class SourcePoller:
    def __init__(
        self,
        name: str,
        build: Callable[[], InvoiceSource],
        applier: BatchApplier,
        engine: Engine,
        clock: Clock,
        *,
        source: InvoiceSource | None = None,
    ) -> None:
        self.name = name
        self._build = build
        self.source = source
        self.applier = applier
        self.engine = engine
        self.clock = clock
        # Webhook resolution and polling share one source client; polls never overlap.
        self._lock = threading.Lock()
        self.progress: Callable[[int], None] | None = None

    def current(self) -> InvoiceSource:
        if self.source is None:
            self.source = self._build()
        return self.source

    def resolve(self, event: InboundEvent) -> SourceBatch:
        """Read what a webhook event names, never at the same time as a poll (one client)."""
        with self._lock:
            return self.current().resolve(event)

    def poll_once(self) -> Applied:
        """Backfill (first run) or poll since the cursor; errors are recorded, not raised."""
        with self._lock:
            state = SourceState.load(self.engine, self.name)
            try:
                applied = self._poll(state)
            except AuthError as exc:
                self._record(state, error=self._auth_message(exc), auth_refused=True)
                log.error("source credentials refused; polling stopped", source=self.name)
                if self.source is not None:
                    self.source.close()
                self.source = None
                return Applied()
            except ConnectorError as exc:
                self._record(state, error=str(redactor.scrub(str(exc))))
                log.warning("source poll failed; retrying next interval", source=self.name)
                return Applied()
            return applied

    def _poll(self, state: SourceState) -> Applied:
        source = self.current()
        with transaction(self.engine) as session:
            cursor = repo.get_cursor(session, cursor_name(self.name))
        total = Applied()
        if cursor is None:
            start = source.start_cursor()
            for batch in source.backfill(self.progress):
                total.add(self.applier.apply(batch, reason=f"{self.name} backfill"))
            new_cursor = start
            backfilled = True
        else:
            result = source.poll(cursor)
            reason = f"{self.name} {'full sweep' if result.full_sweep else 'poll'}"
            total.add(self.applier.apply(result.batch, reason=reason))
            new_cursor = result.cursor
            backfilled = state.backfilled
        now = self.clock.now()
        with transaction(self.engine) as session:
            repo.set_cursor(session, cursor_name(self.name), new_cursor, now)
        self._record(
            state,
            ok_at=now,
            backfilled=backfilled,
            seen=state.invoices_seen + total.invoices,
        )
        if total.invoices or total.deleted or total.disputes:
            log.info("source polled", source=self.name, **total.__dict__)
        return total

    def _auth_message(self, exc: AuthError) -> str:
        if self.source is not None:
            health = self.source.health()
            if not health.ok and health.message:
                return str(redactor.scrub(health.message))
        return str(redactor.scrub(str(exc)))

    def _record(
        self,
        state: SourceState,
        *,
        ok_at: datetime | None = None,
        error: str | None = None,
        auth_refused: bool = False,
        backfilled: bool | None = None,
        seen: int | None = None,
    ) -> None:
        updated = SourceState(
            last_ok_at=ok_at.isoformat() if ok_at else state.last_ok_at,
            last_error=error,
            auth_refused=auth_refused,
            backfilled=state.backfilled if backfilled is None else backfilled,
            invoices_seen=state.invoices_seen if seen is None else seen,
        )
        with transaction(self.engine) as session:
            repo.set_cursor(
                session, state_name(self.name), json.dumps(updated.as_dict()), self.clock.now()
            )

    def close(self) -> None:
        """Drop the source client (after a reconnect, or at shutdown); waits for a running poll."""
        with self._lock:
            if self.source is not None:
                self.source.close()
                self.source = None
