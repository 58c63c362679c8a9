"""Wires settings, store, task sink, reconciler and workers together for the CLI and the daemon."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import structlog
from sqlalchemy import Engine, func
from sqlmodel import col, select

from arbridge.clock import Clock, SystemClock
from arbridge.errors import AuthError, ConfigError, TransientError
from arbridge.loop.apply import OutboxWorker
from arbridge.loop.predictions import InsightEngine, refresh_all, rerank, snapshot_forecast
from arbridge.loop.reconcile import Reconciler, ReconcileResult
from arbridge.loop.rules import RulesRunner
from arbridge.model.invoice import Customer, Invoice
from arbridge.ports.connector import (
    CollectorConnector,
    Connector,
    RemoteTask,
    SinkConnector,
    TaskSink,
    discover,
)
from arbridge.ports.source import CredentialStore, InvoiceSource
from arbridge.runtime.intake import (
    CollectorWebhooks,
    Intake,
    NoCredentials,
    SourceChanges,
)
from arbridge.runtime.schedule import (
    JOIN_TIMEOUT_S,
    Consumer,
    Consumers,
    PeriodicJob,
    build_scheduler,
)
from arbridge.settings import Settings
from arbridge.store import inbox, outbox, repo
from arbridge.store.db import check_reachable, make_engine, transaction
from arbridge.store.migrate import upgrade
from arbridge.store.tables import InvoiceRow, OutboxRow, TaskLinkRow

log = structlog.get_logger(__name__)

LAST_RESYNC = "engine.last_resync"


def open_store(settings: Settings) -> Engine:
    """The migrated store; an unreachable or unusable database is a ConfigError."""
    engine = make_engine(settings.database_url)
    check_reachable(engine)
    upgrade(engine)
    return engine


def build_sink(settings: Settings, connectors: Mapping[str, Connector] | None = None) -> TaskSink:
    """The task sink the config names (``sink:``), connected and checked."""
    name = settings.sink
    if name is None:
        raise ConfigError(["sink: no task sink is installed; install a sink connector package"])
    connector = (discover() if connectors is None else connectors).get(name)
    if not isinstance(connector, SinkConnector):
        raise ConfigError([f"sink: {name!r} is not an installed task sink connector"])
    try:
        return connector.build_sink(settings, secrets=settings.secrets())
    except AuthError as exc:
        # At start-up a refused token is a configuration problem: nothing can work until fixed.
        raise ConfigError([f"{name}: the credentials were refused: {exc}"]) from None
    except TransientError as exc:
        raise ConfigError(
            [f"{name}: could not be reached at start-up ({exc}); try again"]
        ) from None


@dataclass
class SyncReport:
    queued: int
    applied: int
    pending: int
    failing: int
    seconds: float


class App:
    """Composes the engine: store, sink, reconciler, rules and intake. Components get what
    they use, never the App."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        sink: TaskSink,
        clock: Clock | None = None,
        *,
        dry_run: bool = False,
        connectors: Mapping[str, Connector] | None = None,
        credentials: CredentialStore | None = None,
        builders: Mapping[str, Callable[[], InvoiceSource]] | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.sink = sink
        self.clock = clock or SystemClock()
        self.dry_run = dry_run
        self.insight = InsightEngine(engine) if settings.insight.enabled else None
        self.reconciler = Reconciler(
            engine,
            self.clock,
            sink.owned_facts(),
            settings.company.timezone,
            dry_run=dry_run,
            insight=self.insight,
        )
        self._fitted_at: datetime | None = None
        self.rules = (
            RulesRunner(settings, engine, self.reconciler, dry_run=dry_run)
            if settings.rules.packs
            else None
        )
        self.changes = SourceChanges(engine, self.reconciler, self.rules, self.clock)
        found = discover() if connectors is None else connectors
        self.intake = Intake(
            settings,
            engine,
            self.clock,
            self.changes,
            connectors=found,
            builders=builders,
            credentials=credentials,
        )
        self._collectors = self._wire_collectors(found)
        # The daemon's HTTP server while ``run`` serves it (tests read its address).
        self.http_server: Any = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        clock: Clock | None = None,
        *,
        dry_run: bool = False,
        credentials: CredentialStore | None = None,
    ) -> App:
        # Validate everything before the first write: bad config must leave the store untouched.
        engine = make_engine(settings.database_url)
        check_reachable(engine)
        connectors = discover()
        sink = build_sink(settings, connectors)
        try:
            upgrade(engine)
            return cls(
                settings,
                engine,
                sink,
                clock,
                dry_run=dry_run,
                connectors=connectors,
                credentials=credentials,
            )
        except BaseException:
            sink.close()
            raise

    def _wire_collectors(self, connectors: Mapping[str, Connector]) -> CollectorWebhooks | None:
        """The sink's webhooks, when it reports collectors' work (status changes, comments,
        promise-to-pay dates)."""
        name = self.settings.sink
        connector = None if name is None else connectors.get(name)
        if name is None or not isinstance(connector, CollectorConnector):
            return None
        collectors = CollectorWebhooks(
            name,
            connector,
            self.settings,
            self.intake.credentials or NoCredentials(),
            self.engine,
            self.clock,
            reconciler=self.reconciler,
            rules=self.rules,
        )
        self.intake.add_provider(name, collectors)
        return collectors

    def worker(self, name: str = "worker-1") -> OutboxWorker:
        sync = self.settings.sync
        return OutboxWorker(
            self.engine,
            self.sink,
            self.clock,
            name=name,
            lease=timedelta(seconds=sync.lease_s),
            retry_base=sync.retry_base_s,
            retry_max=sync.retry_max_s,
        )

    def refresh_insight(self, *, force: bool = False) -> None:
        """Refit the payment model when it is due and store fresh predictions of open invoices."""
        if self.insight is None or self.dry_run:
            return
        now = self.clock.now()
        every = timedelta(days=self.settings.insight.refit_days)
        today = self.reconciler.today()
        if force or self._fitted_at is None or now - self._fitted_at >= every:
            self.insight.refit(today)
            self._fitted_at = now
            scored = refresh_all(self.insight, today, now)
            log.info("predictions refreshed", open_invoices=scored)
            snapshot_forecast(self.engine, today, now)
        rerank(self.engine, today)

    def ingest(
        self, invoice: Invoice, customer: Customer | None = None, *, reason: str = "source change"
    ) -> ReconcileResult:
        """Store a source change, queue its task changes and run the rules its event triggers."""
        return self.changes.ingest(invoice, customer, reason=reason)

    def run_rules(self) -> int:
        """The scheduled rule evaluation; returns how many rules fired."""
        if self.rules is None:
            return 0
        return len(self.rules.tick(self.clock.now()).firings)

    def verify(self) -> int:
        """Read every task back and mark what drifted in ClickUp for the next plan to repair.

        A status a collector chose that arbridge does not map is left alone; tasks with
        operations still queued are skipped (their state is about to change anyway). Returns
        the number of tasks found to differ or to be missing.
        """
        # Only tasks left alone for the whole read are judged: a worker creating or updating a
        # task while the list is read must not make it look deleted (that would create it twice).
        before = self._quiet_links()
        remote = {task.key: task for task in self.sink.iter_tasks() if task.key}
        drifted = 0
        with transaction(self.engine) as session:
            busy = set(session.exec(select(OutboxRow.task_key)).all())
            links = session.exec(
                select(TaskLinkRow).where(col(TaskLinkRow.task_id).is_not(None))
            ).all()
            for link in links:
                if link.invoice_key in busy or link.planned is None:
                    continue
                if before.get(link.invoice_key) != (link.task_id, link.applied):
                    continue
                seen = observed_state(link.planned, remote.get(link.invoice_key))
                if seen == link.planned:
                    continue
                drifted += 1
                log.warning("task drifted in the task tool", task_key=link.invoice_key)
                if seen is None:
                    # Deleted in ClickUp: forget it so the next plan creates it again.
                    link.task_id = None
                    link.applied = None
                link.planned = seen
                session.add(link)
        return drifted

    def _quiet_links(self) -> dict[str, tuple[str | None, Any]]:
        with transaction(self.engine) as session:
            busy = set(session.exec(select(OutboxRow.task_key)).all())
            return {
                link.invoice_key: (link.task_id, link.applied)
                for link in session.exec(
                    select(TaskLinkRow).where(col(TaskLinkRow.task_id).is_not(None))
                ).all()
                if link.invoice_key not in busy
            }

    def sync_once(self, *, verify: bool = False) -> SyncReport:
        """Re-derive every task and apply what differs; nothing is sent when all is in sync."""
        started = time.monotonic()
        if verify and not self.dry_run:
            self.verify()
        self.refresh_insight()
        queued = self.reconciler.resync_all(reason="sync --once")
        self.run_rules()
        applied = 0 if self.dry_run else self.drain(self.settings.sync.workers)
        self._mark_resynced()
        with transaction(self.engine) as session:
            stats = outbox.stats(session, self.clock.now())
        return SyncReport(
            queued=queued,
            applied=applied,
            pending=stats.depth,
            failing=stats.failing,
            seconds=time.monotonic() - started,
        )

    def drain(self, workers: int) -> int:
        """Apply every due operation with ``workers`` threads; returns how many were applied."""
        pool = [self.worker(f"worker-{i + 1}") for i in range(workers)]
        threads = [threading.Thread(target=w.drain, name=w.name) for w in pool]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return sum(w.stats.applied for w in pool)

    def resync(self) -> int:
        """The periodic full resync: every task re-derived, what differs queued."""
        queued = self.reconciler.resync_all(reason="periodic resync")
        self._mark_resynced()
        log.info("periodic resync done", queued=queued)
        return queued

    def _mark_resynced(self) -> None:
        if self.dry_run:
            return
        with transaction(self.engine) as session:
            now = self.clock.now()
            repo.set_cursor(session, LAST_RESYNC, now.isoformat(), now)

    def read_back(self) -> int:
        """The scheduled read-back: :meth:`verify`, logged."""
        drifted = self.verify()
        log.info("tasks read back", drifted=drifted)
        return drifted

    def periodic_jobs(self) -> list[PeriodicJob]:
        """Everything the daemon does on a timer, in the order of a first pass: read the tasks
        back, refresh predictions, resync, tick the rules; and each source's poll."""
        sync = self.settings.sync
        jobs = []
        if not self.dry_run:
            jobs.append(PeriodicJob("read-back", sync.verify_every_s, self.read_back))
        jobs += [
            PeriodicJob("insight", sync.interval_s, self.refresh_insight),
            PeriodicJob("resync", sync.interval_s, self.resync),
            PeriodicJob("rules", sync.interval_s, self.run_rules),
        ]
        if not self.dry_run:
            jobs += [
                PeriodicJob(
                    f"poll-{name}", self.intake.poll_interval(name), poller.poll_once, False
                )
                for name, poller in self.intake.pollers.items()
            ]
        return jobs

    def consumers(self) -> list[Consumer]:
        """The threads that wait for work: outbox workers and the webhook inbox worker."""
        if self.dry_run:
            return []
        workers = [self.worker(f"worker-{i + 1}") for i in range(self.settings.sync.workers)]
        return [
            *(Consumer(w.name, partial(w.run_forever, idle_wait=0.1)) for w in workers),
            Consumer("inbox", self.intake.inbox.run_forever),
        ]

    def run(self, stop: threading.Event, *, serve: bool = True) -> None:
        """The daemon until ``stop`` is set: the webhook server, the consumers and the jobs."""
        # The server first: a port already in use stops start-up before anything runs.
        if serve and not self.dry_run:
            self.http_server = self._start_server()
        consumers = Consumers(self.consumers())
        scheduler = build_scheduler(self.periodic_jobs())
        consumers.start(stop)
        scheduler.start()
        # Rule files edited on disk are validated and, when valid, take over.
        watcher = self.rules.watch(stop) if self.rules is not None else None
        log.info(
            "arbridge running",
            workers=self.settings.sync.workers,
            sources=sorted(self.intake.pollers),
            dry_run=self.dry_run,
        )
        while not stop.wait(1.0):
            pass
        self.intake.inbox.wake.set()
        scheduler.shutdown(wait=True)
        if self.http_server is not None:
            self.http_server.stop()
            self.http_server = None
        consumers.join()
        if watcher is not None:
            watcher.join(timeout=JOIN_TIMEOUT_S)
        log.info("arbridge stopped")

    def _start_server(self) -> Any:
        from arbridge.web.app import create_web_app
        from arbridge.web.server import HttpServer

        server = HttpServer(
            create_web_app(self.intake.web_context()),
            host=self.settings.server.host,
            port=self.settings.server.port,
        )
        try:
            server.start()
        except OSError as exc:
            raise ConfigError(
                [
                    f"server: cannot listen on {self.settings.server.host}:"
                    f"{self.settings.server.port} ({exc.strerror}); set server.host/server.port"
                ]
            ) from None
        log.info("http server listening", url=server.base_url)
        return server

    def close(self) -> None:
        if self._collectors is not None:
            self._collectors.close()
        self.intake.close()
        self.sink.close()
        self.engine.dispose()

    def status(self) -> dict[str, Any]:
        return store_status(self.engine, self.clock)


