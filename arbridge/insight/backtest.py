"""Walk-forward backtest: would the model have beaten simple rules of thumb, had it run then?

**Per invoice.** Every invoice issued on or after the split date is predicted as of its issue
date, from what was known before that date only. The model is refitted once per calendar month
of the test period, as of the month's first day (or the split date, for the first month), which
is never later than the month's first test invoice; each invoice's customer features are still
computed as of its own issue date. Days late (paid minus due, at least 0) is scored on the paid
invoices (MAE); "paid late" is scored on every tested invoice whose due date the file has passed
(one never paid is late), by AUC, Brier score and expected calibration error (ECE, ten
equal-width bins) with a reliability table.

**Cash in the next 30 days.** At each first day of a month from the split date on (with 30 days
of the file still to come; ``MIN_CUTS`` or more on two years of history split in the middle),
every invoice open then is forecast by the code ``arbridge report forecast`` runs:
``forecast_balances`` over the predictor's estimates. The forecast is compared with what was
actually collected, per currency since no exchange rates are assumed; the MAPE averages the
(month start, currency) errors weighted by their number of open invoices, so a currency with a
handful of invoices cannot swamp the figure.

**Baselines**, each seeing only what was known at the same moment:

- ``contractual``: every invoice paid on its due date, one already overdue at the as-of date;
- ``customer_mean`` / ``customer_median``: the customer's mean / median days late over its
  invoices paid so far (the book's figure for a customer without any);
- ``kaplan_meier``: the customer's Kaplan-Meier curve of days from issue to payment, open
  invoices censored (the book's curve below ``KM_MIN_EVENTS`` payments): its median for days
  late, P(wait > terms) for "paid late", and P(paid in the window | open now) for the cash;
- ``customer_late_share``: the share of the customer's paid invoices that were late (the book's
  share without any), for AUC and calibration only.

Every figure comes with a 95% bootstrap interval (``BOOTSTRAP`` resamples of the invoices, or of
the (month start, currency) cells for the MAPE). ``disputed`` is never used: it is learned after
the fact.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.metrics import roc_auc_score

from arbridge.insight.features import FloatArray, History
from arbridge.insight.forecast import (
    EXPECTED,
    Balance,
    estimates_from_predictions,
    forecast_balances,
)
from arbridge.insight.history import PaymentRecord
from arbridge.insight.predictor import ModelConfig, Predictor
from arbridge.insight.survival import Survival

HORIZON_DAYS = 30
MIN_CUTS = 10
BOOTSTRAP = 200
BINS = 10
KM_MIN_EVENTS = 5
METRICS = ("mae_days", "auc_late", "mape_30d", "brier", "ece")
BASELINES = (
    "contractual",
    "customer_mean",
    "customer_median",
    "kaplan_meier",
    "customer_late_share",
)
# Which figures each baseline has: a constant ranks nothing, a lateness in days is no probability.
APPLIES = {
    "contractual": ("mae_days", "mape_30d"),
    "customer_mean": ("mae_days", "auc_late", "mape_30d"),
    "customer_median": ("mae_days", "auc_late", "mape_30d"),
    "kaplan_meier": METRICS,
    "customer_late_share": ("auc_late", "brier", "ece"),
}
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Metric:
    value: float | None
    low: float | None = None
    high: float | None = None

    def to_json(self) -> dict[str, float | None]:
        return {"value": _round(self.value), "low": _round(self.low), "high": _round(self.high)}


@dataclass(frozen=True, slots=True)
class Bin:
    low: float
    high: float
    count: int
    predicted: float
    observed: float


@dataclass(frozen=True, slots=True)
class BacktestResult:
    n_test: int
    n_classified: int
    cuts: int
    model: dict[str, Metric]
    baselines: dict[str, dict[str, Metric]]
    reliability: list[Bin]

    def to_json(self) -> dict[str, Any]:
        return {
            "n_test": self.n_test,
            "n_classified": self.n_classified,
            "cuts": self.cuts,
            "model": _figures(self.model),
            "baselines": {name: _figures(m) for name, m in self.baselines.items()},
            "reliability": [
                {
                    "low": b.low,
                    "high": b.high,
                    "count": b.count,
                    "predicted": round(b.predicted, 4),
                    "observed": round(b.observed, 4),
                }
                for b in self.reliability
            ],
        }

    def losses(self) -> list[str]:
        """``baseline.metric`` for every figure where a baseline is as good as the model."""
        found = []
        for name, metrics in self.baselines.items():
            for metric in ("mae_days", "auc_late", "mape_30d"):
                theirs, ours = metrics.get(metric), self.model[metric].value
                if theirs is None or theirs.value is None or ours is None:
                    continue
                better = ours > theirs.value if metric == "auc_late" else ours < theirs.value
                if not better:
                    found.append(f"{name}.{metric}")
        return found


def _figures(metrics: dict[str, Metric]) -> dict[str, Any]:
    values: dict[str, Any] = {name: _round(m.value) for name, m in metrics.items()}
    values["ci"] = {name: [_round(m.low), _round(m.high)] for name, m in metrics.items()}
    return values


@dataclass(frozen=True, slots=True)
class _Method:
    """One method's per-invoice answers: days late, a ranking score, a probability of late."""

    days: FloatArray | None = None
    score: FloatArray | None = None
    probability: FloatArray | None = None


