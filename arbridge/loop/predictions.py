"""Keeps a fitted payment predictor and the stored predictions of open invoices.

Predictions are computed when an invoice changes and when the model is refitted (at start and
every ``insight.refit_days``), then stored. The desired task reads the stored prediction, so the
risk fields cost requests only when a prediction really moves, not every day.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from arbridge.core.desired import InsightFacts
from arbridge.insight.forecast import Estimate, build_forecast, deviation
from arbridge.insight.history import PaymentRecord, record_from_invoice
from arbridge.insight.predictor import Prediction, Predictor
from arbridge.insight.queue import rank_queue
from arbridge.loop.payment_history import load_records, save_records
from arbridge.model.invoice import Invoice, InvoiceStatus
from arbridge.store import repo
from arbridge.store.db import transaction
from arbridge.store.tables import InvoiceRow, PredictionRow

log = structlog.get_logger(__name__)


def settled_record(invoice: Invoice) -> PaymentRecord | None:
    """The payment-history record of a paid invoice; None while money is still owed."""
    if invoice.status is not InvoiceStatus.PAID or invoice.paid_date is None:
        return None
    return record_from_invoice(invoice)


class InsightEngine:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.predictor = Predictor()

    @property
    def ready(self) -> bool:
        return self.predictor.fitted

    def refit(self, today: date) -> int:
        """Fit on imported history plus every invoice settled here; returns training rows."""
        with transaction(self.engine) as session:
            records = {r.invoice_id: r for r in load_records(session)}
            for row in session.exec(select(InvoiceRow).where(InvoiceRow.status == "paid")):
                record = settled_record(Invoice.model_validate(row.data))
                if record is not None:
                    records[record.invoice_id] = record
        self.predictor.fit(list(records.values()), today)
        log.info("payment model fitted", training_rows=self.predictor.n_training)
        return self.predictor.n_training

    def predict(self, invoices: Iterable[Invoice], today: date) -> dict[str, Prediction]:
        open_invoices = [i for i in invoices if i.is_receivable]
        if not self.ready or not open_invoices:
            return {}
        predictions = self.predictor.predict([record_from_invoice(i) for i in open_invoices], today)
        return {p.invoice_id: p for p in predictions}

    def record(self, session: Session, invoice: Invoice, today: date, now: datetime) -> None:
        """In the invoice's own transaction: learn from it if settled, refresh its prediction."""
        settled = settled_record(invoice)
        if settled is not None:
            save_records(session, [settled], origin=invoice.source.value, now=now)
            self.predictor.observe([settled])
        store_predictions(session, self.predict([invoice], today), now, drop=[invoice.key])


# A refit nudges almost every prediction a little; moves smaller than these keep the stored
# value, so a weekly refit does not rewrite every open task's fields.
PAY_DATE_TOLERANCE_DAYS = 3
RISK_TOLERANCE = 5


def _settled_value(old: PredictionRow | None, new: Prediction) -> tuple[int, date]:
    if old is None:
        return new.risk_score, new.predicted_pay_date
    risk = old.risk_score if abs(new.risk_score - old.risk_score) < RISK_TOLERANCE else None
    moved = abs((new.predicted_pay_date - old.predicted_pay_date).days)
    pay = old.predicted_pay_date if moved < PAY_DATE_TOLERANCE_DAYS else None
    return (
        new.risk_score if risk is None else risk,
        new.predicted_pay_date if pay is None else pay,
    )


def prediction_row(key: str, p: Prediction, now: datetime) -> PredictionRow:
    """A prediction as it is stored (before the tolerances of ``store_predictions``)."""
    return PredictionRow(
        invoice_key=key,
        risk_score=p.risk_score,
        p_late=p.p_late,
        p_late_30=p.p_late_30,
        predicted_pay_date=p.predicted_pay_date,
        p90_pay_date=p.p90_pay_date,
        reasons=list(p.reasons),
        computed_at=now,
    )


def store_predictions(
    session: Session, predictions: dict[str, Prediction], now: datetime, drop: Iterable[str] = ()
) -> None:
    for key in drop:
        if key not in predictions:
            row = session.get(PredictionRow, key)
            if row is not None:
                session.delete(row)
    for key, p in predictions.items():
        existing = session.get(PredictionRow, key)
        risk, pay = _settled_value(existing, p)
        row = existing or prediction_row(key, p, now)
        row.risk_score = risk
        row.p_late = p.p_late
        row.p_late_30 = p.p_late_30
        row.predicted_pay_date = pay
        row.p90_pay_date = p.p90_pay_date
        row.reasons = list(p.reasons)
        row.computed_at = now
        session.add(row)


