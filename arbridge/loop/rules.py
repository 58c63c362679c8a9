"""Runs the collection rules against stored invoices and records what they do, exactly once.

Each firing is written (its occurrence key is unique) in the same transaction as the outbox
operations and task changes it causes, so a crash, a restart or a re-delivered event never
posts a reminder twice; if the firing row exists the firing is skipped.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from arbridge.automation.build import CollectionState, CustomerStats, InsightValues, build_facts
from arbridge.automation.engine import Evaluation, Firing, evaluate
from arbridge.automation.facts import FactSet
from arbridge.automation.history import MemoryHistory, Record
from arbridge.automation.intents import (
    AddTag,
    Assign,
    CreateSubtask,
    Intent,
    PauseReminders,
    PostComment,
    SetField,
    SetPriority,
    SetStatus,
    Unassign,
)
from arbridge.automation.loader import LoadResult, load_rules, pack_paths
from arbridge.automation.policy import Event, ScheduleTick
from arbridge.automation.reload import PackFiles, start_watcher
from arbridge.core.plan import OpKind
from arbridge.errors import TemplateProblem
from arbridge.insight.checks import check_invoice
from arbridge.insight.segments import CustomerProfile, profile_customers
from arbridge.loop.payment_history import load_records
from arbridge.loop.predictions import forecast_deviation, get_predictions
from arbridge.loop.reconcile import Reconciler
from arbridge.model.calendar import BusinessCalendar
from arbridge.model.invoice import Invoice, InvoiceStatus
from arbridge.model.task import TASK_STATUSES
from arbridge.settings import Settings
from arbridge.store import outbox, repo
from arbridge.store.db import transaction
from arbridge.store.tables import CollectionRow, FiringRow, InvoiceRow

log = structlog.get_logger(__name__)

PRIORITY = {"urgent": 1, "high": 2, "normal": 3, "low": 4}


@dataclass
class RunStats:
    fired: int = 0
    skipped_already_fired: int = 0
    reminders: int = 0
    escalations: int = 0
    became_overdue: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)


OVERDUE = "invoice.overdue"
# The rule id under which "this invoice became overdue" is stored (no rule id has a colon).
OVERDUE_MARKER = "event:invoice.overdue"

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


def marker_for(key: str) -> str:
    """The short reference a comment carries so a retry can find it on the task."""
    return "arbridge ref " + hashlib.sha256(key.encode()).hexdigest()[:12]


def subtask_marker(key: str) -> str:
    """What a subtask carries in the key field so a retry can find it under its task."""
    return "arbridge subtask " + hashlib.sha256(key.encode()).hexdigest()[:16]


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
        self._profiles_day: date | None = None
        self._profiles_cache: dict[str, CustomerProfile] = {}
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
            facts = self._facts(session, today, keys)
            history = self._history(session, None if keys is None else facts)
            marked = self._marked_overdue(session, keys)
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
            facts = self._facts(session, today, keys)
            history = self._history(session, None if keys is None else facts)
            marked = self._marked_overdue(session, keys)
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
            self._apply(firing, now)
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
                self._apply(firing, now)
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

    @staticmethod
    def _marked_overdue(session: Session, keys: list[str] | None) -> set[str]:
        statement = select(FiringRow.subject_key).where(FiringRow.rule_id == OVERDUE_MARKER)
        if keys is not None:
            statement = statement.where(col(FiringRow.subject_key).in_(keys))
        return set(session.exec(statement))

    def facts_at(self, now: datetime, *, closed: bool = False) -> dict[str, FactSet]:
        """Facts of every open invoice (every invoice with ``closed``) as of ``now``."""
        with transaction(self.engine) as session:
            return self._facts(session, now.astimezone(self.zone).date(), None, closed=closed)

    def history(self) -> MemoryHistory:
        with transaction(self.engine) as session:
            return self._history(session)

    def _facts(
        self, session: Session, today: date, keys: list[str] | None, *, closed: bool = False
    ) -> dict[str, FactSet]:
        # An event concerns one invoice: read only its customer's invoices, not the whole book.
        statement = select(InvoiceRow)
        if keys is not None:
            owners = select(InvoiceRow.customer_key).where(col(InvoiceRow.key).in_(keys))
            statement = statement.where(col(InvoiceRow.customer_key).in_(owners))
        invoices = [Invoice.model_validate(r.data) for r in session.exec(statement)]
        by_customer: dict[str, list[Invoice]] = defaultdict(list)
        # Duplicate-number checks compare only invoices sharing a number: linear, not n².
        by_number: dict[tuple[str, str, str], list[Invoice]] = defaultdict(list)
        for invoice in invoices:
            by_customer[invoice.customer_key].append(invoice)
            by_number[_number_key(invoice)].append(invoice)
        invoice_keys = [invoice.key for invoice in invoices]
        customers = repo.get_customers(session, set(by_customer))
        collections = repo.get_collections(session, invoice_keys)
        predictions = get_predictions(session, invoice_keys)
        profiles = self._profiles(session, today)
        behind = forecast_deviation(session, today)
        wanted = set(keys) if keys is not None else None
        facts: dict[str, FactSet] = {}
        for invoice in invoices:
            if wanted is not None and invoice.key not in wanted:
                continue
            if wanted is None and not closed and not invoice.is_receivable:
                continue
            profile = profiles.get(invoice.customer_id)
            row = collections.get(invoice.key)
            prediction = predictions.get(invoice.key)
            # Drafts are judged today; a sent invoice as of its issue date (see the reconciler).
            judged = today if invoice.status is InvoiceStatus.DRAFT else invoice.issue_date
            findings = check_invoice(invoice, today=judged, others=by_number[_number_key(invoice)])
            facts[invoice.key] = build_facts(
                invoice,
                customers.get(invoice.customer_key),
                today=today,
                calendar=self.calendar,
                collection=_collection_state(row),
                customer_invoices=by_customer[invoice.customer_key],
                checks=[finding.code for finding in findings],
                stats=None
                if profile is None
                else CustomerStats(
                    segment=profile.segment.value,
                    average_days_late=profile.mean_days_late,
                    preferred_weekday=profile.preferred_weekday,
                ),
                insight=InsightValues(forecast_deviation_pct=behind.get(invoice.currency))
                if prediction is None
                else InsightValues(
                    risk_score=prediction.risk_score,
                    p_late=prediction.p_late,
                    p_late_30=prediction.p_late_30,
                    predicted_pay_date=prediction.predicted_pay_date,
                    forecast_deviation_pct=behind.get(invoice.currency),
                ),
            )
        return facts

    def _profiles(self, session: Session, today: date) -> dict[str, CustomerProfile]:
        # Segments move with settled history, not by the minute: once a day is enough.
        if self._profiles_day != today:
            self._profiles_cache = profile_customers(load_records(session))
            self._profiles_day = today
        return self._profiles_cache

    def _history(self, session: Session, facts: dict[str, FactSet] | None = None) -> MemoryHistory:
        statement = select(FiringRow).where(FiringRow.rule_id != OVERDUE_MARKER)
        if facts is not None:
            subjects = set(facts) | {f"customer:{f.customer_key}" for f in facts.values()}
            statement = statement.where(col(FiringRow.subject_key).in_(subjects))
        return MemoryHistory(
            Record(r.rule_id, r.subject_key, r.rule_version, r.occurrence_key, r.fired_at)
            for r in session.exec(statement)
        )

    def _apply(self, firing: Firing, now: datetime) -> None:
        with transaction(self.engine, rollback=self.dry_run) as session:
            if self._recorded(session, firing.invoice_key, firing.occurrence_key):
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
            intents = [intent.model_dump(mode="json") for intent in rendered]
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
                and not self._recorded(session, firing.group_key, firing.group_occurrence_key)
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
            row = session.get(CollectionRow, firing.invoice_key) or CollectionRow(
                invoice_key=firing.invoice_key, updated_at=now
            )
            self._intents(session, firing, rendered, row, now)
            row.updated_at = now
            session.add(row)
            session.flush()
            invoice = repo.get_invoice(session, firing.invoice_key)
            if invoice is not None:
                self.reconciler.replan(session, invoice, reason=f"rule {firing.rule_id}")
        self.stats.fired += 1
        self.stats.by_rule[firing.rule_id] = self.stats.by_rule.get(firing.rule_id, 0) + 1
        log.info(
            "rule fired",
            rule=firing.rule_id,
            source=firing.invoice_key.partition(":")[0],
            invoice=firing.invoice_key.rpartition(":")[2],
            occurrence=firing.occurrence_key,
        )

    @staticmethod
    def _recorded(session: Session, subject: str, occurrence: str) -> bool:
        with session.no_autoflush:
            found = session.exec(
                select(FiringRow.id).where(
                    FiringRow.subject_key == subject, FiringRow.occurrence_key == occurrence
                )
            ).first()
        return found is not None

    def _intents(
        self,
        session: Session,
        firing: Firing,
        intents: tuple[Intent, ...],
        row: CollectionRow,
        now: datetime,
    ) -> None:
        for intent in intents:
            if isinstance(intent, PostComment):
                text = intent.text
                if intent.mentions:
                    text += "\n\n" + " ".join(f"@{user}" for user in intent.mentions)
                outbox.enqueue(
                    session,
                    task_key=firing.invoice_key,
                    kind=OpKind.POST_COMMENT,
                    payload={"text": text, "marker": marker_for(intent.key)},
                    idempotency_key=f"comment|{intent.key}",
                    now=now,
                    reason=f"rule {firing.rule_id}",
                )
                if intent.reminder:
                    row.reminders_sent += 1
                    row.last_reminder_at = now
                    row.customer_replied_since_last_reminder = False
                    self.stats.reminders += 1
            elif isinstance(intent, SetStatus):
                row.status = intent.status
            elif isinstance(intent, SetPriority):
                row.priority = PRIORITY[intent.priority]
                if row.priority == 1:
                    self.stats.escalations += 1
            elif isinstance(intent, Assign):
                row.assignees = sorted(set(row.assignees) | set(intent.users))
            elif isinstance(intent, Unassign):
                row.assignees = sorted(set(row.assignees) - set(intent.users))
            elif isinstance(intent, AddTag):
                row.tags = sorted(set(row.tags) | {intent.tag})
                self._enqueue(
                    session, firing, OpKind.ADD_TAG, {"tag": intent.tag}, f"tag|{intent.tag}", now
                )
            elif isinstance(intent, SetField):
                value = intent.value
                payload: dict[str, Any] = {
                    "field": intent.field,
                    "value": value.isoformat() if isinstance(value, date) else value,
                }
                if isinstance(value, date):
                    payload["date"] = True
                self._enqueue(
                    session, firing, OpKind.SET_RULE_FIELD, payload, f"field|{intent.field}", now
                )
            elif isinstance(intent, CreateSubtask):
                payload = {
                    "name": intent.name,
                    "marker": subtask_marker(intent.key),
                    "assignees": list(intent.assignees),
                    "due_date": None if intent.due_date is None else intent.due_date.isoformat(),
                }
                self._enqueue(session, firing, OpKind.CREATE_SUBTASK, payload, intent.key, now)
            elif isinstance(intent, PauseReminders):
                row.reminders_paused_until = intent.until
            else:
                # Mention is rendered into the firing's comment; Stop is the engine's own.
                continue

    def _enqueue(
        self,
        session: Session,
        firing: Firing,
        kind: OpKind,
        payload: dict[str, Any],
        what: str,
        now: datetime,
    ) -> None:
        # One operation per firing and action: the firing's row is in the same transaction, so
        # a firing applied again after a crash finds its operations already queued.
        outbox.enqueue(
            session,
            task_key=firing.invoice_key,
            kind=kind,
            payload=payload,
            idempotency_key=f"{kind.value}|{firing.occurrence_key}|{what}",
            now=now,
            reason=f"rule {firing.rule_id}",
        )


def _number_key(invoice: Invoice) -> tuple[str, str, str]:
    return (invoice.source.value, invoice.source_account, invoice.number.strip().casefold())


def _collection_state(row: CollectionRow | None) -> CollectionState:
    if row is None:
        return CollectionState()
    return CollectionState(
        reminders_sent=row.reminders_sent,
        last_reminder_at=row.last_reminder_at,
        customer_replied_since_last_reminder=row.customer_replied_since_last_reminder,
        promise_to_pay_date=row.promise_to_pay_date,
        reminders_paused_until=row.reminders_paused_until,
        disputed=row.disputed_by_collector,
        # The rules' status, else a status a collector chose that arbridge maps.
        task_status=row.status
        or (row.collector_status if row.collector_status in TASK_STATUSES else None),
        tags=tuple(row.tags),
        assignees=tuple(row.assignees),
    )
