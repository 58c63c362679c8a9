"""Walk-forward backtest: would the model have beaten simple rules of thumb, had it run then?

Every invoice issued on or after the split date and since paid is predicted as of its issue
date, from invoices settled before that date only. The model is refitted once per calendar
month of the test period, as of the month's first day (or the split date, for the first
month), which is never later than the month's first test invoice; each invoice's customer
features are still computed as of its own issue date. ``disputed`` is never used: it is learned
after the fact. Invoices still unpaid at the end of the file have no known lateness and are
left out of the error figures (they do count in the cash forecast, as money not collected).

Cash forecast: at each first day of a month after the split date (with 30 days of the file
still to come), the invoices open then are forecast to bring in the sum of amount x P(paid in
the next 30 days); the contractual baseline expects every open invoice on its due date, so it
counts those falling due in the window (overdue ones were due before it). Both are compared with
what was actually collected, per currency since no exchange rates are assumed; the MAPE averages
the (month start, currency) errors weighted by their number of open invoices, so a currency
with a handful of invoices cannot swamp the figure.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from arbridge.insight.features import FloatArray, History
from arbridge.insight.history import PaymentRecord
from arbridge.insight.predictor import ModelConfig, Predictor

HORIZON_DAYS = 30
BASELINES = ("zero", "global_mean", "customer_mean", "customer_median")


@dataclass(frozen=True, slots=True)
class Scores:
    mae_days: float
    rmse_days: float
    auc_late: float | None

    def to_json(self) -> dict[str, float | None]:
        return {
            "mae_days": round(self.mae_days, 3),
            "rmse_days": round(self.rmse_days, 3),
            "auc_late": None if self.auc_late is None else round(self.auc_late, 4),
        }


@dataclass(frozen=True, slots=True)
class ForecastScores:
    cuts: int
    model_mape_30d: float | None
    contractual_mape_30d: float | None

    def to_json(self) -> dict[str, float | int | None]:
        return {
            "cuts": self.cuts,
            "model_mape_30d": _round(self.model_mape_30d),
            "contractual_mape_30d": _round(self.contractual_mape_30d),
        }


@dataclass(frozen=True, slots=True)
class BacktestResult:
    n_test: int
    model: Scores
    baselines: dict[str, Scores]
    forecast: ForecastScores

    def to_json(self) -> dict[str, Any]:
        return {
            "n_test": self.n_test,
            "model": self.model.to_json(),
            "baselines": {name: scores.to_json() for name, scores in self.baselines.items()},
            "forecast": self.forecast.to_json(),
        }

    @property
    def model_wins(self) -> bool:
        """Beats every baseline's MAE and the customer-mean AUC: the acceptance bar."""
        bar = self.baselines["customer_mean"].auc_late
        return all(self.model.mae_days < s.mae_days for s in self.baselines.values()) and (
            bar is None or (self.model.auc_late is not None and self.model.auc_late > bar)
        )


def run_backtest(
    records: Sequence[PaymentRecord],
    split: date,
    *,
    config: ModelConfig | None = None,
) -> BacktestResult:
    """The walk-forward backtest of ``records`` from ``split`` (see the module docstring)."""
    test = sorted(
        (r for r in records if r.issue_date >= split and r.paid_date is not None),
        key=lambda r: (r.issue_date, r.invoice_id),
    )
    if not test:
        raise ValueError(f"no invoice issued on or after {split.isoformat()} has been paid")
    history = History(records)
    last_day = max(max(r.paid_date or r.issue_date, r.issue_date) for r in records)
    cuts = _cuts(split, last_day)
    months = sorted({_month(r.issue_date) for r in test} | set(cuts))
    predictors: dict[date, Predictor] = {}
    for month in months:
        predictors[month] = Predictor(config).fit(records, max(month, split), history=history)

    actual = np.array([r.days_late or 0 for r in test], dtype=np.float64)
    p50 = np.zeros(len(test))
    p_late = np.zeros(len(test))
    for month, predictor in predictors.items():
        rows = [i for i, r in enumerate(test) if _month(r.issue_date) == month]
        if rows:
            arrays = predictor.predict_arrays([test[i] for i in rows], None)
            p50[rows] = arrays.p50_days_late
            p_late[rows] = arrays.p_late
    late = actual > 0
    baselines = {
        name: _scores(prediction, prediction, actual, late)
        for name, prediction in _baselines(records, test).items()
    }
    return BacktestResult(
        n_test=len(test),
        model=_scores(p50, p_late, actual, late),
        baselines=baselines,
        forecast=_forecast(records, cuts, predictors),
    )


