"""Predicted pay dates, lateness probabilities and a risk score for open invoices.

Gradient-boosted tree models (scikit-learn's ``HistGradientBoosting*``) learn from settled
invoices, each seen as of its own issue date: the median and the 90th percentile of the signed
lateness (paid date minus due date, negative when early). The probabilities of being paid after
the due date and more than 30 days after it come from trees, a regularised logistic regression
or the mean of both, whichever did best on the book's latest invoices; they learn from every
invoice whose due date has passed, paid or not. ``docs/insight.md`` explains the choices.

An invoice's predictive distribution is its P50 plus the training residuals scaled by its own
P50-P90 spread. Conditioning that distribution on "still unpaid today", and mixing in the
chance that an invoice this overdue is never paid, gives sensible answers for invoices that are
already overdue; the cash forecast rebuilds the distribution from the P50 and P90 it yields.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from statistics import NormalDist
from typing import Any, Self

import numpy as np
from numpy.typing import NDArray
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from arbridge.insight.features import (
    LATE_30,
    AttributeEffects,
    CustomerStats,
    Encoding,
    FloatArray,
    History,
    IntArray,
    Invoices,
    baseline,
    explain,
    features,
)
from arbridge.insight.history import PaymentRecord
from arbridge.insight.survival import Survival

LEVELS = np.linspace(0.005, 0.995, 100)
# Below this share of the predictive mass left after conditioning, the invoice is later than
# anything the model expected; it then behaves like the book's long-overdue invoices.
MIN_MASS = 0.05
# Where the predicted pay date of an invoice that is likely never paid is put: a year on.
NEVER_DAYS = 365


CLASSIFIERS = ("trees", "logistic", "blend")

# Below this many rows predictions run on one thread (see ``Predictor._raw``).
SMALL_BATCH = 256


@dataclass(frozen=True)
class ModelConfig:
    max_iter: int = 60
    learning_rate: float = 0.1
    max_leaf_nodes: int = 8
    min_samples_leaf: int = 30
    l2_regularization: float = 1.0
    # Train only on invoices due at least this long before the fit date: more recent ones are
    # settled only if they were paid early, which would teach the model optimism.
    maturity_days: int = 60
    # "trees", "logistic", "blend" (the mean of both probabilities), or "auto": the one that
    # did best on the most recent invoices (see ``Predictor._choose_classifier``).
    classifier: str = "auto"
    validation_days: int = 90
    logistic_c: float = 0.5
    # Below this many training invoices the models are not fitted; shrunk statistics answer.
    min_training_rows: int = 50


@dataclass(frozen=True, slots=True)
class Prediction:
    invoice_id: str
    expected_days_late: float
    p50_days_late: int
    p90_days_late: int
    predicted_pay_date: date
    p90_pay_date: date
    p_late: float
    p_late_30: float
    risk_score: int
    reasons: list[str] = field(default_factory=list)

    def facts(self) -> dict[str, Any]:
        """The values rules and task fields read."""
        return {
            "risk_score": self.risk_score,
            "predicted_pay_date": self.predicted_pay_date,
            "p90_pay_date": self.p90_pay_date,
            "p_late": self.p_late,
            "p_late_30": self.p_late_30,
            "expected_days_late": self.expected_days_late,
        }


@dataclass(frozen=True, slots=True)
class Distribution:
    """Per invoice, sorted samples of signed lateness; only columns ``>= first`` remain."""

    samples: FloatArray
    first: IntArray

    def quantile(self, q: float | FloatArray) -> FloatArray:
        last = self.samples.shape[1] - 1
        pos = self.first + np.minimum(q, 1.0) * (last - self.first)
        low = np.floor(pos).astype(np.int64)
        high = np.minimum(low + 1, last)
        rows = np.arange(self.samples.shape[0])
        frac = pos - low
        value: FloatArray = self.samples[rows, low] * (1 - frac) + self.samples[rows, high] * frac
        return value

    def _kept(self) -> NDArray[np.bool_]:
        return np.arange(self.samples.shape[1])[None, :] >= self.first[:, None]

    def mean_late(self) -> FloatArray:
        kept = self._kept()
        late = np.where(kept, np.maximum(self.samples, 0.0), 0.0)
        mean: FloatArray = late.sum(axis=1) / kept.sum(axis=1)
        return mean

    def probability_at_most(self, bound: FloatArray) -> FloatArray:
        """P(signed lateness <= bound) under the conditioned distribution."""
        kept = self._kept()
        hit = kept & (self.samples <= bound[:, None])
        share: FloatArray = hit.sum(axis=1) / kept.sum(axis=1)
        return share


@dataclass(frozen=True, slots=True)
class PredictionArrays:
    """Predictions as columns (dates as ordinals), for scoring many invoices at once."""

    invoices: Invoices
    as_of: IntArray
    stats: CustomerStats
    distribution: Distribution
    expected_days_late: FloatArray
    p50_days_late: FloatArray
    p90_days_late: FloatArray
    pay_p50: IntArray
    pay_p90: IntArray
    p_late: FloatArray
    p_late_30: FloatArray
    amount_percentile: FloatArray
    risk_score: IntArray


@dataclass(frozen=True, slots=True)
class NeverPaid:
    """The chance an invoice is never paid, given how long it is already overdue.

    A Kaplan-Meier curve over days late, from every invoice due before the fit date: paid ones
    end at their lateness, open ones are censored at today's. Where the curve flattens, what is
    left is the share of invoices the book never collected.
    """

    survival: FloatArray  # P(not paid by day t after the due date), t = 0, 1, ...

    @classmethod
    def learn(cls, records: Sequence[PaymentRecord], as_of: date) -> NeverPaid:
        cut = as_of.toordinal()
        due = [r for r in records if r.due_date < as_of]
        paid = np.array([r.paid_date is not None and r.paid_date < as_of for r in due], bool)
        late = np.array(
            [
                max((r.paid_date - r.due_date).days, 0)
                if was_paid and r.paid_date is not None
                else cut - r.due_date.toordinal() - 1
                for r, was_paid in zip(due, paid, strict=True)
            ],
            dtype=np.int64,
        )
        return cls(Survival.learn(late, paid).curve)

    def given_overdue(self, floor: FloatArray) -> FloatArray:
        """P(never paid | not paid before ``floor`` days after the due date)."""
        last = self.survival.size - 1
        day = np.clip(floor.astype(np.int64) - 1, -1, last)
        alive = np.where(day >= 0, self.survival[np.maximum(day, 0)], 1.0)
        ratio = np.divide(self.survival[last], alive, out=np.zeros(floor.size), where=alive > 0)
        chance: FloatArray = np.clip(ratio, 0.0, 1.0)
        return chance


class Predictor:
    """Fit on history as of a date; score open invoices; learn new payments without refitting."""

    def __init__(self, config: ModelConfig | None = None) -> None:
        self.config = config or ModelConfig()
        self._records: dict[str, PaymentRecord] = {}
        self._history = History(())
        self._reset()

    def _reset(self) -> None:
        self._encoding = Encoding({}, {})
        self._models: dict[str, Any] = {}
        self._constants: dict[str, float] = {}
        # Until residuals are learned: a normal spread scaled so that P90 sits at z = 1, and an
        # exponential tail (mean 20 days) beyond 30 days late.
        self._z = np.array([NormalDist().inv_cdf(q) / NormalDist().inv_cdf(0.9) for q in LEVELS])
        self._excess = -20.0 * np.log1p(-LEVELS)
        self._amounts: dict[str, FloatArray] = {}
        self._effects = AttributeEffects({})
        self._never = NeverPaid(np.ones(1))
        self.n_training = 0
        self.classifier = "none"

    @property
    def fitted(self) -> bool:
        return bool(self._models)

    def fit(
        self,
        records: Sequence[PaymentRecord],
        as_of: date,
        *,
        history: History | None = None,
    ) -> Self:
        """Learn from ``records`` as they stood on ``as_of`` (nothing paid later is used).

        ``history`` is a ``History`` of the same records, to share between fits.
        """
        self._reset()
        self._records = {r.invoice_id: r for r in records}
        self._history = history if history is not None else History(records)
        known = [r for r in records if r.issue_date < as_of]
        self._encoding = Encoding.learn(known)
        self._amounts = _amounts_by_currency(known)
        self._never = NeverPaid.learn(known, as_of)
        mature = as_of - timedelta(days=self.config.maturity_days)
        rows = [
            r
            for r in known
            if r.paid_date is not None and r.paid_date < as_of and r.due_date <= mature
        ]
        # Whether an invoice was paid by its due date (or 30 days after) is known the day after,
        # paid or not: the classifiers learn from every such invoice, the freshest included.
        due = [r for r in known if r.due_date < as_of]
        self.n_training = len(rows)
        if len(rows) < self.config.min_training_rows:
            return self
        invoices = Invoices.of(rows)
        x, stats = features(self._history, invoices, invoices.issue, self._encoding)
        y = np.array([_signed(r) for r in rows], dtype=np.float64)
        due_invoices = Invoices.of(due)
        x_due, _ = features(self._history, due_invoices, due_invoices.issue, self._encoding)
        labels = {
            "late": (_late_by(due, 0), np.ones(len(due), bool)),
            "late_30": (
                _late_by(due, LATE_30),
                due_invoices.due + LATE_30 < as_of.toordinal(),
            ),
        }
        self._effects = AttributeEffects.learn(rows, self._encoding)
        # A few thousand rows gain nothing from threads, and on a busy machine OpenMP's
        # spinning workers make them slower; scoring keeps the library's default.
        with threadpool_limits(limits=1, user_api="openmp"):
            self._fit_models(x, y, baseline(stats))
            kind = self.config.classifier
            if kind == "auto":
                kind = self._choose_classifier(x_due, labels["late"][0], due_invoices.due, as_of)
            self.classifier = kind
            for name, (target, known_rows) in labels.items():
                self._fit_classifier(name, kind, x_due[known_rows], target[known_rows])
        return self

    def _choose_classifier(
        self, x: FloatArray, target: NDArray[np.int64], due: IntArray, as_of: date
    ) -> str:
        """The kind whose "late" probabilities had the lowest log loss on the invoices due in the
        last ``validation_days``, each kind fitted on the ones due before: trees where they win,
        the linear model where the book is too small or too plain for them."""
        cut = as_of.toordinal() - self.config.validation_days
        train, held = due < cut, due >= cut
        if held.sum() < self.config.min_training_rows or not 0 < target[train].mean() < 1:
            return "trees"
        probe = Predictor(self.config)
        probe._encoding = self._encoding
        probe._fit_classifier("late", "blend", x[train], target[train])
        trees = probe._models["late"].predict_proba(x[held])[:, 1]
        linear = probe._models["late:linear"].predict_proba(x[held])[:, 1]
        chances = {"trees": trees, "logistic": linear, "blend": (trees + linear) / 2}
        y = target[held]
        losses = {}
        for kind, chance in chances.items():
            p = np.clip(chance, 1e-6, 1 - 1e-6)
            losses[kind] = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
        return min(CLASSIFIERS, key=lambda kind: losses[kind])

    def _fit_models(self, x: FloatArray, y: FloatArray, base: FloatArray) -> None:
        for name, quantile in (("p50", 0.5), ("p90", 0.9)):
            regressor = self._booster(HistGradientBoostingRegressor, quantile)
            self._models[name] = regressor.fit(x, y - base)
        p50 = self._models["p50"].predict(x) + base
        scale = np.maximum(self._models["p90"].predict(x) + base - p50, 1.0)
        self._z = np.quantile((y - p50) / scale, LEVELS)
        beyond = y[y > LATE_30] - LATE_30
        if beyond.size >= 20:
            self._excess = np.quantile(beyond, LEVELS)

    def _fit_classifier(
        self, name: str, kind: str, x: FloatArray, target: NDArray[np.int64]
    ) -> None:
        if 0 < target.sum() < target.size:
            if kind in ("trees", "blend"):
                self._models[name] = self._booster(HistGradientBoostingClassifier).fit(x, target)
            if kind in ("logistic", "blend"):
                self._models[f"{name}:linear"] = self._linear().fit(x, target)
        else:
            self._constants[name] = float(target.mean()) if target.size else 0.0

    def _linear(self) -> Any:
        numeric = [not flag for flag in self._encoding.categorical]
        shares = [
            name.endswith("share") or name.startswith("share") for name in self._encoding.names
        ]
        return make_pipeline(
            FunctionTransformer(_linear_inputs, kw_args={"numeric": numeric, "shares": shares}),
            SimpleImputer(strategy="median", keep_empty_features=True),
            StandardScaler(),
            LogisticRegression(C=self.config.logistic_c, max_iter=2000),
        )

    def _booster(self, kind: type[Any], quantile: float | None = None) -> Any:
        c = self.config
        options: dict[str, Any] = {
            "max_iter": c.max_iter,
            "learning_rate": c.learning_rate,
            "max_leaf_nodes": c.max_leaf_nodes,
            "min_samples_leaf": c.min_samples_leaf,
            "l2_regularization": c.l2_regularization,
            "categorical_features": self._encoding.categorical,
            "early_stopping": False,
            "random_state": 0,
        }
        if quantile is not None:
            options |= {"loss": "quantile", "quantile": quantile}
        return kind(**options)

    def observe(self, records: Iterable[PaymentRecord]) -> None:
        """Take in new or updated invoices (e.g. a payment arrived); features use them at once."""
        for record in records:
            self._records[record.invoice_id] = record
        self._history = History(self._records.values())

    def predict(self, invoices: Sequence[PaymentRecord], as_of: date) -> list[Prediction]:
        """One prediction per open invoice, as of ``as_of``; ``paid_date`` is ignored."""
        arrays = self.predict_arrays(invoices, as_of)
        reasons = explain(arrays.invoices, arrays.stats, arrays.as_of, self._effects)
        return [
            Prediction(
                invoice_id=invoice_id,
                expected_days_late=round(float(arrays.expected_days_late[i]), 1),
                p50_days_late=int(arrays.p50_days_late[i]),
                p90_days_late=int(arrays.p90_days_late[i]),
                predicted_pay_date=date.fromordinal(int(arrays.pay_p50[i])),
                p90_pay_date=date.fromordinal(int(arrays.pay_p90[i])),
                p_late=round(float(arrays.p_late[i]), 3),
                p_late_30=round(float(arrays.p_late_30[i]), 3),
                risk_score=int(arrays.risk_score[i]),
                reasons=reasons[i],
            )
            for i, invoice_id in enumerate(arrays.invoices.invoice_ids)
        ]

    def predict_arrays(
        self, invoices: Sequence[PaymentRecord], as_of: date | None
    ) -> PredictionArrays:
        """Vectorised predictions; ``as_of=None`` scores each invoice as of its issue date."""
        inv = Invoices.of(invoices)
        at = inv.issue if as_of is None else np.full(len(inv), as_of.toordinal(), np.int64)
        at = np.maximum(at, inv.issue)
        x, stats = features(self._history, inv, at, self._encoding)
        q50, q90, p_late, p_30 = self._raw(x, stats)
        floor = (at - inv.due).astype(np.float64)
        dist = self._distribution(inv, q50, q90, floor, stats.pay_weekday)
        # Some invoices are never paid, and the longer one is overdue the likelier that is: the
        # quantiles are those of the mixture, where "never" lies beyond every payment.
        paid = np.maximum(1.0 - self._never.given_overdue(floor), 1e-9)
        far = (at - inv.due + NEVER_DAYS).astype(np.float64)
        p50 = np.where(paid > 0.5, dist.quantile(0.5 / paid), far)
        p90 = np.maximum(np.where(paid > 0.9, dist.quantile(0.9 / paid), far), p50)
        overdue = floor >= 1
        tail = 1.0 - paid * dist.probability_at_most(np.full(len(inv), float(LATE_30)))
        p_late = np.where(overdue, 1.0, p_late)
        p_30 = np.where(floor > LATE_30, 1.0, np.where(overdue, tail, p_30))
        p_30 = np.minimum(p_30, p_late)
        percentile = self._amount_percentile(inv)
        risk = risk_score(p_late, p_30, percentile)
        return PredictionArrays(
            invoices=inv,
            as_of=at,
            stats=stats,
            distribution=dist,
            expected_days_late=dist.mean_late(),
            p50_days_late=np.maximum(np.round(p50), 0.0),
            p90_days_late=np.maximum(np.round(p90), 0.0),
            pay_p50=np.maximum(inv.due + np.round(p50).astype(np.int64), at),
            pay_p90=np.maximum(inv.due + np.round(p90).astype(np.int64), at),
            p_late=p_late,
            p_late_30=p_30,
            amount_percentile=percentile,
            risk_score=risk,
        )

    def _raw(
        self, x: FloatArray, stats: CustomerStats
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        if len(x) < SMALL_BATCH:
            # A webhook's single invoice: starting OpenMP threads per tree costs ~8x the work
            # itself on a busy 2-core machine (425 ms against 51 ms for one invoice).
            with threadpool_limits(limits=1, user_api="openmp"):
                return self._raw_predict(x, stats)
        return self._raw_predict(x, stats)

    def _raw_predict(
        self, x: FloatArray, stats: CustomerStats
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        if not self._models:
            # Too little history to learn from: the shrunk statistics are the prediction.
            q50 = stats.mean_signed_shrunk
            spread = np.where(np.isnan(stats.std_late), 10.0, np.maximum(stats.std_late, 5.0))
            return q50, q50 + spread, stats.share_late_shrunk, stats.share_30_shrunk
        base = baseline(stats)
        q50 = self._models["p50"].predict(x) + base
        q90 = np.maximum(self._models["p90"].predict(x) + base, q50 + 1.0)
        return q50, q90, self._probability("late", x), self._probability("late_30", x)

    def _probability(self, name: str, x: FloatArray) -> FloatArray:
        found = [m for m in (self._models.get(name), self._models.get(f"{name}:linear")) if m]
        if not found:
            return np.full(x.shape[0], self._constants.get(name, 0.0))
        result: FloatArray = np.mean([m.predict_proba(x)[:, 1] for m in found], axis=0)
        return result

    def _distribution(
        self,
        inv: Invoices,
        q50: FloatArray,
        q90: FloatArray,
        floor: FloatArray,
        pay_weekday: FloatArray,
    ) -> Distribution:
        scale = np.maximum(q90 - q50, 1.0)
        earliest = (inv.issue - inv.due).astype(np.float64)
        samples = np.round(q50[:, None] + scale[:, None] * self._z[None, :])
        # Customers with a payment run on a fixed weekday pay on the run nearest the day they
        # would otherwise have paid. Snapping keeps every row sorted.
        runs = ~np.isnan(pay_weekday)
        if runs.any():
            day = inv.due[runs, None] + samples[runs].astype(np.int64)
            shift = (pay_weekday[runs, None].astype(np.int64) - (day - 1) % 7) % 7
            samples[runs] += np.where(shift <= 3, shift, shift - 7)
        samples = np.maximum(samples, earliest[:, None])
        first = (samples < floor[:, None]).sum(axis=1)
        lost = first > (1.0 - MIN_MASS) * samples.shape[1]
        samples[lost] = floor[lost, None] + self._excess[None, :]
        first[lost] = 0
        return Distribution(samples, first.astype(np.int64))

    def _amount_percentile(self, inv: Invoices) -> FloatArray:
        result = np.full(len(inv), 0.5)
        currencies = np.array(inv.currencies, dtype=object)
        for currency, sorted_amounts in self._amounts.items():
            mask = currencies == currency
            if mask.any():
                rank = np.searchsorted(sorted_amounts, inv.amount[mask], "right")
                result[mask] = rank / sorted_amounts.size
        return result


def risk_score(
    p_late: FloatArray, p_late_30: FloatArray, amount_percentile: FloatArray
) -> IntArray:
    """0-100: mostly the chance of lateness and of serious lateness, tilted by invoice size.

    A p_late_30 of 0.5 already counts fully: half a chance of a month's delay is as bad as it
    gets for collections. Size scales the score between 70% (smallest) and 100% (largest).
    """
    likelihood = 0.55 * p_late + 0.45 * np.minimum(1.0, 2.0 * p_late_30)
    score = 100.0 * likelihood * (0.7 + 0.3 * amount_percentile)
    return np.clip(np.round(score), 0, 100).astype(np.int64)


def _amounts_by_currency(records: Sequence[PaymentRecord]) -> dict[str, FloatArray]:
    amounts: dict[str, list[float]] = {}
    for r in records:
        amounts.setdefault(r.currency, []).append(float(r.amount))
    return {c: np.sort(np.array(a)) for c, a in amounts.items()}


def _linear_inputs(x: FloatArray, numeric: list[bool], shares: list[bool]) -> FloatArray:
    """Numeric columns for the linear model, shares as log-odds: a late share moving from 0.90
    to 0.99 says as much as one moving from 0.50 to 0.90."""
    out = x[:, numeric].copy()
    cols = np.flatnonzero(np.array(shares)[numeric])
    clipped = np.clip(out[:, cols], 0.01, 0.99)
    out[:, cols] = np.log(clipped / (1.0 - clipped))
    return out


def _late_by(records: Sequence[PaymentRecord], days: int) -> NDArray[np.int64]:
    """1 where an invoice was not paid within ``days`` of its due date (never paid counts)."""
    return np.array(
        [r.paid_date is None or (r.paid_date - r.due_date).days > days for r in records],
        dtype=np.int64,
    )


def _signed(record: PaymentRecord) -> int:
    assert record.paid_date is not None
    return (record.paid_date - record.due_date).days
