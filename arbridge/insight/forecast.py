"""Cash forecast: expected collections per day and per ISO week, per currency.

Amounts in different currencies are never added together: every figure belongs to one currency.

**Expected** spreads each open balance over the invoice's pay-date distribution, rebuilt from
what every stored prediction holds: ``quantiles`` makes a piecewise-linear quantile function
through P50 (level 0.5), P90 (0.9), the due date (level 1 - p_late) and the due date + 30 days
(1 - p_late_30), the last two only where they agree with P50 and P90, and ``SLICES`` equal shares
of the balance fall on its quantiles. So money arrives before the median too, and a tenth of it
after P90. Shares that would fall before the forecast's first day (an overdue invoice's) land on
that day: the money is owed now. When P50 = P90 the whole balance lands on that day. An invoice
without an estimate is expected on its contractual date. The backtest
(``arbridge.insight.backtest``) scores this very function.

**Contractual** is the baseline where every invoice is paid on its due date (its issue date when
it has none). Dates before the forecast's first day (overdue invoices) move to that first day:
the money is owed now. Amounts after the horizon are reported as ``beyond``, so the horizon plus
``beyond`` always equals the open balance. Splits are exact in the currency's minor units.

**What-if scenarios** shift the whole expected distribution of some invoices::

    top:N delay:Nd              the N largest open balances of each currency
    customer:ID_OR_NAME delay:Nd  one customer, by id or by name (case-insensitive)
    all delay:Nd                every open invoice

``delay:-3d`` means three days earlier. The terms may come in either order. A customer name with
spaces needs no quotes (``customer:Pied Piper Ltd delay:10d``); quotes are allowed.

**Expected vs actual**: ``deviation`` compares a forecast's expected amounts with the money that
actually arrived over a window; ``Deviation.facts()`` gives ``forecast_deviation_pct`` for rules.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, Protocol

from arbridge.errors import ScenarioError
from arbridge.model.invoice import Invoice
from arbridge.model.money import minor_units

EXPECTED = "expected"
CONTRACTUAL = "contractual"
MAX_DELAY_DAYS = 3650
LATE_DAYS = 30  # the "more than 30 days late" of ``p_late_30``
GRAMMAR = (
    "'top:N delay:Nd', 'customer:ID_OR_NAME delay:Nd' or 'all delay:Nd' "
    "(N a whole number; e.g. 'top:10 delay:5d')"
)

Collection = tuple[date, str, Decimal]
"""Money received: (date, currency, amount)."""


class PayDateEstimate(Protocol):
    """What the forecast needs from a prediction; the stored prediction rows fit as they are."""

    @property
    def invoice_key(self) -> str: ...
    @property
    def predicted_pay_date(self) -> date: ...
    @property
    def p90_pay_date(self) -> date: ...
    @property
    def p_late(self) -> float: ...
    @property
    def p_late_30(self) -> float | None: ...


@dataclass(frozen=True, slots=True)
class Estimate:
    invoice_key: str
    predicted_pay_date: date
    p90_pay_date: date
    p_late: float
    p_late_30: float | None = None


class _Prediction(Protocol):
    @property
    def invoice_id(self) -> str: ...
    @property
    def predicted_pay_date(self) -> date: ...
    @property
    def p90_pay_date(self) -> date: ...
    @property
    def p_late(self) -> float: ...
    @property
    def p_late_30(self) -> float: ...


def estimates_from_predictions(predictions: Iterable[_Prediction]) -> list[Estimate]:
    """The predictor names the invoice key ``invoice_id``; the forecast calls it ``invoice_key``."""
    return [
        Estimate(p.invoice_id, p.predicted_pay_date, p.p90_pay_date, p.p_late, p.p_late_30)
        for p in predictions
    ]


def _invalid(text: str, problem: str) -> ScenarioError:
    return ScenarioError(text, problem, accepted=GRAMMAR)


@dataclass(frozen=True, slots=True)
class Scenario:
    label: str
    kind: Literal["all", "top", "customer"]
    delay_days: int
    count: int | None = None
    customer: str | None = None

    def select(self, invoices: Sequence[Invoice]) -> list[Invoice]:
        if self.kind == "all":
            return list(invoices)
        if self.kind == "top":
            assert self.count is not None
            chosen: list[Invoice] = []
            for currency in sorted({i.currency for i in invoices}):
                same = [i for i in invoices if i.currency == currency]
                same.sort(key=lambda i: (-i.balance, i.key))
                chosen.extend(same[: self.count])
            return chosen
        assert self.customer is not None
        wanted = self.customer.casefold()
        chosen = [
            i
            for i in invoices
            if wanted
            in (i.customer_id.casefold(), i.customer_key.casefold(), i.customer_name.casefold())
        ]
        if not chosen:
            raise _invalid(self.label, f"no open invoice of customer {self.customer!r}")
        return chosen


_DELAY = re.compile(r"(?:^|\s)delay:(\S*)", re.IGNORECASE)
_DAYS = re.compile(r"(-?\d+)d", re.IGNORECASE)


def parse_scenario(text: str) -> Scenario:
    """``"top:10 delay:5d"`` as a Scenario; ``ScenarioError`` says what is wrong otherwise."""
    label = " ".join(text.split())
    if not label:
        raise _invalid(text, "it is empty")
    found = list(_DELAY.finditer(label))
    if not found:
        raise _invalid(text, "missing 'delay:Nd'")
    if len(found) > 1:
        raise _invalid(text, "'delay:' appears more than once")
    raw = found[0].group(1)
    days = _DAYS.fullmatch(raw)
    if days is None:
        raise _invalid(
            text, f"delay must be a whole number of days such as 'delay:5d', got 'delay:{raw}'"
        )
    delay = int(days.group(1))
    if abs(delay) > MAX_DELAY_DAYS:
        raise _invalid(text, f"delay must be at most {MAX_DELAY_DAYS} days, got {delay}")
    selector = (label[: found[0].start()] + label[found[0].end() :]).strip()
    if not selector:
        raise _invalid(text, "missing which invoices to delay (top:N, customer:ID_OR_NAME or all)")
    if selector.casefold() == "all":
        return Scenario(label, "all", delay)
    head, sep, arg = selector.partition(":")
    kind = head.casefold()
    if sep and kind == "top":
        if not arg.isdigit() or int(arg) == 0:
            raise _invalid(text, f"top needs a positive whole number, got 'top:{arg}'")
        return Scenario(label, "top", delay, count=int(arg))
    if sep and kind == "customer":
        name = arg.strip().strip("\"'").strip()
        if not name:
            raise _invalid(text, f"customer needs an id or a name, got 'customer:{arg}'")
        return Scenario(label, "customer", delay, customer=name)
    raise _invalid(text, f"unknown selector {selector!r}")


@dataclass(frozen=True, slots=True)
class CurrencyForecast:
    currency: str
    open_balance: Decimal
    invoices: int
    series: dict[str, list[Decimal]]  # name -> one amount per forecast day
    beyond: dict[str, Decimal]  # name -> amount expected after the horizon
    moved: dict[str, int]  # scenario label -> invoices it delays


@dataclass(frozen=True, slots=True)
class Forecast:
    start: date
    days: int
    scenarios: tuple[Scenario, ...]
    currencies: dict[str, CurrencyForecast]

    @property
    def dates(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]

    @property
    def series_names(self) -> list[str]:
        return [EXPECTED, CONTRACTUAL, *(s.label for s in self.scenarios)]

    def daily_rows(self) -> list[dict[str, Any]]:
        rows = []
        for index, day in enumerate(self.dates):
            for code, cf in sorted(self.currencies.items()):
                row: dict[str, Any] = {"date": day, "currency": code}
                row |= {name: cf.series[name][index] for name in self.series_names}
                rows.append(row)
        return rows

    def weekly(self, currency: str) -> list[dict[str, Any]]:
        """Per ISO week; the first and last weeks hold only the days inside the horizon."""
        cf = self.currencies[currency]
        weeks: dict[str, dict[str, Any]] = {}
        for index, day in enumerate(self.dates):
            year, week, _ = day.isocalendar()
            row = weeks.setdefault(
                f"{year}-W{week:02d}",
                {"week": f"{year}-W{week:02d}", "from": day, "to": day}
                | {name: Decimal(0) for name in self.series_names},
            )
            row["to"] = day
            for name in self.series_names:
                row[name] += cf.series[name][index]
        return list(weeks.values())

    def expected_by_date(self) -> dict[str, dict[date, Decimal]]:
        return {
            code: dict(zip(self.dates, cf.series[EXPECTED], strict=True))
            for code, cf in self.currencies.items()
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "days": self.days,
            "scenarios": [
                {"label": s.label, "kind": s.kind, "delay_days": s.delay_days}
                for s in self.scenarios
            ],
            "currencies": {
                code: {
                    "open_balance": cf.open_balance,
                    "invoices": cf.invoices,
                    "in_horizon": {n: sum(cf.series[n], Decimal(0)) for n in self.series_names},
                    "beyond": cf.beyond,
                    "moved": cf.moved,
                    "weekly": self.weekly(code),
                }
                for code, cf in sorted(self.currencies.items())
            },
            "daily": self.daily_rows(),
        }


SLICES = 20
# Leftover minor units go to the slices nearest the median first, so rounding never moves
# money towards either tail.
_NEAREST_MEDIAN = sorted(range(SLICES), key=lambda k: (abs(2 * k + 1 - SLICES), k))

Quantiles = list[tuple[float, date]]
"""Points (level, day) of an invoice's pay-date quantile function, levels rising from 0 to 1."""