def run_backtest(
    records: Sequence[PaymentRecord],
    split: date,
    *,
    config: ModelConfig | None = None,
    bootstrap: int = BOOTSTRAP,
) -> BacktestResult:
    """The walk-forward backtest of ``records`` from ``split`` (see the module docstring)."""
    last_day = max(max(r.paid_date or r.issue_date, r.issue_date) for r in records)
    test = sorted(
        (r for r in records if r.issue_date >= split and r.due_date < last_day),
        key=lambda r: (r.issue_date, r.invoice_id),
    )
    if not any(r.paid_date is not None for r in test):
        raise ValueError(f"no invoice issued on or after {split.isoformat()} has been paid")
    history = History(records)
    cuts = _cuts(split, last_day)
    months = sorted({_month(r.issue_date) for r in test} | set(cuts))
    predictors = {
        month: Predictor(config).fit(records, max(month, split), history=history)
        for month in months
    }

    p50 = np.zeros(len(test))
    p_late = np.zeros(len(test))
    for month, predictor in predictors.items():
        rows = [i for i, r in enumerate(test) if _month(r.issue_date) == month]
        if rows:
            arrays = predictor.predict_arrays([test[i] for i in rows], None)
            p50[rows] = arrays.p50_days_late
            p_late[rows] = arrays.p_late
    methods = {"model": _Method(p50, p_late, p_late)} | _baselines(records, test, split)
    paid = np.array([r.paid_date is not None for r in test])
    actual = np.array([r.days_late or 0 for r in test], dtype=np.float64)
    late = ~paid | (actual > 0)
    cells = _forecast_cells(records, cuts, predictors)
    rng = np.random.default_rng(0)
    invoice_draws = [rng.integers(0, len(test), len(test)) for _ in range(bootstrap)]
    cell_draws = [rng.integers(0, len(cells.weight), len(cells.weight)) for _ in range(bootstrap)]

    def figures(name: str) -> dict[str, Metric]:
        method = methods[name]
        out: dict[str, Metric] = {}
        if method.days is not None:
            days = method.days
            out["mae_days"] = _with_ci(
                lambda rows: _mae(days[rows], actual[rows], paid[rows]), invoice_draws, len(test)
            )
        if method.score is not None:
            score = method.score
            out["auc_late"] = _with_ci(
                lambda rows: _auc(late[rows], score[rows]), invoice_draws, len(test)
            )
        if name in cells.predicted:
            guess = cells.predicted[name]
            out["mape_30d"] = _with_ci(
                lambda rows: _mape(guess[rows], cells.actual[rows], cells.weight[rows]),
                cell_draws,
                len(cells.weight),
            )
        if method.probability is not None:
            p = method.probability
            out["brier"] = _with_ci(
                lambda rows: float(np.mean((p[rows] - late[rows]) ** 2)), invoice_draws, len(test)
            )
            out["ece"] = _with_ci(lambda rows: _ece(p[rows], late[rows]), invoice_draws, len(test))
        if name != "model":
            out = {k: v for k, v in out.items() if k in APPLIES[name]}
        return {k: out[k] for k in METRICS if k in out}

    return BacktestResult(
        n_test=int(paid.sum()),
        n_classified=len(test),
        cuts=len(cuts),
        model=figures("model"),
        baselines={name: figures(name) for name in BASELINES},
        reliability=reliability(p_late, late),
    )