def observed_state(planned: dict[str, Any], task: RemoteTask | None) -> dict[str, Any] | None:
    """``planned`` as the task really is in ClickUp (None when the task is gone)."""
    if task is None:
        return None
    seen = dict(planned)
    if task.status is not None:
        seen["status"] = task.status
    seen["due_date"] = task.due_date
    fields = dict(planned.get("fields", {}))
    for fact in fields:
        fields[fact] = task.fields.get(fact)
    seen["fields"] = fields
    return seen


def store_status(engine: Engine, clock: Clock) -> dict[str, Any]:
    """What ``arbridge status`` shows; read from the store only, so it works without ClickUp."""
    from arbridge.logging import redactor
    from arbridge.store.tables import CursorRow

    now = clock.now()
    with transaction(engine) as session:
        stats = outbox.stats(session, now)
        failing = outbox.failing_ops(session)
        invoices = session.exec(select(func.count()).select_from(InvoiceRow)).one()
        tasks = session.exec(
            select(func.count())
            .select_from(TaskLinkRow)
            .where(col(TaskLinkRow.task_id).is_not(None))
        ).one()
        cursors = {
            row.name: {"value": row.value, "updated_at": row.updated_at.isoformat()}
            for row in session.exec(select(CursorRow)).all()
            if not row.name.startswith("source.")
        }
        sources = {
            row.name.split(".")[1]: json.loads(row.value)
            for row in session.exec(select(CursorRow)).all()
            if row.name.startswith("source.") and row.name.endswith(".state")
        }
        inbox_stats = inbox.stats(session)
        parked = inbox.failed_events(session)
    return {
        "invoices": invoices,
        "tasks": tasks,
        "outbox": {
            "depth": stats.depth,
            "due": stats.due,
            "failing": stats.failing,
            "oldest": stats.oldest.isoformat() if stats.oldest else None,
        },
        "failing_operations": [
            {
                "id": op.id,
                "invoice": op.task_key,
                "operation": op.kind,
                "attempts": op.attempts,
                "permanent": op.permanent_failure,
                "next_attempt_at": op.next_attempt_at.isoformat(),
                "last_error": redactor.scrub(op.last_error),
            }
            for op in failing
        ],
        "cursors": cursors,
        "sources": {
            name: {
                **state,
                "last_error": redactor.scrub(state.get("last_error")),
                "ok": not state.get("auth_refused") and not state.get("last_error"),
            }
            for name, state in sorted(sources.items())
        },
        "inbox": {
            "pending": inbox_stats.pending,
            "failed": inbox_stats.failed,
            "processed": inbox_stats.done,
            "oldest_pending": (
                inbox_stats.oldest_pending.isoformat() if inbox_stats.oldest_pending else None
            ),
            "failing_events": [
                {
                    "provider": row.provider,
                    "event": row.event_id,
                    "kind": row.kind,
                    "attempts": row.attempts,
                    "state": row.state,
                    "last_error": redactor.scrub(row.last_error),
                }
                for row in parked
            ],
        },
    }
