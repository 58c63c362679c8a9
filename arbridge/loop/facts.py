"""Read what the rules judge from the store: one ``FactSet`` per invoice, and the firing history.

The rule engine is pure; this is its only door to the database. An event concerns one invoice,
so only its customer's invoices are read (grouping and customer facts need them), while a tick
reads the open book once, with one query per table. Customer profiles move with settled payment
history, not by the minute, so they are computed once a day.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from arbridge.automation.build import CollectionState, CustomerStats, InsightValues, build_facts
from arbridge.automation.facts import FactSet
from arbridge.automation.history import MemoryHistory, Record
from arbridge.insight.checks import check_invoice
from arbridge.insight.segments import CustomerProfile, profile_customers
from arbridge.loop.payment_history import load_records
from arbridge.loop.predictions import forecast_deviation, get_predictions
from arbridge.model.calendar import BusinessCalendar
from arbridge.model.invoice import Invoice, InvoiceStatus
from arbridge.model.task import TASK_STATUSES
from arbridge.store import repo
from arbridge.store.tables import CollectionRow, FiringRow, InvoiceRow

# The rule id under which "this invoice became overdue" is stored (no rule id has a colon).
OVERDUE_MARKER = "event:invoice.overdue"


class FactLoader:
    def __init__(self, calendar: BusinessCalendar, zone: ZoneInfo) -> None:
        self.calendar = calendar
        self.zone = zone
        self._profiles_day: date | None = None
        self._profiles_cache: dict[str, CustomerProfile] = {}

    def facts(
        self, session: Session, today: date, keys: list[str] | None, *, closed: bool = False
    ) -> dict[str, FactSet]:
        """Facts of ``keys`` (None: every open invoice; with ``closed`` every invoice)."""
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
            by_number[number_key(invoice)].append(invoice)
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
            prediction = predictions.get(invoice.key)
            # Drafts are judged today; a sent invoice as of its issue date (see the reconciler).
            judged = today if invoice.status is InvoiceStatus.DRAFT else invoice.issue_date
            findings = check_invoice(invoice, today=judged, others=by_number[number_key(invoice)])
            facts[invoice.key] = build_facts(
                invoice,
                customers.get(invoice.customer_key),
                today=today,
                calendar=self.calendar,
                collection=collection_state(collections.get(invoice.key)),
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
        if self._profiles_day != today:
            self._profiles_cache = profile_customers(load_records(session))
            self._profiles_day = today
        return self._profiles_cache

    @staticmethod
    def history(session: Session, facts: dict[str, FactSet] | None = None) -> MemoryHistory:
        """The recorded firings (of ``facts``' invoices and their customers' groups, if given)."""
        statement = select(FiringRow).where(FiringRow.rule_id != OVERDUE_MARKER)
        if facts is not None:
            subjects = set(facts) | {f"customer:{f.customer_key}" for f in facts.values()}
            statement = statement.where(col(FiringRow.subject_key).in_(subjects))
        return MemoryHistory(
            Record(r.rule_id, r.subject_key, r.rule_version, r.occurrence_key, r.fired_at)
            for r in session.exec(statement)
        )

    @staticmethod
    def marked_overdue(session: Session, keys: list[str] | None) -> set[str]:
        """Invoices (of ``keys``, or all) that already had ``invoice.overdue``."""
        statement = select(FiringRow.subject_key).where(FiringRow.rule_id == OVERDUE_MARKER)
        if keys is not None:
            statement = statement.where(col(FiringRow.subject_key).in_(keys))
        return set(session.exec(statement))


def number_key(invoice: Invoice) -> tuple[str, str, str]:
    return (invoice.source.value, invoice.source_account, invoice.number.strip().casefold())


def collection_state(row: CollectionRow | None) -> CollectionState:
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