def quantiles(estimate: PayDateEstimate, due: date) -> Quantiles:
    """The pay-date distribution a stored prediction describes (see the module docstring)."""
    p50 = estimate.predicted_pay_date
    p90 = max(estimate.p90_pay_date, p50)
    if p90 == p50:
        return [(0.0, p50), (1.0, p50)]
    span = p90 - p50
    points = [(0.5, p50), (0.9, p90)]
    hints = [(1.0 - estimate.p_late, due)]
    if estimate.p_late_30 is not None:
        hints.append((1.0 - estimate.p_late_30, due + timedelta(days=LATE_DAYS)))
    for level, day in hints:
        # A hint joins only where it agrees with P50 and P90; they are the primary figures.
        below = 0 < level < 0.5 and day < p50
        between = 0.5 < level < 0.9 and p50 < day < p90
        if below or between or (0.9 < level < 1 and day > p90):
            points.append((level, day))
    points.sort()
    lowest = min(p50 - span, points[0][1])
    return [(0.0, lowest), *points, (1.0, max(p90 + span, points[-1][1]))]


def _at_level(points: Quantiles, level: float) -> date:
    """The quantile at ``level``, linear between the points (numpy stays out of the CLI)."""
    for (low, first), (high, last) in itertools.pairwise(points):
        if low <= level <= high:
            share = 0.0 if high == low else (level - low) / (high - low)
            return first + timedelta(days=round(share * (last - first).days))
    return points[-1][1]