def refresh_all(insight: InsightEngine, today: date, now: datetime, batch: int = 500) -> int:
    """Store fresh predictions for every open invoice; returns how many were scored."""
    scored = 0
    with transaction(insight.engine) as session:
        keys = repo.invoice_keys(session)
    for start in range(0, len(keys), batch):
        chunk = keys[start : start + batch]
        with transaction(insight.engine) as session:
            invoices = repo.lock_invoices(session, chunk)
            predictions = insight.predict(invoices, today)
            store_predictions(session, predictions, now, drop=[i.key for i in invoices])
            scored += len(predictions)
    return scored


def rerank(engine: Engine, today: date) -> int:
    """Place every open invoice in the follow-up queue; returns how many buckets changed.

    Only the bucket reaches the task (priority and "Queue rank"), so a daily rerank costs a
    request only for the invoices that cross a bucket boundary.
    """
    changed = 0
    with transaction(engine) as session:
        rows = {row.invoice_key: row for row in session.exec(select(PredictionRow))}
        invoices = repo.lock_invoices(session, list(rows))
        estimates = [estimate_of(row) for row in rows.values()]
        for entry in rank_queue(invoices, estimates, today):
            row = rows[entry.invoice_key]
            if row.queue_bucket != entry.bucket:
                row.queue_bucket = entry.bucket
                session.add(row)
                changed += 1
    return changed


def insight_facts(row: PredictionRow | None) -> InsightFacts | None:
    """What the task shows of a stored prediction."""
    if row is None:
        return None
    return InsightFacts(row.risk_score, row.predicted_pay_date, row.queue_bucket)


def get_predictions(session: Session, keys: list[str]) -> dict[str, PredictionRow]:
    rows = session.exec(select(PredictionRow).where(col(PredictionRow.invoice_key).in_(keys)))
    return {row.invoice_key: row for row in rows}


FORECAST_SNAPSHOT = "insight.forecast_snapshot"
FORECAST_WINDOW_DAYS = 30


def snapshot_forecast(engine: Engine, today: date, now: datetime) -> dict[str, Any]:
    """Store the next 30 days' expected collections per currency, to compare with what comes in."""
    with transaction(engine) as session:
        invoices = repo.lock_invoices(session, repo.invoice_keys(session))
        estimates = [estimate_of(row) for row in session.exec(select(PredictionRow))]
        forecast = build_forecast(
            [i for i in invoices if i.is_receivable],
            estimates,
            start=today,
            days=FORECAST_WINDOW_DAYS,
        )
        expected = {
            code: {day.isoformat(): str(amount) for day, amount in by_day.items()}
            for code, by_day in forecast.expected_by_date().items()
        }
        snapshot = {"start": today.isoformat(), "expected": expected}
        repo.set_cursor(session, FORECAST_SNAPSHOT, json.dumps(snapshot), now)
    return snapshot


def forecast_deviation(session: Session, today: date) -> dict[str, float]:
    """Per currency, collections since the last snapshot against what it expected by today.

    Only fully paid invoices count as collected (partial payments carry no date); a currency
    with nothing expected yet has no deviation.
    """
    raw = repo.get_cursor(session, FORECAST_SNAPSHOT)
    if raw is None:
        return {}
    snapshot = json.loads(raw)
    start = date.fromisoformat(snapshot["start"])
    expected = {
        code: {date.fromisoformat(day): Decimal(amount) for day, amount in by_day.items()}
        for code, by_day in snapshot["expected"].items()
    }
    paid = session.exec(select(InvoiceRow).where(InvoiceRow.status == "paid")).all()
    payments = []
    for row in paid:
        invoice = Invoice.model_validate(row.data)
        if invoice.paid_date is not None and start <= invoice.paid_date <= today:
            payments.append((invoice.paid_date, invoice.currency, invoice.amount_paid))
    found = deviation(expected, payments, start, today)
    return {d.currency: float(d.percent) for d in found if d.percent is not None}


def estimate_of(row: PredictionRow) -> Estimate:
    """A stored prediction as the forecast and the queue read it."""
    return Estimate(
        invoice_key=row.invoice_key,
        predicted_pay_date=row.predicted_pay_date,
        p90_pay_date=row.p90_pay_date,
        p_late=row.p_late,
        p_late_30=row.p_late_30,
    )
