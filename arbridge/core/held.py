"""Whose status a task shows: a status a collector chose holds while money is owed.

"disputed", or a list status arbridge does not map ("promise to pay"), is the collector's to
keep; a mapped status such as "overdue" is not held: choosing it hands the task back to
arbridge.
"""

from __future__ import annotations

from typing import Any

from arbridge.core.desired import RuleState
from arbridge.model.task import TASK_STATUSES, TaskSpec

DISPUTED = "disputed"


def collector_hold(collector_status: str | None, disputed_by_collector: bool) -> str | None:
    """The status a collector chose that the task keeps while money is owed, if any."""
    if collector_status is None:
        return None
    if disputed_by_collector:
        return DISPUTED
    return collector_status if collector_status not in TASK_STATUSES else None


def keep_unmapped_status(
    desired: TaskSpec, rules: RuleState | None, planned: dict[str, Any] | None, receivable: bool
) -> TaskSpec:
    """A status a collector chose that arbridge does not map ("promise to pay") has no
    task-status key to plan: while money is owed and no rule decided otherwise, leave the
    task's status as it was planned, so the collector's status stays."""
    if (
        rules is None
        or rules.status is not None
        or rules.collector is None
        or rules.collector in TASK_STATUSES
        or not receivable
        or not planned
        or "status" not in planned
    ):
        return desired
    return desired.model_copy(update={"status": planned["status"]})