def _spread(minor: int, points: Quantiles, start: date) -> list[tuple[date, int]]:
    """``minor`` units in ``SLICES`` equal shares at the distribution's quantiles, exactly.

    Shares falling before ``start`` land on it: the money is owed now.
    """
    each, extra = divmod(minor, SLICES)
    units: defaultdict[date, int] = defaultdict(int)
    for rank, k in enumerate(_NEAREST_MEDIAN):
        day = max(_at_level(points, (k + 0.5) / SLICES), start)
        units[day] += each + (1 if rank < extra else 0)
    return sorted((day, u) for day, u in units.items() if u)


def _amount(units: int, exponent: int) -> Decimal:
    return Decimal(units).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent))


@dataclass(frozen=True, slots=True)
class Balance:
    """What the forecast needs of an open invoice: the backtest builds these from history."""

    key: str
    currency: str
    amount: Decimal
    due_date: date

    @classmethod
    def of(cls, invoice: Invoice) -> Balance:
        # Due on receipt when the invoice names no due date.
        return cls(
            invoice.key, invoice.currency, invoice.balance, invoice.due_date or invoice.issue_date
        )


def build_forecast(
    invoices: Iterable[Invoice],
    estimates: Iterable[PayDateEstimate],
    *,
    start: date,
    days: int = 90,
    scenarios: Sequence[Scenario | str] = (),
) -> Forecast:
    """The forecast of every receivable invoice from ``start`` (today) for ``days`` days."""
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    unique: dict[str, Scenario] = {}
    for given in scenarios:
        scenario = given if isinstance(given, Scenario) else parse_scenario(given)
        unique.setdefault(scenario.label, scenario)
    parsed = tuple(unique.values())
    open_invoices = sorted((i for i in invoices if i.is_receivable), key=lambda i: i.key)
    delays: dict[str, dict[str, int]] = {
        s.label: {i.key: s.delay_days for i in s.select(open_invoices)} for s in parsed
    }
    return forecast_balances(
        [Balance.of(i) for i in open_invoices],
        estimates,
        start=start,
        days=days,
        scenarios=parsed,
        delays=delays,
    )


def forecast_balances(
    balances: Sequence[Balance],
    estimates: Iterable[PayDateEstimate],
    *,
    start: date,
    days: int,
    scenarios: Sequence[Scenario] = (),
    delays: Mapping[str, Mapping[str, int]] | None = None,
) -> Forecast:
    """The forecast of open balances; ``delays`` maps each scenario to its invoices' shifts."""
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    moves = delays or {}
    by_key = {e.invoice_key: e for e in estimates}
    end = start + timedelta(days=days)
    # currency -> series -> day -> minor units
    sums: dict[str, dict[str, defaultdict[date, int]]] = {}
    for balance in balances:
        series = sums.setdefault(balance.currency, {})
        minor = int(balance.amount.scaleb(minor_units(balance.currency)))
        due = max(balance.due_date, start)
        estimate = by_key.get(balance.key)
        points = [(0.0, due), (1.0, due)]
        if estimate is not None:
            points = quantiles(estimate, balance.due_date)
        plans = {EXPECTED: points, CONTRACTUAL: [(0.0, due), (1.0, due)]}
        for scenario in scenarios:
            shift = timedelta(days=moves.get(scenario.label, {}).get(balance.key, 0))
            plans[scenario.label] = [(level, day + shift) for level, day in points]
        for name, plan in plans.items():
            target = series.setdefault(name, defaultdict(int))
            for day, units in _spread(minor, plan, start):
                target[min(day, end)] += units
    currencies = {}
    names = [EXPECTED, CONTRACTUAL, *(s.label for s in scenarios)]
    dates = [start + timedelta(days=i) for i in range(days)]
    for code, series in sums.items():
        exp = minor_units(code)
        in_code = [b for b in balances if b.currency == code]
        currencies[code] = CurrencyForecast(
            currency=code,
            open_balance=sum((b.amount for b in in_code), Decimal(0)),
            invoices=len(in_code),
            series={n: [_amount(series[n][d], exp) for d in dates] for n in names},
            beyond={n: _amount(series[n][end], exp) for n in names},
            moved={
                s.label: sum(1 for b in in_code if b.key in moves.get(s.label, {}))
                for s in scenarios
            },
        )
    return Forecast(start, days, tuple(scenarios), currencies)


