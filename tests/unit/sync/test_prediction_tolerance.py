from __future__ import annotations

from datetime import UTC, date, datetime

from arbridge.insight.predictor import Prediction
from arbridge.loop.predictions import _settled_value
from arbridge.store.tables import PredictionRow


def prediction(risk: int, pay: date) -> Prediction:
    return Prediction(
        invoice_id="k",
        expected_days_late=1.0,
        p50_days_late=1,
        p90_days_late=5,
        predicted_pay_date=pay,
        p90_pay_date=pay,
        p_late=0.3,
        p_late_30=0.1,
        risk_score=risk,
    )


def stored(risk: int, pay: date) -> PredictionRow:
    return PredictionRow(
        invoice_key="k",
        risk_score=risk,
        p_late=0.3,
        p_late_30=0.1,
        predicted_pay_date=pay,
        p90_pay_date=pay,
        reasons=[],
        computed_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_small_moves_keep_the_stored_values() -> None:
    old = stored(40, date(2026, 3, 10))
    assert _settled_value(old, prediction(44, date(2026, 3, 12))) == (40, date(2026, 3, 10))


def test_real_moves_replace_them() -> None:
    old = stored(40, date(2026, 3, 10))
    assert _settled_value(old, prediction(45, date(2026, 3, 13))) == (45, date(2026, 3, 13))
    assert _settled_value(old, prediction(41, date(2026, 3, 20))) == (40, date(2026, 3, 20))


def test_first_prediction_is_taken_as_is() -> None:
    assert _settled_value(None, prediction(7, date(2026, 3, 1))) == (7, date(2026, 3, 1))
