"""The outbox: operations for the task tool, stored in the same transaction as their cause.

Claiming is safe for many workers in many processes. On PostgreSQL rows are locked with
``FOR UPDATE SKIP LOCKED``; on SQLite every transaction begins IMMEDIATE, so claims serialise.
Operations on one task run strictly in id order: an operation is claimable only when no older
operation for the same task is still in the table. Retries are persisted reschedules
(``attempts``, ``next_attempt_at``), never sleeps; an in-flight operation whose worker died is
claimed again once its lease runs out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, bindparam, delete, exists, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from arbridge.core.ops import OpKind, merge_payloads
from arbridge.store.db import is_postgres, transaction
from arbridge.store.tables import OutboxRow
from arbridge.store.types import UTCDateTime

PENDING = "pending"
IN_FLIGHT = "in_flight"


@dataclass(frozen=True)
class ClaimedOp:
    id: int
    task_key: str
    kind: OpKind
    payload: dict[str, Any]
    attempts: int
    reason: str


def enqueue(
    session: Session,
    *,
    task_key: str,
    kind: OpKind,
    payload: dict[str, Any],
    idempotency_key: str,
    now: datetime,
    reason: str = "",
    coalesce_key: str | None = None,
) -> None:
    """Add an operation, or fold it into an unsent one with the same coalesce key."""
    if coalesce_key is not None:
        statement = select(OutboxRow).where(
            OutboxRow.task_key == task_key,
            OutboxRow.coalesce_key == coalesce_key,
            OutboxRow.state == PENDING,
        )
        if session.get_bind().dialect.name == "postgresql":
            statement = statement.with_for_update()
        existing = session.exec(statement).first()
        if existing is not None:
            # A later plan for the same field/attributes replaces the unsent one: one request.
            existing.payload = merge_payloads(kind, existing.payload, payload)
            existing.reason = reason or existing.reason
            session.add(existing)
            return
    duplicate = session.exec(
        select(OutboxRow.id).where(OutboxRow.idempotency_key == idempotency_key)
    ).first()
    if duplicate is not None:
        return
    session.add(
        OutboxRow(
            task_key=task_key,
            kind=kind.value,
            coalesce_key=coalesce_key,
            idempotency_key=idempotency_key,
            payload=payload,
            reason=reason,
            next_attempt_at=now,
            created_at=now,
        )
    )


_OLDER = aliased(OutboxRow)
# Built once: the same expression object lets SQLAlchemy reuse its compiled form on every poll.
_CLAIMABLE = and_(
    or_(
        and_(
            col(OutboxRow.state) == PENDING,
            col(OutboxRow.next_attempt_at) <= bindparam("now", type_=UTCDateTime()),
        ),
        and_(
            col(OutboxRow.state) == IN_FLIGHT,
            col(OutboxRow.lease_until) < bindparam("now", type_=UTCDateTime()),
        ),
    ),
    # Only the head of each task's queue: operations on one task never overtake each other.
    ~exists().where(
        and_(col(_OLDER.task_key) == col(OutboxRow.task_key), col(_OLDER.id) < col(OutboxRow.id))
    ),
)


def claim_batch(
    engine: Engine, *, worker: str, now: datetime, lease: timedelta, limit: int
) -> list[ClaimedOp]:
    """Take up to ``limit`` due operations, at most one per task, for this worker."""
    with transaction(engine) as session:
        statement = (
            select(OutboxRow)
            .where(_CLAIMABLE)
            .order_by(col(OutboxRow.next_attempt_at), col(OutboxRow.id))
            .limit(limit)
        )
        if is_postgres(engine):
            statement = statement.with_for_update(skip_locked=True, of=OutboxRow)
        rows = session.exec(statement, params={"now": now}).all()
        claimed = []
        for row in rows:
            row.state = IN_FLIGHT
            row.lease_until = now + lease
            row.claimed_by = worker
            row.attempts += 1
            session.add(row)
            assert row.id is not None
            claimed.append(
                ClaimedOp(
                    id=row.id,
                    task_key=row.task_key,
                    kind=OpKind(row.kind),
                    payload=dict(row.payload),
                    attempts=row.attempts,
                    reason=row.reason,
                )
            )
        return claimed


def claim(engine: Engine, *, worker: str, now: datetime, lease: timedelta) -> ClaimedOp | None:
    """Take the next due operation for this worker, or None when nothing is due."""
    ops = claim_batch(engine, worker=worker, now=now, lease=lease, limit=1)
    return ops[0] if ops else None


def finish(session: Session, op_id: int) -> None:
    session.exec(delete(OutboxRow).where(col(OutboxRow.id) == op_id))


def reschedule(session: Session, op_id: int, *, error: str, at: datetime, permanent: bool) -> None:
    row = session.get(OutboxRow, op_id)
    if row is None:
        return
    row.state = PENDING
    row.lease_until = None
    row.claimed_by = None
    row.last_error = error
    row.permanent_failure = permanent
    row.next_attempt_at = at
    session.add(row)


def pending_for(session: Session, task_key: str) -> list[OutboxRow]:
    return list(
        session.exec(
            select(OutboxRow).where(OutboxRow.task_key == task_key).order_by(col(OutboxRow.id))
        ).all()
    )


@dataclass(frozen=True)
class OutboxStats:
    depth: int
    due: int
    failing: int
    oldest: datetime | None


def stats(session: Session, now: datetime) -> OutboxStats:
    depth = session.exec(select(func.count()).select_from(OutboxRow)).one()
    due = session.exec(
        select(func.count()).select_from(OutboxRow).where(_CLAIMABLE), params={"now": now}
    ).one()
    failing = session.exec(
        select(func.count()).select_from(OutboxRow).where(col(OutboxRow.last_error).is_not(None))
    ).one()
    oldest = session.exec(select(func.min(OutboxRow.created_at))).one()
    return OutboxStats(depth=depth, due=due, failing=failing, oldest=oldest)


def failing_ops(session: Session, limit: int = 50) -> list[OutboxRow]:
    return list(
        session.exec(
            select(OutboxRow)
            .where(col(OutboxRow.last_error).is_not(None))
            .order_by(col(OutboxRow.id))
            .limit(limit)
        ).all()
    )
