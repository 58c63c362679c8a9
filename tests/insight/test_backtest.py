"""The walk-forward backtest: its report, its baselines, and the model beating them."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from arbridge.insight.backtest import BacktestResult, format_table, run_backtest
from arbridge.insight.generate import generate_history
from arbridge.insight.history import PaymentRecord

# The start of the generated history's second year.
SPLIT = date(2025, 1, 1)


@pytest.fixture(scope="module")
def small_book() -> list[PaymentRecord]:
    return generate_history(40, 900, 3)


@pytest.fixture(scope="module")
def small_result(small_book: list[PaymentRecord]) -> BacktestResult:
    return run_backtest(small_book, SPLIT)


def test_json_report_has_exactly_the_documented_keys(small_result: BacktestResult) -> None:
    report = small_result.to_json()
    assert set(report) == {"n_test", "model", "baselines", "forecast"}
    assert set(report["baselines"]) == {"zero", "global_mean", "customer_mean", "customer_median"}
    for scores in [report["model"], *report["baselines"].values()]:
        assert set(scores) == {"mae_days", "rmse_days", "auc_late"}
    assert set(report["forecast"]) == {"cuts", "model_mape_30d", "contractual_mape_30d"}
    assert report["n_test"] > 100
    assert report["forecast"]["cuts"] == 11
    assert report["baselines"]["zero"]["auc_late"] == 0.5


def test_the_table_names_every_method(small_result: BacktestResult) -> None:
    table = format_table(small_result)
    for name in ("model", "zero", "global_mean", "customer_mean", "customer_median", "MAPE"):
        assert name in table


def test_disputes_are_not_used(
    small_book: list[PaymentRecord], small_result: BacktestResult
) -> None:
    flipped = [replace(r, disputed=not r.disputed) for r in small_book]
    assert run_backtest(flipped, SPLIT) == small_result


def test_baselines_use_only_invoices_settled_before_each_issue_date() -> None:
    def invoice(number: int, customer: str, issued: date, late: int) -> PaymentRecord:
        due = issued + timedelta(days=30)
        return PaymentRecord(
            customer_id=customer,
            invoice_id=f"I{number}",
            issue_date=issued,
            due_date=due,
            amount=Decimal(100),
            currency="USD",
            paid_date=due + timedelta(days=late),
        )

    history = [
        invoice(1, "A", date(2024, 1, 1), 0),
        invoice(2, "A", date(2024, 2, 1), 10),
        invoice(3, "A", date(2024, 3, 1), 30),
        invoice(4, "B", date(2024, 3, 1), 2),
        # Tested: A's history is 0, 10, 30 (mean 13.33, median 10); C is new.
        invoice(5, "A", date(2025, 1, 10), 10),
        invoice(6, "C", date(2025, 1, 10), 4),
        # Paid after the tested invoices were issued: must not count for them.
        invoice(7, "A", date(2024, 12, 20), 90),
    ]
    result = run_backtest(history, SPLIT)
    assert result.n_test == 2
    book_mean = (0 + 10 + 30 + 2) / 4
    assert result.baselines["zero"].mae_days == pytest.approx((10 + 4) / 2)
    assert result.baselines["customer_mean"].mae_days == pytest.approx(
        (abs(40 / 3 - 10) + abs(book_mean - 4)) / 2
    )
    # C has no history: the book's median (6) stands in.
    assert result.baselines["customer_median"].mae_days == pytest.approx((0 + 2) / 2)
    assert result.baselines["global_mean"].mae_days == pytest.approx(
        (abs(book_mean - 10) + abs(book_mean - 4)) / 2
    )


def test_the_model_beats_every_baseline_on_the_generated_history(
    book: list[PaymentRecord],
) -> None:
    """The acceptance bar, on the history `arbridge sandbox history` writes by default."""
    result = run_backtest(book, SPLIT)
    assert result.n_test > 1000
    for name, baseline in result.baselines.items():
        assert result.model.mae_days < baseline.mae_days, name
    bar = result.baselines["customer_mean"].auc_late
    assert bar is not None
    assert result.model.auc_late is not None
    assert result.model.auc_late > bar
    assert result.model_wins
    forecast = result.forecast
    assert forecast.model_mape_30d is not None
    assert forecast.contractual_mape_30d is not None
    assert forecast.model_mape_30d < forecast.contractual_mape_30d