def _with_ci(
    metric: Callable[[NDArray[np.int64]], float | None], draws: list[NDArray[np.int64]], size: int
) -> Metric:
    if size == 0:
        return Metric(None)
    value = metric(np.arange(size))
    samples = [s for s in (metric(rows) for rows in draws) if s is not None]
    if value is None or not samples:
        return Metric(value)
    low, high = np.quantile(samples, [0.025, 0.975])
    return Metric(value, float(low), float(high))


def _mae(days: FloatArray, actual: FloatArray, paid: BoolArray) -> float | None:
    if not paid.any():
        return None
    return float(np.mean(np.abs(days[paid] - actual[paid])))


def _auc(late: BoolArray, score: FloatArray) -> float | None:
    if not 0 < late.sum() < late.size:
        return None
    return float(roc_auc_score(late, score))


def _mape(guess: FloatArray, actual: FloatArray, weight: FloatArray) -> float | None:
    if not weight.sum():
        return None
    return float(np.average(np.abs(guess - actual) / actual, weights=weight))


def _bin_index(p: FloatArray) -> NDArray[np.int64]:
    return np.minimum((p * BINS).astype(np.int64), BINS - 1)


def _ece(p: FloatArray, late: BoolArray) -> float:
    """Expected calibration error: the count-weighted gap between predicted and observed."""
    index = _bin_index(p)
    count = np.bincount(index, minlength=BINS)
    gap = np.bincount(index, weights=p, minlength=BINS) - np.bincount(
        index, weights=late.astype(np.float64), minlength=BINS
    )
    return float(np.abs(gap).sum() / max(int(count.sum()), 1))


def reliability(p: FloatArray, late: BoolArray) -> list[Bin]:
    """Per tenth of predicted probability: how many invoices, predicted vs observed late share."""
    index = _bin_index(p)
    table = []
    for b in range(BINS):
        mask = index == b
        if mask.any():
            table.append(
                Bin(
                    b / BINS,
                    (b + 1) / BINS,
                    int(mask.sum()),
                    float(p[mask].mean()),
                    float(late[mask].mean()),
                )
            )
    return table


