"""What a task tool reports of collectors' work: a status changed, a comment logged, a
promise-to-pay date set. The connector reads its webhook events into :class:`CollectorChange`;
the engine decides what they mean for collection (``arbridge.loop.collector``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, Protocol

from arbridge.model.task import TASK_STATUSES
from arbridge.ports.source import InboundEvent

CollectorKind = Literal["status_changed", "commented", "promise_to_pay_set"]
KINDS: tuple[CollectorKind, ...] = ("status_changed", "commented", "promise_to_pay_set")


@dataclass(frozen=True)
class CollectorChange:
    """One action a collector took on an invoice's task, as the task is now.

    ``status`` is a task-status key when arbridge maps the list status, else the list's own
    status name (e.g. "promise to pay"). ``changed_at`` is the task tool's time of the state
    read (the task's last update, or the comment's time): it orders changes of one invoice.
    """

    invoice_key: str
    kind: CollectorKind
    changed_at: datetime
    actor: str | None = None
    status: str | None = None
    previous_status: str | None = None
    promise_to_pay_date: date | None = None
    commented_at: datetime | None = None
    task_id: str = ""
    event_id: str = ""

    @property
    def rule_event(self) -> str:
        return f"collector.{self.kind}"

    def rule_context(self) -> dict[str, Any]:
        """The ``event.*`` facts of the rule event this change fires."""
        previous = self.previous_status if self.previous_status in TASK_STATUSES else None
        return {"event.actor": self.actor, "event.previous_task_status": previous}


class CollectorReader(Protocol):
    """Reads a stored inbox event into the collector change it stands for (``None``: nothing a
    collector did, or a change arbridge made itself)."""

    def read_change(self, event: InboundEvent) -> CollectorChange | None: ...
