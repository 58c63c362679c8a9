"""A deterministic payment history for the sandbox, the backtest and the tests.

Customers have payment habits (``HABITS``, which the demo company borrows): each draws its own
usual lateness inside its habit's range. On top of that, things a collector would recognise move
individual invoices: the billing channel (paper invoices by post wait in someone's in-tray), the
region, payment terms, invoices far larger than the customer's usual (they need another
approval), disputes, some customers drifting later over time, and accounts-payable runs on a
fixed weekday. Invoices issued near the end of the period are still open.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from arbridge.insight.history import PaymentRecord
from arbridge.model.money import quantize

# Share of customers per habit and the days-late range each habit pays in.
HABITS: tuple[tuple[str, float, tuple[int, int]], ...] = (
    ("reliable", 0.45, (-3, 2)),
    ("occasionally_late", 0.30, (0, 15)),
    ("chronic_late", 0.18, (10, 45)),
    ("disputer", 0.07, (5, 60)),
)
TERMS = ((15, "Net 15"), (30, "Net 30"), (60, "Net 60"))
CURRENCIES = (("USD", 0.8), ("EUR", 0.15), ("JPY", 0.05))
DEFAULT_START = date(2024, 1, 1)
PERIOD_DAYS = 730
# (name, share of customers, extra days late)
REGIONS = (("north_america", 0.5, 0.0), ("europe", 0.3, -1.5), ("apac", 0.2, 3.0))
# (name, extra days late); each customer mixes channels in its own proportions.
CHANNELS = (("portal", -3.0), ("email", 0.0), ("post", 5.0))
# Invoice-level effects widen each customer's spread; this re-centres the whole book so the
# average invoice is paid about eight days late.
BASE_DAYS = -4.5
TERMS_EFFECT = {15: 2.0, 30: 0.0, 60: -3.0}
DISPUTE_RATE = {"reliable": 0.01, "occasionally_late": 0.03, "chronic_late": 0.06, "disputer": 0.3}
# Large invoices wait for another signature: days added per e-fold above the customer's usual.
AMOUNT_DAYS_PER_LOG = 5.0
UNCOLLECTIBLE_SHARE_OF_DISPUTED = 0.1
# A book is "steady" (customers' own habits and drifts only), "drifting" (the whole book pays
# later and later, and more of its customers drift) or "seasonal" (holiday months are slow,
# quarter ends are fast).
REGIMES = ("steady", "drifting", "seasonal")
# drifting: days the whole book slides over the two years, and the share of customers drifting.
BOOK_DRIFT_DAYS = 12.0
DRIFTING_CUSTOMER_SHARE = 0.5
# seasonal: extra days late by the due date's month; invoices due in a quarter's last ten days
# are paid sooner (payables are cleared before the books close).
MONTH_DAYS = {12: 8.0, 1: 4.0, 7: 3.0, 8: 6.0}
QUARTER_END_DAYS = -5.0
# E[max(0, Z)] for a standard normal Z: keeps the amount effect centred on zero.
_MEAN_EXCESS_LOG = 1 / math.sqrt(2 * math.pi)


@dataclass(frozen=True, slots=True)
class _Customer:
    customer_id: str
    habit: str
    center: float
    spread: float
    region: str
    region_days: float
    channel_weights: tuple[float, ...]
    terms: int
    currency: str
    size: float
    activity: float
    start: int
    drift_from: int | None
    drift_days: float
    pay_weekday: int | None


def generate_history(
    customers: int,
    invoices: int,
    seed: int,
    *,
    start: date = DEFAULT_START,
    regime: str = "steady",
) -> list[PaymentRecord]:
    """``invoices`` invoices of ``customers`` customers issued over two years from ``start``.

    Same arguments, same history. Invoices not paid by ``start + 730 days`` have no paid date.
    ``regime`` is one of ``REGIMES``; a steady book does not depend on it.
    """
    if customers < 1 or invoices < 0:
        raise ValueError("need at least one customer and a non-negative number of invoices")
    if regime not in REGIMES:
        raise ValueError(f"unknown regime {regime!r}; one of {', '.join(REGIMES)}")
    rng = random.Random(seed)
    drift_share = DRIFTING_CUSTOMER_SHARE if regime == "drifting" else 0.2
    people = [_customer(rng, index, drift_share) for index in range(customers)]
    issued = sorted(rng.randrange(PERIOD_DAYS) for _ in range(invoices))
    end = start + timedelta(days=PERIOD_DAYS)
    records = []
    for number, day in enumerate(issued, start=1):
        active = [c for c in people if c.start <= day] or people[:1]
        owner = rng.choices(active, weights=[c.activity for c in active])[0]
        records.append(_invoice(rng, owner, start, day, number, end, regime))
    return records


def customer_habits(customers: int, seed: int) -> dict[str, str]:
    """The habit each customer of ``generate_history(customers, ..., seed)`` was given."""
    rng = random.Random(seed)
    return {c.customer_id: c.habit for c in (_customer(rng, i, 0.2) for i in range(customers))}


def _customer(rng: random.Random, index: int, drift_share: float) -> _Customer:
    roll = rng.random()
    habit, low, high = HABITS[-1][0], *HABITS[-1][2]
    for name, share, (lo, hi) in HABITS:
        if roll < share:
            habit, low, high = name, lo, hi
            break
        roll -= share
    region, _, region_days = rng.choices(REGIONS, weights=[share for _, share, _ in REGIONS])[0]
    currency = _pick(rng, list(CURRENCIES))
    late_starter = rng.random() < 0.3
    drifts = rng.random() < drift_share
    return _Customer(
        customer_id=f"C{index + 1:04d}",
        habit=habit,
        # Skewed towards the low end of the habit's range: most chronic payers are a couple of
        # weeks late, few are six weeks late.
        center=low + (high - low) * rng.random() ** 2,
        spread=max(1.5, (high - low) / 5) * rng.uniform(0.7, 1.3),
        region=region,
        region_days=region_days,
        channel_weights=tuple(rng.random() ** 2 + 0.05 for _ in CHANNELS),
        terms=rng.choice(TERMS)[0],
        currency=currency,
        size=math.exp(rng.gauss(0.0, 0.8)),
        activity=math.exp(rng.gauss(0.0, 0.5)),
        start=rng.randrange(int(PERIOD_DAYS * 0.8)) if late_starter else 0,
        drift_from=rng.randrange(PERIOD_DAYS) if drifts else None,
        drift_days=rng.uniform(6.0, 20.0) if drifts else 0.0,
        pay_weekday=rng.randrange(5) if rng.random() < 0.4 else None,
    )


def _regime_days(regime: str, day: int, due: date) -> float:
    """Days the book's regime adds to an invoice issued ``day`` days into the period."""
    if regime == "drifting":
        return BOOK_DRIFT_DAYS * day / PERIOD_DAYS
    if regime == "seasonal":
        quarter_end = due.month % 3 == 0 and (due + timedelta(days=10)).month != due.month
        return MONTH_DAYS.get(due.month, 0.0) + (QUARTER_END_DAYS if quarter_end else 0.0)
    return 0.0