def _scores(
    prediction: FloatArray, score: FloatArray, actual: FloatArray, late: np.ndarray[Any, Any]
) -> Scores:
    error = prediction - actual
    auc = float(roc_auc_score(late, score)) if 0 < late.sum() < late.size else None
    return Scores(
        mae_days=float(np.mean(np.abs(error))),
        rmse_days=float(np.sqrt(np.mean(error**2))),
        auc_late=auc,
    )


def _baselines(
    records: Sequence[PaymentRecord], test: Sequence[PaymentRecord]
) -> dict[str, FloatArray]:
    """Each rule of thumb as of each test invoice's issue date, from invoices settled before."""
    settled = sorted(
        ((r.paid_date, r.customer_id, r.days_late or 0) for r in records if r.paid_date),
        key=lambda item: item[0],
    )
    paid_days = [item[0] for item in settled]
    book_sum = np.concatenate(([0.0], np.cumsum([item[2] for item in settled])))
    by_customer: dict[str, list[tuple[date, int]]] = {}
    for paid, customer, late in settled:
        by_customer.setdefault(customer, []).append((paid, late))
    result = {name: np.zeros(len(test)) for name in BASELINES}
    for i, r in enumerate(test):
        known = bisect.bisect_left(paid_days, r.issue_date)
        book_mean = book_sum[known] / known if known else 0.0
        history = by_customer.get(r.customer_id, [])
        own = [late for paid, late in history[: bisect.bisect_left(history, (r.issue_date,))]]
        result["global_mean"][i] = book_mean
        # A customer without history falls back to the book's figure of the same kind.
        result["customer_mean"][i] = float(np.mean(own)) if own else book_mean
        if own:
            result["customer_median"][i] = float(np.median(own))
        elif known:
            result["customer_median"][i] = float(np.median([item[2] for item in settled[:known]]))
    return result


def _forecast(
    records: Sequence[PaymentRecord], cuts: list[date], predictors: dict[date, Predictor]
) -> ForecastScores:
    model_errors: list[float] = []
    contractual_errors: list[float] = []
    weights: list[int] = []
    for cut in cuts:
        end = cut + timedelta(days=HORIZON_DAYS)
        open_then = [
            r for r in records if r.issue_date < cut and (r.paid_date is None or r.paid_date >= cut)
        ]
        if not open_then:
            continue
        chance = predictors[cut].collection_probability(open_then, cut, HORIZON_DAYS)
        for currency in sorted({r.currency for r in open_then}):
            rows = [i for i, r in enumerate(open_then) if r.currency == currency]
            amount = np.array([float(open_then[i].amount) for i in rows])
            collected = sum(
                a
                for a, i in zip(amount, rows, strict=True)
                if (paid := open_then[i].paid_date) is not None and paid < end
            )
            if collected <= 0:
                continue
            contractual = sum(
                a for a, i in zip(amount, rows, strict=True) if cut <= open_then[i].due_date < end
            )
            model_errors.append(abs(float(amount @ chance[rows]) - collected) / collected)
            contractual_errors.append(abs(contractual - collected) / collected)
            weights.append(len(rows))
    if not weights:
        return ForecastScores(cuts=len(cuts), model_mape_30d=None, contractual_mape_30d=None)
    return ForecastScores(
        cuts=len(cuts),
        model_mape_30d=float(np.average(model_errors, weights=weights)),
        contractual_mape_30d=float(np.average(contractual_errors, weights=weights)),
    )


def _cuts(split: date, last_day: date) -> list[date]:
    """First days of months after ``split`` whose next 30 days lie inside the file."""
    cuts = []
    cut = _next_month(split)
    while cut + timedelta(days=HORIZON_DAYS - 1) <= last_day:
        cuts.append(cut)
        cut = _next_month(cut)
    return cuts


def _month(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def format_table(result: BacktestResult) -> str:
    """The human-readable report: one row per method, then the cash forecast."""
    lines = [
        f"walk-forward backtest on {result.n_test} paid invoices (days late = paid - due, >= 0)",
        "",
        f"{'method':<17} {'MAE days':>9} {'RMSE days':>10} {'AUC late':>9}",
    ]
    rows = [("model", result.model), *result.baselines.items()]
    for name, scores in rows:
        auc = "-" if scores.auc_late is None else f"{scores.auc_late:.3f}"
        lines.append(f"{name:<17} {scores.mae_days:>9.2f} {scores.rmse_days:>10.2f} {auc:>9}")
    f = result.forecast
    lines += [
        "",
        f"cash collected in the next 30 days, {f.cuts} month starts (MAPE):",
        f"  model        {_percent(f.model_mape_30d)}",
        f"  contractual  {_percent(f.contractual_mape_30d)}",
    ]
    return "\n".join(lines)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"
