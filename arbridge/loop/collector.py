"""Collectors' actions in the task tool become collection facts the rules use.

A collector moving a task to "disputed" or "promise to pay", filling in the promise-to-pay date
or commenting (a customer's reply, logged on the task) arrives as a webhook. The connector reads
it into a :class:`CollectorChange`; :func:`apply_collector_change` stores what it means in the
invoice's ``CollectionRow`` and says which rule event to fire.

Order safety without a schema change: every applied change is written to the audit trail with
the task tool's own time of the state it carries, and a change older than the last one applied
for the same invoice and kind is ignored. Re-applying the same change changes nothing and fires
nothing, so a re-delivered or re-processed webhook is a no-op.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from arbridge.core.held import DISPUTED, collector_hold
from arbridge.loop.reconcile import Reconciler
from arbridge.loop.rules import RulesRunner
from arbridge.model.task import TASK_STATUSES
from arbridge.ports.collector import CollectorChange, CollectorKind, CollectorReader
from arbridge.ports.source import InboundEvent
from arbridge.store import repo
from arbridge.store.db import transaction
from arbridge.store.tables import AuditRow, CollectionRow

log = structlog.get_logger(__name__)

AUDIT_PREFIX = "collector."


def held_status(row: CollectionRow | None) -> str | None:
    """The status a collector chose that the task keeps while money is owed: "disputed", or a
    list status arbridge does not map ("promise to pay"). A mapped status such as "overdue" is
    not held: choosing it hands the task back to arbridge."""
    if row is None:
        return None
    return collector_hold(row.collector_status, row.disputed_by_collector)


def apply_collector_change(engine: Engine, change: CollectorChange, now: datetime) -> str | None:
    """Store what ``change`` means for its invoice, in one transaction; returns the rule event
    to fire (``collector.status_changed`` ...) or ``None`` when nothing changed.

    Ignored: a change of an invoice arbridge does not know, a status equal to the one arbridge
    planned for the task (its own update coming back), a change older than the last one applied
    of the same kind, and a repeat of what is already stored.
    """
    for attempt in range(2):
        try:
            with transaction(engine) as session:
                return _apply_in(session, change, now)
        except IntegrityError:
            # Two workers created the invoice's collection row at once; the retry finds it.
            if attempt:
                raise
    raise AssertionError("unreachable")


def handle_collector_event(
    engine: Engine,
    reader: CollectorReader,
    event: InboundEvent,
    now: datetime,
    *,
    reconciler: Reconciler | None = None,
    rules: RulesRunner | None = None,
) -> str | None:
    """Process one stored ClickUp inbox event end to end: read the change, store it, re-plan the
    invoice's task (so a held status is not reverted) and fire the rule event with its
    ``event.actor`` and ``event.previous_task_status``. Returns the rule event, if any.

    Safe to run again for the same event: the second run stores and fires nothing.
    """
    change = reader.read_change(event)
    if change is None:
        return None
    fired = apply_collector_change(engine, change, now)
    if fired is None:
        return None
    if reconciler is not None:
        reconciler.resync([change.invoice_key], reason=fired)
    if rules is not None:
        rules.event(fired, change.invoice_key, now, context=change.rule_context())
    return fired


def _apply_in(session: Session, change: CollectorChange, now: datetime) -> str | None:
    key = change.invoice_key
    if repo.lock_invoice(session, key) is None:
        log.info("collector change for an unknown invoice ignored", task=change.task_id)
        return None
    link = repo.get_link(session, key)
    planned = None if link is None else link.planned
    stored = session.get(CollectionRow, key, with_for_update=True)
    # The status arbridge planned, while no collector's status is held, is its own update
    # coming back; moving a held task back to it is a collector handing it back.
    if (
        change.kind == "status_changed"
        and planned
        and planned.get("status") == change.status
        and held_status(stored) is None
    ):
        log.debug("own status change ignored", invoice_key=key, status=change.status)
        return None
    last = _last_applied(session, key, change.kind)
    if last is not None and change.changed_at < last:
        log.info("older collector change ignored", invoice_key=key, kind=change.kind)
        return None
    row = stored or CollectionRow(invoice_key=key, updated_at=now)
    if not _update(row, change):
        return None
    row.updated_at = now
    session.add(row)
    if change.kind == "status_changed" and change.status in TASK_STATUSES and link and planned:
        # The task already shows this status: record it as planned so no request repeats it.
        link.planned = {**planned, "status": change.status}
        session.add(link)
    repo.audit(
        session,
        at=now,
        invoice_key=key,
        action=AUDIT_PREFIX + change.kind,
        outcome="applied",
        reason=f"collector {change.actor or 'unknown'}",
        detail=_detail(change),
    )
    log.info(
        "collector change applied",
        kind=change.kind,
        source=key.partition(":")[0],
        invoice=key.rpartition(":")[2],
        status=change.status,
    )
    return change.rule_event


def _update(row: CollectionRow, change: CollectorChange) -> bool:
    """Apply ``change`` to ``row``; False when the row already says it."""
    if change.kind == "status_changed":
        disputed = change.status == DISPUTED
        if row.collector_status == change.status and row.disputed_by_collector == disputed:
            return False
        row.collector_status = change.status
        row.disputed_by_collector = disputed
        # The collector's choice is newer than any status a rule set: the rules decide again
        # on the event this change fires.
        row.status = None
        return True
    if change.kind == "promise_to_pay_set":
        if row.promise_to_pay_date == change.promise_to_pay_date:
            return False
        row.promise_to_pay_date = change.promise_to_pay_date
        return True
    replied = change.commented_at or change.changed_at
    if row.customer_replied_at is not None and replied <= row.customer_replied_at:
        return False
    row.customer_replied_at = replied
    row.customer_replied_since_last_reminder = True
    return True


def _last_applied(session: Session, key: str, kind: CollectorKind) -> datetime | None:
    statement = (
        select(AuditRow.detail)
        .where(AuditRow.invoice_key == key, AuditRow.action == AUDIT_PREFIX + kind)
        .order_by(col(AuditRow.id).desc())
        .limit(1)
    )
    detail: Mapping[str, Any] | None = session.exec(statement).first()
    if not detail or not detail.get("changed_at"):
        return None
    return datetime.fromisoformat(str(detail["changed_at"]))


def _detail(change: CollectorChange) -> dict[str, Any]:
    return {
        "changed_at": change.changed_at.isoformat(),
        "actor": change.actor,
        "status": change.status,
        "previous_status": change.previous_status,
        "promise_to_pay_date": None
        if change.promise_to_pay_date is None
        else change.promise_to_pay_date.isoformat(),
        "task_id": change.task_id,
        "event_id": change.event_id,
    }
