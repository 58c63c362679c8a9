"""Report data read from the store, for ``arbridge report ...``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import select

from arbridge.clock import Clock, SystemClock
from arbridge.insight.forecast import Collection, PayDateEstimate
from arbridge.insight.reports import ARItem
from arbridge.loop.predictions import estimate_of
from arbridge.model.invoice import Dispute, Invoice
from arbridge.settings import Settings
from arbridge.store.db import transaction
from arbridge.store.tables import InvoiceRow, PredictionRow, TaskLinkRow

ESCALATED_STATUSES = frozenset({"escalated"})


class StoreReportData:
    """Invoices with the task state ClickUp last accepted, and the stored predictions."""

    def __init__(self, settings: Settings, engine: Engine, clock: Clock | None = None) -> None:
        self.settings = settings
        self.engine = engine
        self.clock = clock or SystemClock()

    def today(self) -> date:
        return self.clock.now().astimezone(ZoneInfo(self.settings.company.timezone)).date()

    def items(self, today: date) -> Sequence[ARItem]:
        with transaction(self.engine) as session:
            links = {row.invoice_key: row for row in session.exec(select(TaskLinkRow))}
            items = []
            for row in session.exec(select(InvoiceRow)):
                applied = (links[row.key].applied or {}) if row.key in links else {}
                assignees = applied.get("assignees") or []
                status = applied.get("status")
                items.append(
                    ARItem(
                        invoice=Invoice.model_validate(row.data),
                        collector=assignees[0] if assignees else None,
                        task_status=status,
                        escalated=status in ESCALATED_STATUSES,
                    )
                )
        return items

    def estimates(self, today: date) -> Sequence[PayDateEstimate]:
        with transaction(self.engine) as session:
            return [estimate_of(row) for row in session.exec(select(PredictionRow))]

    def disputes(self) -> Sequence[Dispute]:
        # Disputes arrive with the Stripe connector; until then only collectors' statuses count.
        return []

    def payments(self) -> Sequence[Collection]:
        return []
