"""The outbox worker: applies queued operations to the task tool, records what ClickUp accepted.

A crash between a successful create and the local commit is where a duplicate could appear.
The task carries its arbridge key, a comment its marker and a subtask its marker (in the key
field), so a create or post that is being retried first looks for what the lost attempt made
and adopts it instead of making a second one. Tags and field values are sets: re-sending them
changes nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import structlog
from sqlalchemy import Engine

from arbridge.clock import Clock
from arbridge.core.ops import OpKind, apply_op
from arbridge.errors import AuthError, PermanentError, TransientError
from arbridge.model.task import TaskSpec
from arbridge.ports.connector import SubtaskSpec, TaskChanges, TaskSink
from arbridge.retry import JOB_BACKOFF, job_backoff, retry_after_of
from arbridge.store import outbox, repo
from arbridge.store.db import transaction
from arbridge.store.outbox import ClaimedOp
from arbridge.store.tables import TaskLinkRow

log = structlog.get_logger(__name__)


class CrashPoint(Exception):
    """Raised by test hooks to simulate the process dying at a chosen point."""


@dataclass
class WorkerStats:
    applied: int = 0
    failed: int = 0
    adopted: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


def comment_text(payload: dict[str, Any]) -> str:
    """The posted text ends with its marker so a retry can find it on the task."""
    return f"{payload['text']}\n\n({payload['marker']})"


def changes_from(payload: dict[str, Any]) -> TaskChanges:
    def text(name: str) -> str | None:
        value = payload.get(name)
        return None if value is None else str(value)

    priority = payload.get("priority")
    return TaskChanges(
        name=text("name"),
        description=text("description"),
        status=text("status"),
        due_date=text("due_date"),
        clear_due_date="due_date" in payload and payload["due_date"] is None,
        priority=priority if isinstance(priority, int) else None,
        clear_priority="priority" in payload and payload["priority"] is None,
        assignees_add=tuple(str(a) for a in payload.get("assignees_add", []) or []),
        assignees_remove=tuple(str(a) for a in payload.get("assignees_remove", []) or []),
    )


def subtask_from(payload: dict[str, Any]) -> SubtaskSpec:
    due = payload.get("due_date")
    return SubtaskSpec(
        name=str(payload["name"]),
        marker=str(payload["marker"]),
        assignees=tuple(str(a) for a in payload.get("assignees", []) or []),
        due_date=None if due is None else date.fromisoformat(str(due)),
    )


class OutboxWorker:
    def __init__(
        self,
        engine: Engine,
        sink: TaskSink,
        clock: Clock,
        *,
        name: str = "worker",
        lease: timedelta = timedelta(seconds=120),
        retry_base: float = JOB_BACKOFF.first_s,
        retry_max: float = JOB_BACKOFF.max_s,
    ) -> None:
        self.engine = engine
        self.sink = sink
        self.clock = clock
        self.name = name
        self.lease = lease
        self.backoff = job_backoff(retry_base, retry_max)
        self.stats = WorkerStats()
        # Test hook: called with a point name; raising CrashPoint there simulates a crash.
        self.crash_hook: object = None

    def _maybe_crash(self, point: str) -> None:
        hook = self.crash_hook
        if callable(hook):
            hook(point)

    def run_once(self, batch: int = 1) -> int:
        """Claim up to ``batch`` due operations (one per task) and apply them; returns how many."""
        ops = outbox.claim_batch(
            self.engine, worker=self.name, now=self.clock.now(), lease=self.lease, limit=batch
        )
        for op in ops:
            self._apply(op)
        return len(ops)

    def drain(self, limit: int | None = None, batch: int = 20) -> int:
        """Apply due operations until none is left (or ``limit`` reached)."""
        done = 0
        while limit is None or done < limit:
            step = batch if limit is None else min(batch, limit - done)
            applied = self.run_once(step)
            if not applied:
                break
            done += applied
        return done

    def run_forever(self, stop: threading.Event, idle_wait: float = 0.5) -> None:
        while not stop.is_set():
            try:
                busy = self.run_once(batch=10) > 0
            except Exception:
                log.exception("outbox worker error")
                busy = False
            if not busy:
                stop.wait(idle_wait)

    def _apply(self, op: ClaimedOp) -> None:
        source, _, rest = op.task_key.partition(":")
        bound = log.bind(
            source=source,
            invoice=rest.partition(":")[2],
            op=op.kind.value,
            op_id=op.id,
            attempt=op.attempts,
        )
        with transaction(self.engine) as session:
            link = repo.get_link(session, op.task_key)
            task_id = None if link is None else link.task_id
        try:
            task_id, detail = self._execute(op, task_id)
        except CrashPoint:
            raise
        except (TransientError, PermanentError) as exc:
            permanent = isinstance(exc, PermanentError)
            delay = (
                self.backoff.max_s
                if isinstance(exc, AuthError)
                else self.backoff.delay(op.attempts, retry_after_of(exc))
            )
            at = self.clock.now() + timedelta(seconds=delay)
            with transaction(self.engine) as session:
                outbox.reschedule(session, op.id, error=str(exc), at=at, permanent=permanent)
                repo.audit(
                    session,
                    at=self.clock.now(),
                    invoice_key=op.task_key,
                    action=op.kind.value,
                    outcome="error",
                    reason=op.reason,
                    detail={"error": str(exc), "retry_at": at.isoformat()},
                )
            self.stats.failed += 1
            bound.warning(
                "operation failed, rescheduled", error=str(exc), retry_in_s=round(delay, 1)
            )
            return
        self._maybe_crash("after_remote_before_commit")
        with transaction(self.engine) as session:
            link = repo.get_link(session, op.task_key)
            if link is None:
                now = self.clock.now()
                link = TaskLinkRow(invoice_key=op.task_key, created_at=now, updated_at=now)
            link.task_id = task_id
            link.applied = apply_op(link.applied, op.kind, op.payload)
            link.updated_at = self.clock.now()
            session.add(link)
            outbox.finish(session, op.id)
            repo.audit(
                session,
                at=self.clock.now(),
                invoice_key=op.task_key,
                action=op.kind.value,
                outcome="applied",
                reason=op.reason,
                detail=detail,
            )
        self.stats.applied += 1
        self.stats.by_kind[op.kind.value] = self.stats.by_kind.get(op.kind.value, 0) + 1
        bound.info("operation applied", task_id=task_id)

    def _execute(self, op: ClaimedOp, task_id: str | None) -> tuple[str | None, dict[str, object]]:
        if op.kind is OpKind.CREATE_TASK:
            return self._create_task(op, task_id)
        if task_id is None:
            raise PermanentError(f"no task recorded for {op.task_key}; its create has not run")
        # One sink method per operation kind: a new action adds its kind and method here.
        return task_id, _SINK_METHODS[op.kind](self, op, task_id)

    def _create_task(
        self, op: ClaimedOp, task_id: str | None
    ) -> tuple[str | None, dict[str, object]]:
        spec = TaskSpec.model_validate(op.payload["spec"])
        if op.attempts > 1 or task_id is not None:
            # An earlier attempt may have created the task before the process died.
            found = task_id or self.sink.find_task(spec.key)
            if found is not None:
                self.stats.adopted += 1
                log.info("existing task adopted", task_key=op.task_key, task_id=found)
                return found, {"adopted": found}
        self._maybe_crash("before_create")
        created = self.sink.create_task(spec)
        return created, {"created": created}

    def _update_task(self, op: ClaimedOp, task_id: str) -> dict[str, object]:
        self.sink.update_task(task_id, changes_from(op.payload))
        return {"payload": op.payload}

    def _set_field(self, op: ClaimedOp, task_id: str) -> dict[str, object]:
        value = op.payload["value"]
        self.sink.set_field(task_id, str(op.payload["fact"]), None if value is None else str(value))
        return {"payload": op.payload}

    def _post_comment(self, op: ClaimedOp, task_id: str) -> dict[str, object]:
        marker = str(op.payload["marker"])
        if op.attempts > 1:
            # The comment may have been posted before the process died: never post it twice.
            found = self.sink.find_comment(task_id, marker)
            if found is not None:
                return {"adopted_comment": found}
        self._maybe_crash("before_comment")
        return {"comment": self.sink.post_comment(task_id, comment_text(op.payload))}

    def _add_tag(self, op: ClaimedOp, task_id: str) -> dict[str, object]:
        # The task tool keeps a set of tags: a retry after a lost answer adds nothing.
        self.sink.add_tag(task_id, str(op.payload["tag"]))
        return {"payload": op.payload}

    def _set_rule_field(self, op: ClaimedOp, task_id: str) -> dict[str, object]:
        value = op.payload["value"]
        if op.payload.get("date") and isinstance(value, str):
            value = date.fromisoformat(value)
        self.sink.set_rule_field(task_id, str(op.payload["field"]), value)
        return {"payload": op.payload}

    def _create_subtask(self, op: ClaimedOp, task_id: str) -> dict[str, object]:
        subtask = subtask_from(op.payload)
        if op.attempts > 1:
            # The subtask may exist from an attempt that died before its commit.
            found = self.sink.find_subtask(task_id, subtask.marker)
            if found is not None:
                return {"adopted_subtask": found}
        self._maybe_crash("before_subtask")
        return {"subtask": self.sink.create_subtask(task_id, subtask)}


# How each operation on an existing task reaches the sink (creating the task is the one kind
# that runs without a task id; ``_execute`` handles it first).
_SINK_METHODS: dict[OpKind, Callable[[OutboxWorker, ClaimedOp, str], dict[str, object]]] = {
    OpKind.UPDATE_TASK: OutboxWorker._update_task,
    OpKind.SET_FIELD: OutboxWorker._set_field,
    OpKind.POST_COMMENT: OutboxWorker._post_comment,
    OpKind.ADD_TAG: OutboxWorker._add_tag,
    OpKind.SET_RULE_FIELD: OutboxWorker._set_rule_field,
    OpKind.CREATE_SUBTASK: OutboxWorker._create_subtask,
}