def _pick(rng: random.Random, options: list[tuple[str, float]]) -> str:
    return rng.choices([name for name, _ in options], weights=[w for _, w in options])[0]


def _invoice(
    rng: random.Random,
    owner: _Customer,
    start: date,
    day: int,
    number: int,
    end: date,
    regime: str,
) -> PaymentRecord:
    issued = start + timedelta(days=day)
    # Log-normal amounts as in the demo company (median near 1,800), scaled per customer.
    usual = math.exp(7.5) * owner.size
    raw = rng.lognormvariate(7.5, 1.0) * owner.size
    amount = Decimal(str(round(max(raw, 25.0), 2)))
    if owner.currency == "JPY":
        amount *= 150
    channel_index = rng.choices(range(len(CHANNELS)), weights=owner.channel_weights)[0]
    channel, channel_days = CHANNELS[channel_index]
    due = issued + timedelta(days=owner.terms)
    mean = (
        BASE_DAYS
        + owner.center
        + owner.region_days
        + channel_days
        + TERMS_EFFECT[owner.terms]
        + AMOUNT_DAYS_PER_LOG * (max(0.0, math.log(raw / usual)) - _MEAN_EXCESS_LOG)
    )
    if owner.drift_from is not None and day >= owner.drift_from:
        mean += owner.drift_days
    mean += _regime_days(regime, day, due)
    late = round(rng.gauss(mean, owner.spread))
    disputed = rng.random() < DISPUTE_RATE[owner.habit]
    paid: date | None = due + timedelta(days=late)
    if disputed:
        paid = due + timedelta(days=max(late, 0) + rng.randint(15, 45))
        if rng.random() < UNCOLLECTIBLE_SHARE_OF_DISPUTED:
            paid = None
    if paid is not None:
        paid = max(paid, issued)
        if owner.pay_weekday is not None:
            # The payment run nearest the day it would have been paid.
            shift = (owner.pay_weekday - paid.weekday()) % 7
            paid += timedelta(days=shift if shift <= 3 else shift - 7)
            paid = max(paid, issued)
        if paid >= end:
            paid = None
    return PaymentRecord(
        customer_id=owner.customer_id,
        invoice_id=f"INV-{number:06d}",
        issue_date=issued,
        due_date=due,
        amount=quantize(amount, owner.currency),
        currency=owner.currency,
        paid_date=paid,
        disputed=disputed,
        attributes={"region": owner.region, "channel": channel},
    )
