"""The walk-forward backtest: its report, its baselines, its forecast and the model beating them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from arbridge.insight.backtest import (
    APPLIES,
    BASELINES,
    MIN_CUTS,
    BacktestResult,
    forecast_at,
    format_table,
    run_backtest,
)
from arbridge.insight.forecast import EXPECTED, build_forecast
from arbridge.insight.generate import generate_history
from arbridge.insight.history import PaymentRecord, record_from_invoice
from arbridge.insight.predictor import Predictor
from arbridge.loop.predictions import estimate_of, prediction_row
from tests.insight_reports.factory import make_invoice

# The start of the generated history's second year.
SPLIT = date(2025, 1, 1)


@pytest.fixture(scope="module")
def small_book() -> list[PaymentRecord]:
    return generate_history(40, 900, 3)


@pytest.fixture(scope="module")
def small_result(small_book: list[PaymentRecord]) -> BacktestResult:
    return run_backtest(small_book, SPLIT, bootstrap=50)


def test_json_report_has_every_metric_with_an_interval(small_result: BacktestResult) -> None:
    report = small_result.to_json()
    assert set(report) == {"n_test", "n_classified", "cuts", "model", "baselines", "reliability"}
    assert set(report["baselines"]) == set(BASELINES)
    assert report["cuts"] >= MIN_CUTS
    assert report["n_classified"] >= report["n_test"] > 100
    metrics = {"mae_days", "auc_late", "mape_30d", "brier", "ece"}
    for name, scores in [("model", report["model"]), *report["baselines"].items()]:
        expected = metrics if name == "model" else set(APPLIES[name])
        assert set(scores) == expected | {"ci"}, name
        for metric in expected:
            low, high = scores["ci"][metric]
            # A percentile interval need not hold a biased figure such as ECE; it must exist.
            assert 0 <= low <= high, (name, metric)
    bins = report["reliability"]
    assert sum(b["count"] for b in bins) == report["n_classified"]
    assert all(b["low"] <= b["predicted"] <= b["high"] for b in bins)


def test_the_table_names_every_method(small_result: BacktestResult) -> None:
    table = format_table(small_result)
    for name in ("model", *BASELINES, "MAPE", "ECE", "reliability"):
        assert name in table


def test_a_dispute_counts_only_once_its_invoice_is_settled(
    small_book: list[PaymentRecord], small_result: BacktestResult
) -> None:
    # An invoice never paid never becomes history: its dispute flag cannot matter.
    unpaid = [replace(r, disputed=not r.disputed) if r.paid_date is None else r for r in small_book]
    assert run_backtest(unpaid, SPLIT, bootstrap=50) == small_result
    # Settled invoices' disputes are part of the customer's record, and the model reads it.
    flipped = [replace(r, disputed=not r.disputed) for r in small_book]
    assert run_backtest(flipped, SPLIT, bootstrap=50).model != small_result.model


def _invoice(number: int, customer: str, issued: date, late: int | None) -> PaymentRecord:
    due = issued + timedelta(days=30)
    return PaymentRecord(
        customer_id=customer,
        invoice_id=f"I{number}",
        issue_date=issued,
        due_date=due,
        amount=Decimal(100),
        currency="USD",
        paid_date=None if late is None else due + timedelta(days=late),
    )


def test_baselines_use_only_invoices_settled_before_each_issue_date() -> None:
    history = [
        _invoice(1, "A", date(2024, 1, 1), 0),
        _invoice(2, "A", date(2024, 2, 1), 10),
        _invoice(3, "A", date(2024, 3, 1), 30),
        _invoice(4, "B", date(2024, 3, 1), 2),
        # Tested: A's history is 0, 10, 30 (mean 13.33, median 10); C is new.
        _invoice(5, "A", date(2025, 1, 10), 10),
        _invoice(6, "C", date(2025, 1, 10), 4),
        # Paid after the tested invoices were issued: must not count for them.
        _invoice(7, "A", date(2024, 12, 20), 90),
    ]
    result = run_backtest(history, SPLIT, bootstrap=0)
    assert result.n_test == 2
    book_mean = (0 + 10 + 30 + 2) / 4

    def mae(name: str) -> float | None:
        return result.baselines[name]["mae_days"].value

    assert mae("contractual") == pytest.approx((10 + 4) / 2)
    assert mae("customer_mean") == pytest.approx((abs(40 / 3 - 10) + abs(book_mean - 4)) / 2)
    # C has no history: the book's median (6) stands in.
    assert mae("customer_median") == pytest.approx((0 + 2) / 2)


def test_contractual_cash_counts_overdue_invoices_as_due_now() -> None:
    # Open on 1 Feb 2025: I1 due in January (overdue), I2 due in February, I3 due in April.
    history = [
        _invoice(1, "A", date(2024, 12, 1), 20),  # paid 20 January, before the cut
        _invoice(2, "A", date(2024, 12, 10), 40),  # due 9 Jan, overdue on 1 Feb, paid 18 Feb
        _invoice(3, "A", date(2025, 1, 10), 5),  # due 9 Feb, paid 14 Feb
        _invoice(4, "A", date(2025, 1, 25), None),  # due 24 Feb, never paid
        _invoice(5, "A", date(2025, 3, 1), 2),  # keeps the file open to 2 April
    ]
    result = run_backtest(history, date(2025, 2, 1), bootstrap=0)
    # On 1 March only I4 is open and nothing comes in: that month start has no error to score.
    assert result.cuts == 2
    # Contractual expects I2 (overdue: now), I3 and I4 in February: 300 against 200 collected.
    assert result.baselines["contractual"]["mape_30d"].value == pytest.approx(0.5)


def test_backtest_scores_the_forecast_users_see(book: list[PaymentRecord]) -> None:
    """The backtest's cash figure is the one ``report forecast`` shows from stored predictions."""
    cut = date(2025, 6, 1)
    predictor = Predictor().fit(book, cut)
    open_then = [
        r for r in book if r.issue_date < cut and (r.paid_date is None or r.paid_date >= cut)
    ]
    invoices = [
        make_invoice(
            r.invoice_id,
            customer=r.customer_id,
            currency=r.currency,
            total=str(r.amount),
            issue=r.issue_date,
            due=r.due_date,
        )
        for r in open_then
    ]
    records = [record_from_invoice(i) for i in invoices]
    now = datetime(2025, 6, 1, tzinfo=UTC)
    stored = [prediction_row(p.invoice_id, p, now) for p in predictor.predict(records, cut)]
    shown = build_forecast(invoices, [estimate_of(row) for row in stored], start=cut, days=30)
    scored = forecast_at(predictor, records, cut)
    assert len(scored) > 1
    assert set(scored) == set(shown.currencies)
    for code, cf in shown.currencies.items():
        assert float(sum(cf.series[EXPECTED], Decimal(0))) == pytest.approx(scored[code])
        # Money arrives before the predicted pay dates too.
        assert cf.series[EXPECTED][0] > 0


def test_the_model_beats_every_baseline_on_the_generated_history(
    book: list[PaymentRecord],
) -> None:
    """The acceptance bar, on the history `arbridge sandbox history` writes by default."""
    result = run_backtest(book, SPLIT, bootstrap=20)
    assert result.n_test > 1000
    assert result.losses() == []
    ece = result.model["ece"].value
    assert ece is not None
    assert ece <= 0.05
