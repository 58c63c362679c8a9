"""The predictor: priors for new customers, obvious orderings, overdue invoices, no look-ahead."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest

from arbridge.insight.backtest import forecast_at
from arbridge.insight.features import DueIndex
from arbridge.insight.history import PaymentRecord
from arbridge.insight.predictor import CLASSIFIERS, ModelConfig, Predictor

AS_OF = date(2025, 6, 1)
ATTRIBUTES = {"region": "north_america", "channel": "email"}


def habit(customer: str, days_late: int, count: int = 20) -> list[PaymentRecord]:
    """``count`` Net 30 invoices of 1,000 USD, one a fortnight, each paid ``days_late`` late."""
    records = []
    for i in range(count):
        issued = date(2024, 6, 3) + timedelta(days=14 * i)
        due = issued + timedelta(days=30)
        records.append(
            PaymentRecord(
                customer_id=customer,
                invoice_id=f"{customer}-{i}",
                issue_date=issued,
                due_date=due,
                amount=Decimal(1000),
                currency="USD",
                paid_date=due + timedelta(days=days_late),
                attributes=ATTRIBUTES,
            )
        )
    return records


def open_invoice(
    customer: str, *, issued: date = AS_OF, amount: int = 1000, number: str = ""
) -> PaymentRecord:
    return PaymentRecord(
        customer_id=customer,
        invoice_id=f"OPEN-{customer}{number}",
        issue_date=issued,
        due_date=issued + timedelta(days=30),
        amount=Decimal(amount),
        currency="USD",
        attributes=ATTRIBUTES,
    )


@pytest.fixture(scope="module")
def records(book: list[PaymentRecord]) -> list[PaymentRecord]:
    return [*book, *habit("LATE", 25), *habit("GOOD", 0), *habit("TURNING", 0)]


@pytest.fixture(scope="module")
def predictor(records: list[PaymentRecord]) -> Predictor:
    return Predictor().fit(records, AS_OF)


def test_a_chronic_late_payer_outranks_a_reliable_one(predictor: Predictor) -> None:
    late, good = predictor.predict([open_invoice("LATE"), open_invoice("GOOD")], AS_OF)
    assert late.p_late > 0.8 > 0.2 > good.p_late
    assert late.p50_days_late > 15 > good.p50_days_late
    assert late.risk_score > good.risk_score
    assert late.predicted_pay_date > good.predicted_pay_date
    assert "pays 25 days late on average over 20 invoices" in late.reasons
    assert "paid 20 of 20 invoices on time" in good.reasons


def test_new_customers_get_the_book_prior(predictor: Predictor, book: list[PaymentRecord]) -> None:
    one, other = predictor.predict([open_invoice("NEW-1"), open_invoice("NEW-2")], AS_OF)
    assert (one.p_late, one.p50_days_late, one.risk_score) == (
        other.p_late,
        other.p50_days_late,
        other.risk_score,
    )
    assert one.reasons[0].startswith("new customer")
    # Across many first invoices, the prior matches how often invoices are late in the book.
    recent = [r for r in book if date(2024, 6, 1) <= r.issue_date < AS_OF - timedelta(days=90)]
    strangers = [replace(r, customer_id=f"NEW-{r.invoice_id}") for r in recent]
    predicted = predictor.predict_arrays(strangers, None).p_late.mean()
    share_late = np.mean([(r.days_late or 0) > 0 for r in recent if r.paid_date is not None])
    assert abs(predicted - share_late) < 0.15


def test_an_unusually_large_invoice_says_so(predictor: Predictor) -> None:
    usual, large = predictor.predict(
        [open_invoice("GOOD"), open_invoice("GOOD", amount=4000, number="-big")], AS_OF
    )
    assert "amount 4x this customer's usual" in large.reasons
    assert large.risk_score >= usual.risk_score


def test_an_overdue_invoice_is_late_for_certain_and_paid_no_earlier_than_today(
    predictor: Predictor,
) -> None:
    invoice = open_invoice("LATE", issued=AS_OF - timedelta(days=75))
    (prediction,) = predictor.predict([invoice], AS_OF)
    assert prediction.p_late == 1.0
    assert prediction.p_late_30 == 1.0
    assert prediction.predicted_pay_date >= AS_OF
    assert prediction.p90_pay_date >= prediction.predicted_pay_date
    assert prediction.reasons[0] == "already 45 days overdue"


def test_payments_observed_after_fitting_move_predictions_without_a_refit(
    records: list[PaymentRecord],
) -> None:
    predictor = Predictor().fit(records, AS_OF)
    before = predictor.predict([open_invoice("TURNING")], AS_OF)[0]
    slipped = [
        replace(r, invoice_id=f"{r.invoice_id}-again", paid_date=r.due_date + timedelta(days=40))
        for r in habit("TURNING", 0, count=10)
    ]
    predictor.observe(slipped)
    after = predictor.predict([open_invoice("TURNING")], AS_OF)[0]
    assert after.p_late > before.p_late + 0.3
    assert after.expected_days_late > before.expected_days_late + 3
    assert after.p90_days_late > before.p90_days_late + 10


def test_nothing_paid_after_the_fit_date_changes_the_predictions(
    book: list[PaymentRecord],
) -> None:
    """The same answers from the full book and from the book as it stood on AS_OF.

    A dispute of an invoice still open then is not known then either.
    """
    as_it_stood = [
        r
        if r.paid_date is None or r.paid_date < AS_OF
        else replace(r, paid_date=None, disputed=not r.disputed)
        for r in book
        if r.issue_date < AS_OF
    ]
    open_then = [r for r in as_it_stood if r.paid_date is None]
    targets = [*open_then, *(open_invoice(c) for c in ("C0001", "C0002", "C0003", "NEW"))]
    full = Predictor().fit(book, AS_OF).predict_arrays(targets, AS_OF)
    past = Predictor().fit(as_it_stood, AS_OF).predict_arrays(targets, AS_OF)
    assert np.array_equal(full.p50_days_late, past.p50_days_late)
    assert np.array_equal(full.p_late, past.p_late)
    assert np.array_equal(full.risk_score, past.risk_score)


def test_every_prediction_is_consistent(predictor: Predictor, book: list[PaymentRecord]) -> None:
    targets = [replace(r, paid_date=None) for r in book if r.issue_date >= AS_OF - timedelta(90)]
    for p in predictor.predict(targets, AS_OF):
        assert 0.0 <= p.p_late_30 <= p.p_late <= 1.0
        assert 0 <= p.p50_days_late <= p.p90_days_late
        assert p.p90_pay_date >= p.predicted_pay_date >= AS_OF - timedelta(days=90)
        assert 0 <= p.risk_score <= 100
        assert 1 <= len(p.reasons) <= 3
        assert set(p.facts()) >= {"risk_score", "predicted_pay_date", "p_late"}


def test_long_overdue_invoices_the_book_never_collects_are_not_forecast_as_cash(
    predictor: Predictor,
) -> None:
    forgotten = open_invoice("LATE", issued=AS_OF - timedelta(days=300))
    fresh = open_invoice("GOOD", issued=AS_OF - timedelta(days=10))
    late, good = (forecast_at(predictor, [r], AS_OF) for r in (forgotten, fresh))
    assert sum(late.values()) < 0.2 * float(forgotten.amount)
    assert sum(good.values()) > 0.5 * float(fresh.amount)
    lost = predictor.predict([forgotten], AS_OF)[0]
    assert lost.predicted_pay_date > AS_OF + timedelta(days=90)


def test_too_little_history_still_predicts_from_shrunk_statistics() -> None:
    tiny = habit("LATE", 25, count=6) + habit("GOOD", 0, count=6)
    predictor = Predictor().fit(tiny, AS_OF)
    assert not predictor.fitted
    late, good, new = predictor.predict(
        [open_invoice("LATE"), open_invoice("GOOD"), open_invoice("NEW")], AS_OF
    )
    assert late.p_late > new.p_late > good.p_late
    assert late.p50_days_late > good.p50_days_late
    assert Predictor().predict([open_invoice("NEW")], AS_OF)[0].p_late == pytest.approx(0.5)
    assert predictor.predict([], AS_OF) == []


def test_late_shares_by_due_date_count_unpaid_invoices_once_due() -> None:
    def due_on(number: int, due: date, paid: date | None) -> PaymentRecord:
        return PaymentRecord(
            customer_id="A",
            invoice_id=f"D{number}",
            issue_date=due - timedelta(days=30),
            due_date=due,
            amount=Decimal(100),
            currency="USD",
            paid_date=paid,
        )

    index = DueIndex(
        [
            due_on(1, date(2025, 5, 1), None),  # unpaid a month after its due date: late
            due_on(2, date(2025, 5, 10), date(2025, 5, 9)),  # on time
            due_on(3, date(2025, 5, 20), date(2025, 6, 20)),  # paid after AS_OF, but late by then
            due_on(4, date(2025, 6, 10), date(2025, 7, 1)),  # not due yet on AS_OF
            due_on(5, date(2024, 1, 10), None),  # outside the 90 days
        ]
    )
    stop = np.array([AS_OF.toordinal()] * 2)
    start = stop - 90
    count, late = index.customers(["A", "NEW"], start, stop)
    assert count.tolist() == [3.0, 0.0]
    assert late.tolist() == [2.0, 0.0]
    assert [x.tolist() for x in index.book(start[:1], stop[:1])] == [[3.0], [2.0]]


def test_the_late_classifier_is_chosen_on_the_latest_invoices(
    predictor: Predictor, book: list[PaymentRecord]
) -> None:
    assert predictor.classifier in CLASSIFIERS
    assert Predictor(ModelConfig(classifier="logistic")).fit(book, AS_OF).classifier == "logistic"
    # Too few invoices due in the last 90 days to judge: trees, as before.
    early = [r for r in book if r.due_date < AS_OF - timedelta(days=120)]
    assert Predictor().fit(early, AS_OF).classifier == "trees"
