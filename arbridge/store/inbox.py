"""The webhook inbox: verified events stored before their delivery is acknowledged.

``(provider, event_id)`` is unique, so a re-delivered event is recognised by the database
itself, even when two requests carrying it race. Processing claims due rows with a lease, like
the outbox: a worker that dies mid-event leaves the row to be claimed again, and the processing
is idempotent (versions decide), so doing it twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, bindparam, func, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from arbridge.ports.source import InboundEvent
from arbridge.store.db import is_postgres, transaction
from arbridge.store.tables import InboxRow
from arbridge.store.types import UTCDateTime

PENDING = "pending"
IN_FLIGHT = "in_flight"
DONE = "done"
FAILED = "failed"


@dataclass(frozen=True)
class StoreResult:
    stored: int
    duplicates: int


def store_events(engine: Engine, events: list[InboundEvent], now: datetime) -> StoreResult:
    """Insert the events of one delivery in one transaction; already-known ids are skipped."""
    return store_deliveries(engine, [(events, now)])[0]


def store_deliveries(
    engine: Engine, deliveries: list[tuple[list[InboundEvent], datetime]]
) -> list[StoreResult]:
    """Several deliveries in one transaction (one fsync), each with its own result."""
    insert = postgresql.insert if is_postgres(engine) else sqlite.insert
    results = []
    with transaction(engine) as session:
        for events, now in deliveries:
            results.append(_insert(session, insert, events, now))
    return results


def _insert(
    session: Session, insert: Any, events: list[InboundEvent], now: datetime
) -> StoreResult:
    if not events:
        return StoreResult(0, 0)
    rows: list[dict[str, Any]] = [
        {
            "provider": e.provider,
            "event_id": e.event_id,
            "kind": e.kind,
            "account": e.account,
            "occurred_at": e.occurred_at,
            "payload": e.payload,
            "received_at": now,
            "state": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
        }
        for e in events
    ]
    # One delivery may name the same event twice (QuickBooks batches); keep the first.
    unique = list({(r["provider"], r["event_id"]): r for r in reversed(rows)}.values())[::-1]
    statement = (
        insert(InboxRow)
        .values(unique)
        .on_conflict_do_nothing(index_elements=["provider", "event_id"])
        .returning(col(InboxRow.id))
    )
    inserted = len(session.execute(statement).all())
    return StoreResult(stored=inserted, duplicates=len(rows) - inserted)


@dataclass(frozen=True)
class ClaimedEvent:
    id: int
    attempts: int
    event: InboundEvent


_CLAIMABLE = or_(
    and_(
        col(InboxRow.state) == PENDING,
        col(InboxRow.next_attempt_at) <= bindparam("now", type_=UTCDateTime()),
    ),
    and_(
        col(InboxRow.state) == IN_FLIGHT,
        col(InboxRow.lease_until) < bindparam("now", type_=UTCDateTime()),
    ),
)


def claim(engine: Engine, *, now: datetime, lease: timedelta, limit: int) -> list[ClaimedEvent]:
    """Take up to ``limit`` due events, oldest first."""
    with transaction(engine) as session:
        statement = (
            select(InboxRow)
            .where(_CLAIMABLE)
            .order_by(col(InboxRow.next_attempt_at), col(InboxRow.id))
            .limit(limit)
        )
        if is_postgres(engine):
            statement = statement.with_for_update(skip_locked=True)
        rows = session.exec(statement, params={"now": now}).all()
        claimed = []
        for row in rows:
            row.state = IN_FLIGHT
            row.lease_until = now + lease
            row.attempts += 1
            session.add(row)
            assert row.id is not None
            claimed.append(
                ClaimedEvent(
                    id=row.id,
                    attempts=row.attempts,
                    event=InboundEvent(
                        provider=row.provider,
                        event_id=row.event_id,
                        kind=row.kind,
                        account=row.account,
                        occurred_at=row.occurred_at,
                        payload=dict(row.payload),
                    ),
                )
            )
        return claimed


def finish(session: Session, row_id: int, now: datetime) -> None:
    row = session.get(InboxRow, row_id)
    if row is None:
        return
    row.state = DONE
    row.lease_until = None
    row.processed_at = now
    row.last_error = None
    session.add(row)


def reschedule(engine: Engine, row_id: int, *, error: str, at: datetime, permanent: bool) -> None:
    with transaction(engine) as session:
        row = session.get(InboxRow, row_id)
        if row is None:
            return
        row.state = FAILED if permanent else PENDING
        row.lease_until = None
        row.last_error = error
        row.next_attempt_at = at
        session.add(row)


@dataclass(frozen=True)
class InboxStats:
    pending: int
    failed: int
    done: int
    oldest_pending: datetime | None


def stats(session: Session) -> InboxStats:
    counts = dict(
        session.exec(select(InboxRow.state, func.count()).group_by(col(InboxRow.state))).all()
    )
    oldest = session.exec(
        select(func.min(InboxRow.received_at)).where(col(InboxRow.state) != DONE)
    ).one()
    return InboxStats(
        pending=counts.get(PENDING, 0) + counts.get(IN_FLIGHT, 0),
        failed=counts.get(FAILED, 0),
        done=counts.get(DONE, 0),
        oldest_pending=oldest,
    )


def failed_events(session: Session, limit: int = 20) -> list[InboxRow]:
    return list(
        session.exec(
            select(InboxRow)
            .where(col(InboxRow.last_error).is_not(None), col(InboxRow.state) != DONE)
            .order_by(col(InboxRow.id))
            .limit(limit)
        ).all()
    )
