"""Runs the collection rules: when to evaluate, against which facts, and with which rule set.

The runner only composes. ``arbridge.loop.facts`` reads what the rules judge from the store;
the pure engine (``arbridge.automation``) evaluates; ``arbridge.loop.firing`` records each
firing exactly once and hands its intents to the planner, so every action reaches the task
through desired state, plan and outbox like the mirror's own changes. What stays here is the
rule set's life (load, reload on SIGHUP or a file change, keep the running set when an edit is
invalid) and the ``invoice.overdue`` event, which the runner derives from the facts itself.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import Engine

from arbridge.automation.engine import Evaluation, evaluate
from arbridge.automation.facts import FactSet
from arbridge.automation.history import MemoryHistory
from arbridge.automation.loader import LoadResult, load_rules, pack_paths
from arbridge.automation.policy import Event, ScheduleTick
from arbridge.automation.reload import PackFiles, start_watcher
from arbridge.loop.facts import OVERDUE_MARKER, FactLoader
from arbridge.loop.firing import FiringRecorder, RunStats
from arbridge.loop.reconcile import Reconciler
from arbridge.model.calendar import BusinessCalendar
from arbridge.settings import Settings
from arbridge.store import repo
from arbridge.store.db import transaction
from arbridge.store.tables import FiringRow

__all__ = [
    "OVERDUE",
    "OVERDUE_MARKER",
    "RULES_STATUS",
    "RulesRunner",
    "RunStats",
    "configured_files",
    "load_configured_rules",
]

log = structlog.get_logger(__name__)

OVERDUE = "invoice.overdue"

# The sync cursor ``arbridge status`` shows: the outcome of the last rule (re)load.
RULES_STATUS = "rules.reload"


def load_configured_rules(settings: Settings) -> LoadResult:
    paths, problems = pack_paths(settings.rules.directory, settings.rules.packs)
    result = load_rules(paths, vars_by_pack=settings.rules.vars)
    result.problems[:0] = problems
    return result


def configured_files(settings: Settings) -> list[Path]:
    """The files of the enabled packs, found or not (a pack that appears later counts)."""
    base = Path(settings.rules.directory)
    return [base / f"{name}.yaml" for name in settings.rules.packs]


class RulesRunner:
    def __init__(
        self, settings: Settings, engine: Engine, reconciler: Reconciler, *, dry_run: bool = False
    ) -> None:
        self.settings = settings
        # Dry run: evaluate and log, record nothing (the firing's transaction is rolled back).
        self.dry_run = dry_run
        self.engine = engine
        self.reconciler = reconciler
        self.calendar = BusinessCalendar(
            settings.company.holiday_country, settings.company.holiday_subdivision
        )
        self.zone = ZoneInfo(settings.company.timezone)
        self.files = PackFiles.snapshot(configured_files(settings))
        self.loaded = load_configured_rules(settings)
        self.stats = RunStats()
        self.loader = FactLoader(self.calendar, self.zone)
        self.firings = FiringRecorder(engine, reconciler, self.stats, dry_run=dry_run)
        for problem in self.loaded.problems:
            # One bad rule disables only itself; the rest run.
            log.error("rule disabled", problem=str(problem))

    def reload(self) -> list[str]:
        """Validate the configured rules again; keep the running set if the new one has errors.
        Returns the problems (empty when the new set runs). SIGHUP calls this."""
        # Before loading: an edit made while loading shows up at the next check.
        self.files = PackFiles.snapshot(configured_files(self.settings))
        candidate = load_configured_rules(self.settings)
        if candidate.problems:
            for problem in candidate.problems:
                log.error("rules not reloaded", problem=str(problem))
            problems = [str(p) for p in candidate.problems]
            self._record_reload(problems, running=len(self.loaded.rules))
            return problems
        self.loaded = candidate
        log.info("rules reloaded", rules=len(candidate.rules))
        self._record_reload([], running=len(candidate.rules))
        return []

    def reload_if_changed(self) -> bool:
        """Reload when an enabled pack's file changed since the last look (cheap when none
        did: a stat per file). True when a new rule set now runs; an invalid edit keeps the
        old set, logs the problems and shows them in ``arbridge status``."""
        if not self.files.changed():
            return False
        return not self.reload()

    def watch(self, stop: threading.Event) -> threading.Thread:
        """Reload on file change from a thread (watchfiles) until ``stop`` is set."""
        return start_watcher(Path(self.settings.rules.directory), self.reload_if_changed, stop)

    def _record_reload(self, problems: list[str], *, running: int) -> None:
        now = self.reconciler.clock.now()
        status = {"ok": not problems, "rules_running": running, "problems": problems}
        with transaction(self.engine) as session:
            repo.set_cursor(session, RULES_STATUS, json.dumps(status), now)

    def tick(self, now: datetime) -> Evaluation:
        """The scheduled evaluation of every open invoice."""
        return self._run(ScheduleTick(), now, keys=None)

    def check_overdue(self, now: datetime, keys: list[str] | None = None) -> int:
        """Emit ``invoice.overdue`` for the invoices (these, or every open one) that are past
        due with money owed and never had it; returns how many. ``tick`` and ``event`` do this
        already; call it after a resync that may have moved due dates."""
        today = now.astimezone(self.zone).date()
        with transaction(self.engine) as session:
            facts = self.loader.facts(session, today, keys)
            history = self.loader.history(session, None if keys is None else facts)
            marked = self.loader.marked_overdue(session, keys)
        before = self.stats.became_overdue
        self._became_overdue(facts, history, marked, now)
        return self.stats.became_overdue - before

    def event(
        self,
        kind: str,
        invoice_key: str,
        now: datetime,
        context: Mapping[str, Any] | None = None,
    ) -> Evaluation:
        """``context``: the event's own facts (``event.actor``, ``event.previous_task_status``)."""
        return self._run(Event(kind, invoice_key, dict(context or {})), now, keys=[invoice_key])

    def _run(
        self, trigger: ScheduleTick | Event, now: datetime, keys: list[str] | None
    ) -> Evaluation:
        today = now.astimezone(self.zone).date()
        with transaction(self.engine) as session:
            facts = self.loader.facts(session, today, keys)
            history = self.loader.history(session, None if keys is None else facts)
            marked = self.loader.marked_overdue(session, keys)
        # The daemon applies firings and never reads the trace; building it for every open
        # invoice and rule is most of a tick's time and memory.
        evaluation = evaluate(
            self.loaded.rules,
            trigger,
            facts,
            history,
            now,
            self.calendar,
            self.zone,
            explain=False,
        )
        for firing in evaluation.firings:
            self.firings.apply(firing, now)
        if not (isinstance(trigger, Event) and trigger.type == OVERDUE):
            history.record(evaluation.firings)
            self._became_overdue(facts, history, marked, now)
        return evaluation

    def _became_overdue(
        self,
        facts: dict[str, FactSet],
        history: MemoryHistory,
        marked: set[str],
        now: datetime,
    ) -> None:
        """Emit ``invoice.overdue`` for each invoice now past due with money owed that never
        had it, then store a marker per invoice. The event's firings are applied before the
        markers are written: a crash in between emits the event again, and the recorded
        firings (their occurrence keys) keep its rules from firing twice; a marker is never
        written for an event whose firings were lost, so they never fire zero times."""
        became = sorted(
            key
            for key, values in facts.items()
            if values.values.get("invoice.overdue") is True and key not in marked
        )
        if not became:
            return
        listening = any(
            getattr(t, "event", None) == OVERDUE
            for rule in self.loaded.rules
            for t in rule.triggers
        )
        for key in became:
            log.info(
                "invoice became overdue",
                source=key.partition(":")[0],
                invoice=key.rpartition(":")[2],
            )
            if not listening:
                continue
            evaluation = evaluate(
                self.loaded.rules,
                Event(OVERDUE, key),
                {key: facts[key]},
                history,
                now,
                self.calendar,
                self.zone,
                explain=False,
            )
            for firing in evaluation.firings:
                self.firings.apply(firing, now)
            history.record(evaluation.firings)
        with transaction(self.engine, rollback=self.dry_run) as session:
            for key in became:
                session.add(
                    FiringRow(
                        rule_id=OVERDUE_MARKER,
                        rule_version="",
                        subject_key=key,
                        occurrence_key=OVERDUE,
                        intents=[],
                        fired_at=now,
                    )
                )
        self.stats.became_overdue += len(became)

    def facts_at(self, now: datetime, *, closed: bool = False) -> dict[str, FactSet]:
        """Facts of every open invoice (every invoice with ``closed``) as of ``now``."""
        with transaction(self.engine) as session:
            return self.loader.facts(session, now.astimezone(self.zone).date(), None, closed=closed)

    def history(self) -> MemoryHistory:
        with transaction(self.engine) as session:
            return self.loader.history(session)