def _baselines(
    records: Sequence[PaymentRecord], test: Sequence[PaymentRecord], split: date
) -> dict[str, _Method]:
    """Each rule of thumb as of each test invoice's issue date, from what was known then."""
    settled = sorted(
        ((r.paid_date, r.customer_id, r.days_late or 0) for r in records if r.paid_date),
        key=lambda item: item[0],
    )
    paid_days = [item[0] for item in settled]
    book_lates = np.array([item[2] for item in settled], dtype=np.float64)
    book_sum = np.concatenate(([0.0], np.cumsum(book_lates)))
    book_late = np.concatenate(([0.0], np.cumsum(book_lates > 0)))
    by_customer: dict[str, list[tuple[date, int]]] = {}
    for paid, customer, days in settled:
        by_customer.setdefault(customer, []).append((paid, days))
    issued = _by_customer(records)
    books: dict[date, Survival] = {}
    n = len(test)
    mean, median, share = np.zeros(n), np.zeros(n), np.full(n, 0.5)
    km_days, km_late = np.zeros(n), np.full(n, 0.5)
    for i, r in enumerate(test):
        known = bisect.bisect_left(paid_days, r.issue_date)
        own = [
            d
            for _, d in by_customer.get(r.customer_id, [])[
                : bisect.bisect_left(by_customer.get(r.customer_id, []), (r.issue_date,))
            ]
        ]
        book_mean = book_sum[known] / known if known else 0.0
        # A customer without history falls back to the book's figure of the same kind.
        mean[i] = float(np.mean(own)) if own else book_mean
        if own:
            median[i] = float(np.median(own))
            share[i] = float(np.mean(np.array(own) > 0))
        elif known:
            median[i] = float(np.median(book_lates[:known]))
            share[i] = float(book_late[known] / known)
        month = max(_month(r.issue_date), split)
        if month not in books:
            books[month] = _settle_curve(records, month)
        curve = _customer_curve(issued.get(r.customer_id, []), r.issue_date) or books[month]
        terms = r.terms_days
        settle = curve.median()
        km_days[i] = max(0, (settle if settle is not None else terms) - terms)
        km_late[i] = float(curve.at(np.array([terms]))[0])
    return {
        "contractual": _Method(days=np.zeros(n)),
        "customer_mean": _Method(days=mean, score=mean),
        "customer_median": _Method(days=median, score=median),
        "kaplan_meier": _Method(days=km_days, score=km_late, probability=km_late),
        "customer_late_share": _Method(score=share, probability=share),
    }


def _by_customer(records: Sequence[PaymentRecord]) -> dict[str, list[PaymentRecord]]:
    result: dict[str, list[PaymentRecord]] = {}
    for r in sorted(records, key=lambda r: r.issue_date):
        result.setdefault(r.customer_id, []).append(r)
    return result


def _settle_curve(records: Sequence[PaymentRecord], as_of: date) -> Survival:
    """Days from issue to payment of invoices issued before ``as_of``; open ones censored."""
    known = [r for r in records if r.issue_date < as_of]
    ended = np.array([r.paid_date is not None and r.paid_date < as_of for r in known], bool)
    days = np.array(
        [
            (
                (r.paid_date if done and r.paid_date else as_of - timedelta(days=1)) - r.issue_date
            ).days
            for r, done in zip(known, ended, strict=True)
        ],
        dtype=np.int64,
    )
    return Survival.learn(days, ended)


def _customer_curve(own: Sequence[PaymentRecord], as_of: date) -> Survival | None:
    """The customer's own curve, or None below ``KM_MIN_EVENTS`` payments or without a median."""
    known = own[: bisect.bisect_left([r.issue_date for r in own], as_of)]
    if sum(1 for r in known if r.paid_date is not None and r.paid_date < as_of) < KM_MIN_EVENTS:
        return None
    curve = _settle_curve(known, as_of)
    return curve if curve.median() is not None else None


@dataclass(frozen=True, slots=True)
class _Cells:
    """One row per (month start, currency): what each method expected and what came in."""

    predicted: dict[str, FloatArray]
    actual: FloatArray
    weight: FloatArray


def forecast_at(
    predictor: Predictor, open_then: Sequence[PaymentRecord], cut: date, days: int = HORIZON_DAYS
) -> dict[str, float]:
    """Per currency, the money the product forecast expects in ``[cut, cut + days)``."""
    estimates = estimates_from_predictions(predictor.predict(open_then, cut))
    balances = [Balance(r.invoice_id, r.currency, r.amount, r.due_date) for r in open_then]
    forecast = forecast_balances(balances, estimates, start=cut, days=days)
    return {code: float(sum(cf.series[EXPECTED])) for code, cf in forecast.currencies.items()}


