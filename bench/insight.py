"""Scoring speed: 10,000 open invoices through a fitted predictor, median of several runs.

    .venv/bin/python bench/insight.py [--invoices 10000] [--runs 5]

Prints one JSON object. The issue's bar: 10,000 open invoices scored in under a second.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from dataclasses import replace
from datetime import timedelta

from arbridge.insight.generate import generate_history
from arbridge.insight.history import PaymentRecord
from arbridge.insight.predictor import Predictor


def open_invoices(history: list[PaymentRecord], count: int, seed: int) -> list[PaymentRecord]:
    """``count`` open invoices of the history's customers (and a few new ones) from the last 90
    days, shaped like the history's own invoices."""
    rng = random.Random(seed)
    today = max(r.issue_date for r in history) + timedelta(days=1)
    result = []
    for number in range(count):
        template = rng.choice(history)
        issued = today - timedelta(days=rng.randrange(90))
        customer = template.customer_id if rng.random() > 0.05 else f"NEW{number % 50:03d}"
        result.append(
            replace(
                template,
                customer_id=customer,
                invoice_id=f"OPEN-{number:06d}",
                issue_date=issued,
                due_date=issued + (template.due_date - template.issue_date),
                paid_date=None,
                disputed=False,
            )
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    history = generate_history(100, 2500, 1)
    as_of = max(r.issue_date for r in history) + timedelta(days=1)
    started = time.perf_counter()
    predictor = Predictor().fit(history, as_of)
    fit_seconds = time.perf_counter() - started
    invoices = open_invoices(history, args.invoices, seed=7)

    full: list[float] = []
    arrays: list[float] = []
    for _ in range(args.runs):
        started = time.perf_counter()
        predictions = predictor.predict(invoices, as_of)
        full.append(time.perf_counter() - started)
        started = time.perf_counter()
        predictor.predict_arrays(invoices, as_of)
        arrays.append(time.perf_counter() - started)
    assert len(predictions) == len(invoices)
    print(
        json.dumps(
            {
                "open_invoices": len(invoices),
                "history_invoices": len(history),
                "training_invoices": predictor.n_training,
                "fit_seconds": round(fit_seconds, 3),
                "runs": args.runs,
                "predict_seconds_median": round(statistics.median(full), 3),
                "predict_arrays_seconds_median": round(statistics.median(arrays), 3),
                "under_one_second": statistics.median(full) < 1.0,
            }
        )
    )


if __name__ == "__main__":
    main()
