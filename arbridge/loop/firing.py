"""Record each firing exactly once, in the transaction that queues what it causes.

A firing's occurrence key is unique per subject: the row is written together with the
collection state its intents change and the task operations the planner derives from them, so
a crash, a restart or a re-delivered event never applies a firing twice; when the row exists
the firing is skipped. Grouped firings (one reminder per customer) also record the group's
occurrence once, under the customer. What a firing's intents want is gathered by
``arbridge.loop.contributions`` and planned by the reconciler like any other change: rules
never write to the outbox themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import structlog
from sqlalchemy import Engine
from sqlmodel import Session, select

from arbridge.automation.engine import Firing
from arbridge.errors import TemplateProblem
from arbridge.loop.contributions import Wanted, contribute
from arbridge.loop.reconcile import Reconciler
from arbridge.model.invoice import Invoice
from arbridge.store import repo
from arbridge.store.db import transaction
from arbridge.store.tables import CollectionRow, FiringRow

log = structlog.get_logger(__name__)


@dataclass
class RunStats:
    fired: int = 0
    skipped_already_fired: int = 0
    reminders: int = 0
    escalations: int = 0
    became_overdue: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)


class FiringRecorder:
    def __init__(
        self, engine: Engine, reconciler: Reconciler, stats: RunStats, *, dry_run: bool = False
    ) -> None:
        self.engine = engine
        self.reconciler = reconciler
        self.stats = stats
        # Dry run: everything happens inside a transaction that is rolled back.
        self.dry_run = dry_run

    def apply(self, firing: Firing, now: datetime) -> None:
        """Record ``firing`` and plan what it wants, unless it was recorded before."""
        with transaction(self.engine, rollback=self.dry_run) as session:
            # The invoice first, as every writer of it does: a firing, a source change and a
            # collector's edit of the same invoice then plan one after the other, never from
            # the same planned state, and a firing applied twice at once is seen recorded.
            stored = repo.lock_invoice(session, firing.invoice_key)
            if recorded(session, firing.invoice_key, firing.occurrence_key):
                self.stats.skipped_already_fired += 1
                return
            try:
                # Comment and subtask texts render here, for the firings really applied.
                rendered = firing.intents
            except TemplateProblem as exc:
                # Not recorded: nothing was done, and the error shows on every tick until the
                # template or the data is fixed.
                log.error(
                    "rule template failed",
                    rule=firing.rule_id,
                    invoice=firing.invoice_key,
                    problem=str(exc),
                )
                return
            self._record(
                session, firing, [intent.model_dump(mode="json") for intent in rendered], now
            )
            row = session.get(CollectionRow, firing.invoice_key) or CollectionRow(
                invoice_key=firing.invoice_key, updated_at=now
            )
            wanted = Wanted(row=row, now=now)
            contribute(rendered, wanted)
            row.updated_at = now
            session.add(row)
            session.flush()
            if stored is not None:
                invoice = Invoice.model_validate(stored.data)
                self.reconciler.replan(
                    session, invoice, reason=f"rule {firing.rule_id}", effects=wanted.effects
                )
        self.stats.fired += 1
        self.stats.reminders += wanted.reminders
        self.stats.escalations += wanted.escalations
        self.stats.by_rule[firing.rule_id] = self.stats.by_rule.get(firing.rule_id, 0) + 1
        log.info(
            "rule fired",
            rule=firing.rule_id,
            source=firing.invoice_key.partition(":")[0],
            invoice=firing.invoice_key.rpartition(":")[2],
            occurrence=firing.occurrence_key,
        )

    @staticmethod
    def _record(
        session: Session, firing: Firing, intents: list[dict[str, object]], now: datetime
    ) -> None:
        session.add(
            FiringRow(
                rule_id=firing.rule_id,
                rule_version=firing.rule_version,
                subject_key=firing.invoice_key,
                occurrence_key=firing.occurrence_key,
                intents=intents,
                fired_at=now,
            )
        )
        # Every invoice of a group carries the group's occurrence; it is recorded once.
        if (
            firing.group_key
            and firing.group_occurrence_key
            and not recorded(session, firing.group_key, firing.group_occurrence_key)
        ):
            session.add(
                FiringRow(
                    rule_id=firing.rule_id,
                    rule_version=firing.rule_version,
                    subject_key=firing.group_key,
                    occurrence_key=firing.group_occurrence_key,
                    intents=[],
                    fired_at=now,
                )
            )


def recorded(session: Session, subject: str, occurrence: str) -> bool:
    """Whether a firing of ``subject`` under ``occurrence`` is recorded."""
    with session.no_autoflush:
        found = session.exec(
            select(FiringRow.id).where(
                FiringRow.subject_key == subject, FiringRow.occurrence_key == occurrence
            )
        ).first()
    return found is not None