def _forecast_cells(
    records: Sequence[PaymentRecord], cuts: list[date], predictors: dict[date, Predictor]
) -> _Cells:
    names = ("model", "contractual", "customer_mean", "customer_median", "kaplan_meier")
    predicted: dict[str, list[float]] = {name: [] for name in names}
    actual: list[float] = []
    weight: list[float] = []
    issued = _by_customer(records)
    for cut in cuts:
        end = cut + timedelta(days=HORIZON_DAYS)
        open_then = [
            r for r in records if r.issue_date < cut and (r.paid_date is None or r.paid_date >= cut)
        ]
        if not open_then:
            continue
        model = forecast_at(predictors[cut], open_then, cut)
        point = _point_baselines(records, open_then, cut)
        book = _settle_curve(records, cut)
        chance = np.zeros(len(open_then))
        for i, r in enumerate(open_then):
            curve = _customer_curve(issued.get(r.customer_id, []), cut) or book
            age = (cut - r.issue_date).days
            alive = curve.at(np.array([age - 1, age + HORIZON_DAYS - 1]))
            chance[i] = (alive[0] - alive[1]) / alive[0] if alive[0] > 0 else 0.0
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
            predicted["model"].append(model.get(currency, 0.0))
            for name, when in point.items():
                predicted[name].append(float(amount @ (when[rows] < end.toordinal())))
            predicted["kaplan_meier"].append(float(amount @ chance[rows]))
            actual.append(collected)
            weight.append(len(rows))
    return _Cells(
        {name: np.array(values) for name, values in predicted.items()},
        np.array(actual),
        np.array(weight, dtype=np.float64),
    )


def _point_baselines(
    records: Sequence[PaymentRecord], open_then: Sequence[PaymentRecord], cut: date
) -> dict[str, NDArray[np.int64]]:
    """Expected pay dates (ordinals) of the point baselines; past dates mean "now"."""
    settled = [r for r in records if r.paid_date is not None and r.paid_date < cut]
    own: dict[str, list[int]] = {}
    for r in settled:
        own.setdefault(r.customer_id, []).append(r.days_late or 0)
    book = [r.days_late or 0 for r in settled] or [0]
    due = np.array([r.due_date.toordinal() for r in open_then], dtype=np.int64)
    mean = np.array([np.mean(own.get(r.customer_id, book)) for r in open_then])
    median = np.array([np.median(own.get(r.customer_id, book)) for r in open_then])
    return {
        "contractual": due,
        "customer_mean": due + np.round(mean).astype(np.int64),
        "customer_median": due + np.round(median).astype(np.int64),
    }


def _cuts(split: date, last_day: date) -> list[date]:
    """First days of months from ``split`` on whose next 30 days lie inside the file."""
    cuts = []
    cut = split if split.day == 1 else _next_month(split)
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
    """The human-readable report: one row per method with 95% intervals, then calibration."""
    lines = [
        f"walk-forward backtest: {result.n_test} paid invoices (days late = paid - due, >= 0), "
        f"{result.n_classified} with a known late/on-time outcome, cash at {result.cuts} month "
        "starts; [95% bootstrap interval]",
        "",
        f"{'method':<20} "
        + " ".join(f"{name:>22}" for name in ("MAE days", "AUC late", "MAPE 30d", "Brier", "ECE")),
    ]
    for name, metrics in [("model", result.model), *result.baselines.items()]:
        cells = [_cell(metrics.get(metric), metric == "mape_30d") for metric in METRICS]
        lines.append(f"{name:<20} " + " ".join(f"{c:>22}" for c in cells))
    lines += [
        "",
        "reliability of the model's P(late):",
        "  bin        invoices  predicted  observed",
    ]
    for b in result.reliability:
        lines.append(
            f"  {b.low:.1f}-{b.high:.1f}  {b.count:>9}  {b.predicted:>9.3f}  {b.observed:>8.3f}"
        )
    return "\n".join(lines)


def _cell(metric: Metric | None, percent: bool) -> str:
    if metric is None or metric.value is None:
        return "-"
    scale, unit = (100.0, "%") if percent else (1.0, "")
    text = f"{scale * metric.value:.3f}{unit}" if not percent else f"{scale * metric.value:.1f}%"
    if metric.low is None or metric.high is None:
        return text
    digits = 1 if percent else 3
    return f"{text} [{scale * metric.low:.{digits}f}-{scale * metric.high:.{digits}f}]"
