"""Kaplan-Meier survival curves over whole days, for waits that may not have ended yet.

Waiting for money is censored: an invoice still open today says only "more than so many days".
Dropping such invoices would teach optimism; Kaplan-Meier counts them as at risk until the day
they were last seen open. Used by the predictor (the chance an overdue invoice is never paid)
and by the backtest's days-to-settle baseline.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Survival:
    """``curve[t]`` = P(wait > t days), t = 0, 1, ...; flat after the last observed day."""

    curve: FloatArray

    @classmethod
    def learn(cls, days: IntArray, ended: NDArray[np.bool_]) -> Survival:
        """``days``: the wait, or for ``ended`` False the last day the wait was seen going on."""
        if days.size == 0:
            return cls(np.ones(1))
        days = np.maximum(days, 0)
        size = int(days.max()) + 1
        events = np.bincount(days[ended], minlength=size).astype(np.float64)
        censored = np.bincount(days[~ended], minlength=size).astype(np.float64)
        at_risk = np.cumsum((events + censored)[::-1])[::-1]
        hazard = np.divide(events, at_risk, out=np.zeros(size), where=at_risk > 0)
        curve: FloatArray = np.cumprod(1.0 - hazard, dtype=np.float64)
        return cls(curve)

    def at(self, day: IntArray) -> FloatArray:
        """P(wait > day); 1 for negative days."""
        index = np.clip(day, 0, self.curve.size - 1)
        value: FloatArray = np.where(day < 0, 1.0, self.curve[index])
        return value

    def median(self) -> int | None:
        """The first day by which half the waits have ended; None if fewer than half ever do."""
        below = np.flatnonzero(self.curve <= 0.5)
        return int(below[0]) if below.size else None