@dataclass(frozen=True, slots=True)
class Deviation:
    currency: str
    start: date
    end: date
    expected: Decimal
    actual: Decimal

    @property
    def absolute(self) -> Decimal:
        return self.actual - self.expected

    @property
    def percent(self) -> Decimal | None:
        """Actual minus expected, in percent of expected (None when nothing was expected)."""
        if self.expected == 0:
            return None
        return (100 * self.absolute / self.expected).quantize(Decimal("0.1"))

    def facts(self) -> dict[str, Any]:
        return {
            "forecast_deviation_pct": self.percent,
            "forecast_deviation": self.absolute,
            "forecast_expected": self.expected,
            "forecast_actual": self.actual,
            "currency": self.currency,
        }


def deviation(
    expected: Mapping[str, Mapping[date, Decimal]],
    payments: Iterable[Collection],
    start: date,
    end: date,
) -> list[Deviation]:
    """Per currency, expected vs collected over ``start..end`` (both included)."""
    exp: dict[str, Decimal] = defaultdict(Decimal)
    act: dict[str, Decimal] = defaultdict(Decimal)
    for code, by_day in expected.items():
        exp[code] += sum((v for d, v in by_day.items() if start <= d <= end), Decimal(0))
    for day, code, amount in payments:
        if start <= day <= end:
            act[code.upper()] += amount
    return [
        Deviation(code, start, end, exp[code], act[code]) for code in sorted(set(exp) | set(act))
    ]


def forecast_csv(forecast: Forecast) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["date", "currency", *forecast.series_names])
    for row in forecast.daily_rows():
        writer.writerow(
            [row["date"].isoformat(), row["currency"]]
            + [str(row[name]) for name in forecast.series_names]
        )
    return out.getvalue()


def read_forecast_csv(path: Path) -> dict[str, dict[date, Decimal]]:
    """The expected amounts of a forecast CSV written earlier, to compare with what came in."""
    result: dict[str, dict[date, Decimal]] = {}
    with path.open(newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            try:
                day = date.fromisoformat(row["date"])
                amount = Decimal(row[EXPECTED])
                code = row["currency"].upper()
            except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
                raise ValueError(f"{path}:{line}: not a forecast row ({exc})") from None
            result.setdefault(code, {})[day] = amount
    return result


def write_png(forecast: Forecast, path: Path) -> None:
    """Cumulative expected collections beside the contractual baseline and each scenario."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import StrMethodFormatter

    codes = sorted(forecast.currencies) or ["-"]
    figure = Figure(figsize=(10, 3.6 * len(codes)), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    days = np.array(forecast.dates, dtype="datetime64[D]")
    last = forecast.start + timedelta(days=forecast.days - 1)
    figure.suptitle(f"Cash forecast {forecast.start} to {last}: cumulative expected collections")
    for index, code in enumerate(codes):
        axes = figure.add_subplot(len(codes), 1, index + 1)
        cf = forecast.currencies.get(code)
        if cf is None:
            axes.text(0.5, 0.5, "no open invoices", ha="center", transform=axes.transAxes)
            continue
        for name in forecast.series_names:
            running = np.cumsum([float(amount) for amount in cf.series[name]])
            style = "--" if name == CONTRACTUAL else "-"
            width = 2.2 if name == EXPECTED else 1.4
            axes.plot(days, running, style, linewidth=width, label=name)
        axes.set_title(f"{code}: open balance {cf.open_balance:,} over {cf.invoices} invoices")
        axes.set_xlabel("Date")
        axes.set_ylabel(f"Cumulative collections ({code})")
        axes.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
        axes.grid(alpha=0.3)
        axes.legend(loc="lower right", fontsize="small")
    figure.savefig(path, format="png")
