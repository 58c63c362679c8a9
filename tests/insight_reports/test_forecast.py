from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from arbridge.errors import ScenarioError
from arbridge.insight.forecast import (
    CONTRACTUAL,
    EXPECTED,
    GRAMMAR,
    Estimate,
    _spread,
    build_forecast,
    deviation,
    estimates_from_predictions,
    forecast_csv,
    parse_scenario,
    quantiles,
    read_forecast_csv,
    write_png,
)
from arbridge.model.invoice import Invoice, InvoiceStatus
from tests.insight_reports.factory import TODAY, make_invoice

D = timedelta


def _at(forecast_day: date) -> int:
    return (forecast_day - TODAY).days


def _book() -> tuple[list[Invoice], list[Estimate]]:
    invoices = [
        make_invoice("A", customer="C1", name="Acme Ltd", total="1000.00", due=date(2026, 3, 10)),
        make_invoice("B", customer="C2", total="500.00", due=date(2026, 3, 12)),
        make_invoice("C", customer="C2", total="200.00", due=date(2026, 3, 20)),
        make_invoice("D", customer="C3", currency="EUR", total="300.00", due=date(2026, 3, 15)),
        make_invoice("P", paid=date(2026, 3, 1)),  # settled: not forecast
        make_invoice("V", status=InvoiceStatus.VOID, balance="0.00"),
    ]
    # Point estimates (P50 = P90) keep the arithmetic visible: each balance lands on one day.
    estimates = [Estimate(i.key, i.due_date, i.due_date, 0.3) for i in invoices if i.due_date]
    return invoices, estimates


def test_top_two_delay_moves_exactly_the_two_largest_balances() -> None:
    invoices, estimates = _book()
    result = build_forecast(invoices, estimates, start=TODAY, days=30, scenarios=["top:2 delay:5d"])
    usd = result.currencies["USD"]
    moved = usd.series["top:2 delay:5d"]
    expected = usd.series[EXPECTED]
    assert expected[_at(date(2026, 3, 10))] == Decimal("1000.00")
    assert expected[_at(date(2026, 3, 12))] == Decimal("500.00")
    assert moved[_at(date(2026, 3, 10))] == 0
    assert moved[_at(date(2026, 3, 15))] == Decimal("1000.00")
    assert moved[_at(date(2026, 3, 17))] == Decimal("500.00")
    assert moved[_at(date(2026, 3, 20))] == Decimal("200.00")  # C is third largest: untouched
    assert usd.moved == {"top:2 delay:5d": 2}
    for name in result.series_names:
        assert sum(usd.series[name], Decimal(0)) + usd.beyond[name] == Decimal("1700.00")
    # "Largest" is per currency: EUR's only invoice is its top one.
    eur = result.currencies["EUR"].series["top:2 delay:5d"]
    assert eur[_at(date(2026, 3, 20))] == Decimal("300.00")


def test_customer_and_all_scenarios() -> None:
    invoices, estimates = _book()
    result = build_forecast(
        invoices,
        estimates,
        start=TODAY,
        days=30,
        scenarios=["customer:ACME LTD delay:30d", 'customer:"c2" delay:1d', "all delay:-2d"],
    )
    usd = result.currencies["USD"]
    acme = usd.series["customer:ACME LTD delay:30d"]
    assert sum(acme, Decimal(0)) == Decimal("700.00")
    assert usd.beyond["customer:ACME LTD delay:30d"] == Decimal("1000.00")  # 2026-04-09 > horizon
    by_id = usd.series['customer:"c2" delay:1d']
    assert by_id[_at(date(2026, 3, 13))] == Decimal("500.00")
    assert by_id[_at(date(2026, 3, 21))] == Decimal("200.00")
    early = usd.series["all delay:-2d"]
    assert early[_at(date(2026, 3, 8))] == Decimal("1000.00")
    assert usd.moved == {
        "customer:ACME LTD delay:30d": 1,
        'customer:"c2" delay:1d': 2,
        "all delay:-2d": 3,
    }


def test_unknown_customer_is_an_error() -> None:
    invoices, estimates = _book()
    with pytest.raises(ScenarioError, match="no open invoice of customer 'Nobody'"):
        build_forecast(invoices, estimates, start=TODAY, scenarios=["customer:Nobody delay:3d"])


def test_contractual_baseline_and_overdue_and_missing_estimates() -> None:
    overdue = make_invoice("O", total="80.00", due=date(2026, 2, 1))
    no_due = make_invoice("N", total="20.00", due=None, issue=date(2026, 3, 1))
    later = make_invoice("L", total="50.00", due=date(2026, 3, 9))
    estimate = Estimate(later.key, date(2026, 3, 20), date(2026, 3, 20), 0.5)
    result = build_forecast([overdue, no_due, later], [estimate], start=TODAY, days=10)
    usd = result.currencies["USD"]
    assert usd.series[CONTRACTUAL][0] == Decimal("100.00")  # overdue and due-on-receipt: now
    assert usd.series[CONTRACTUAL][_at(date(2026, 3, 9))] == Decimal("50.00")
    # Without an estimate the expected date is the contractual one.
    assert usd.series[EXPECTED][0] == Decimal("100.00")
    assert usd.beyond[EXPECTED] == Decimal("50.00")
    assert usd.beyond[CONTRACTUAL] == Decimal("0.00")


def test_spread_follows_the_pay_date_distribution_exactly() -> None:
    day = date(2026, 3, 10)
    points = quantiles(Estimate("k", day, day + D(10), 0.5), day)
    # Without other hints the lower half mirrors the P50-P90 spread.
    assert points == [(0.0, day - D(10)), (0.5, day), (0.9, day + D(10)), (1.0, day + D(20))]
    spread = _spread(10000, points, day - D(30))
    assert sum(units for _, units in spread) == 10000
    # Half the money before P50 (the median), a tenth after P90.
    assert sum(u for d, u in spread if d < day) == 4500
    assert sum(u for d, u in spread if d <= day) == 5000
    assert sum(u for d, u in spread if d > day + D(10)) == 1000
    assert (spread[0][0], spread[-1][0]) == (day - D(10), day + D(17))
    # 3 cents: the leftover units stay next to the median.
    assert _spread(3, points, day - D(30)) == [(day - D(2), 1), (day, 1), (day + D(1), 1)]
    assert _spread(7, quantiles(Estimate("k", day, day, 0.5), day), day) == [(day, 7)]


def test_p_late_and_p_late_30_shape_the_tails() -> None:
    day = date(2026, 3, 10)
    # 70% paid by the due date (15 March), 95% within 30 days of it (14 April).
    points = quantiles(Estimate("k", day, day + D(10), 0.3, 0.05), day + D(5))
    assert points == [
        (0.0, day - D(10)),
        (0.5, day),
        (0.7, day + D(5)),
        (0.9, day + D(10)),
        (0.95, day + D(35)),
        (1.0, day + D(35)),
    ]
    # A hint that contradicts P50 and P90 (70% paid by a date before P50) is left out.
    contradicting = quantiles(Estimate("k", day, day + D(10), 0.3), day - D(2))
    assert contradicting == [(0.0, day - D(10)), (0.5, day), (0.9, day + D(10)), (1.0, day + D(20))]


def test_estimates_before_start_are_clamped_and_spread() -> None:
    invoice = make_invoice("S", total="100.00", due=date(2026, 3, 1))
    estimate = Estimate(invoice.key, date(2026, 3, 1), date(2026, 3, 8), 0.9)
    result = build_forecast([invoice], [estimate], start=TODAY, days=10)
    series = result.currencies["USD"].series[EXPECTED]
    # Slices before today (4 March) are owed now; the rest follow the curve up to 13 March.
    assert series[0] == Decimal("70.00")
    assert sum(series, Decimal(0)) == Decimal("100.00")
    assert series[_at(date(2026, 3, 13))] == Decimal("5.00")


def test_currencies_are_never_mixed() -> None:
    invoices = [
        make_invoice("U1", total="10.50"),
        make_invoice("U2", total="20.25", due=date(2026, 3, 6)),
        make_invoice("E1", currency="EUR", total="99.99"),
        make_invoice("J1", currency="JPY", total="15000"),
    ]
    result = build_forecast(invoices, [], start=TODAY, days=14, scenarios=["all delay:3d"])
    assert set(result.currencies) == {"USD", "EUR", "JPY"}
    for code, total in (("USD", "30.75"), ("EUR", "99.99"), ("JPY", "15000")):
        cf = result.currencies[code]
        assert cf.open_balance == Decimal(total)
        for name in result.series_names:
            assert sum(cf.series[name], Decimal(0)) + cf.beyond[name] == Decimal(total)
    assert result.currencies["JPY"].series[EXPECTED][0] == Decimal("15000")
    for week in result.weekly("USD"):
        assert week[EXPECTED] <= Decimal("30.75")
    rows = result.daily_rows()
    assert len(rows) == 14 * 3
    assert {r["currency"] for r in rows if r["date"] == TODAY} == {"EUR", "JPY", "USD"}


def test_weekly_uses_iso_weeks() -> None:
    invoices, estimates = _book()
    weeks = build_forecast(invoices, estimates, start=TODAY, days=14).weekly("USD")
    assert [(w["week"], w["from"], w["to"]) for w in weeks] == [
        ("2026-W10", date(2026, 3, 4), date(2026, 3, 8)),
        ("2026-W11", date(2026, 3, 9), date(2026, 3, 15)),
        ("2026-W12", date(2026, 3, 16), date(2026, 3, 17)),
    ]
    assert [w[EXPECTED] for w in weeks] == [Decimal(0), Decimal("1500.00"), Decimal(0)]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "it is empty"),
        ("top:10", "missing 'delay:Nd'"),
        ("top:x delay:5d", "top needs a positive whole number, got 'top:x'"),
        ("top:0 delay:5d", "top needs a positive whole number, got 'top:0'"),
        (
            "top:3 delay:5",
            "delay must be a whole number of days such as 'delay:5d', got 'delay:5'",
        ),
        (
            "all delay:1w",
            "delay must be a whole number of days such as 'delay:5d', got 'delay:1w'",
        ),
        ("delay:5d", "missing which invoices to delay (top:N, customer:ID_OR_NAME or all)"),
        ("customer: delay:5d", "customer needs an id or a name, got 'customer:'"),
        ("bogus:1 delay:2d", "unknown selector 'bogus:1'"),
        ("all delay:1d delay:2d", "'delay:' appears more than once"),
        ("all delay:4000d", "delay must be at most 3650 days, got 4000"),
    ],
)
def test_scenario_errors(text: str, problem: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text)
    assert caught.value.problem == problem
    assert str(caught.value) == f"invalid what-if {text!r}: {problem}; accepted: {GRAMMAR}"


def test_scenario_message_names_the_grammar() -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario("top:ten delay:5d")
    assert str(caught.value) == (
        "invalid what-if 'top:ten delay:5d': top needs a positive whole number, got 'top:ten'; "
        "accepted: 'top:N delay:Nd', 'customer:ID_OR_NAME delay:Nd' or 'all delay:Nd' "
        "(N a whole number; e.g. 'top:10 delay:5d')"
    )


def test_scenario_parsing() -> None:
    top = parse_scenario("  delay:5d   top:10 ")
    assert (top.label, top.kind, top.count, top.delay_days) == ("delay:5d top:10", "top", 10, 5)
    named = parse_scenario("customer:Pied Piper Ltd DELAY:30D")
    assert (named.kind, named.customer, named.delay_days) == ("customer", "Pied Piper Ltd", 30)
    assert parse_scenario("ALL delay:-7d").delay_days == -7


def test_deviation_per_currency() -> None:
    d1, d2, d3 = date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 9)
    expected = {"USD": {d1: Decimal("100.00"), d2: Decimal("50.00"), d3: Decimal("999.00")}}
    payments = [
        (d1, "USD", Decimal("90.00")),
        (d2, "usd", Decimal("30.00")),
        (d3, "USD", Decimal("500.00")),  # outside the window
        (d1, "EUR", Decimal("10.00")),
    ]
    usd, eur = sorted(deviation(expected, payments, d1, d2), key=lambda d: d.currency != "USD")
    assert (usd.expected, usd.actual, usd.absolute, usd.percent) == (
        Decimal("150.00"),
        Decimal("120.00"),
        Decimal("-30.00"),
        Decimal("-20.0"),
    )
    assert usd.facts()["forecast_deviation_pct"] == Decimal("-20.0")
    assert (eur.currency, eur.expected, eur.actual) == ("EUR", Decimal(0), Decimal("10.00"))
    assert eur.percent is None


def test_csv_content_and_round_trip(tmp_path: Path) -> None:
    invoices = [
        make_invoice("A", total="100.00", due=date(2026, 3, 5)),
        make_invoice("E", currency="EUR", total="40.00", due=date(2026, 3, 4)),
    ]
    estimates = [Estimate(invoices[0].key, date(2026, 3, 5), date(2026, 3, 5), 0.5)]
    result = build_forecast(invoices, estimates, start=TODAY, days=3, scenarios=["all delay:1d"])
    assert forecast_csv(result) == (
        "date,currency,expected,contractual,all delay:1d\n"
        "2026-03-04,EUR,40.00,40.00,0.00\n"
        "2026-03-04,USD,0.00,0.00,0.00\n"
        "2026-03-05,EUR,0.00,0.00,40.00\n"
        "2026-03-05,USD,100.00,100.00,0.00\n"
        "2026-03-06,EUR,0.00,0.00,0.00\n"
        "2026-03-06,USD,0.00,0.00,100.00\n"
    )
    path = tmp_path / "forecast.csv"
    path.write_text(forecast_csv(result))
    assert read_forecast_csv(path) == result.expected_by_date()


def test_read_forecast_csv_rejects_other_files(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("when,amount\n2026-03-01,5\n")
    with pytest.raises(ValueError, match=r"other\.csv:2: not a forecast row"):
        read_forecast_csv(path)


def test_png_is_written(tmp_path: Path) -> None:
    invoices, estimates = _book()
    result = build_forecast(invoices, estimates, start=TODAY, scenarios=["top:1 delay:10d"])
    path = tmp_path / "forecast.png"
    write_png(result, path)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 20_000


def test_estimates_from_predictions() -> None:
    @dataclass
    class Prediction:
        invoice_id: str
        predicted_pay_date: date
        p90_pay_date: date
        p_late: float
        p_late_30: float

    made = estimates_from_predictions([Prediction("k", TODAY, TODAY + D(9), 0.25, 0.1)])
    assert made == [Estimate("k", TODAY, TODAY + D(9), 0.25, 0.1)]


def test_to_dict_totals() -> None:
    invoices, estimates = _book()
    data = build_forecast(invoices, estimates, start=TODAY, days=7).to_dict()
    usd = data["currencies"]["USD"]
    assert usd["open_balance"] == Decimal("1700.00")
    assert usd["in_horizon"][EXPECTED] == Decimal("1000.00")
    assert usd["beyond"][EXPECTED] == Decimal("700.00")
    assert len(data["daily"]) == 7 * 2


def test_days_must_be_positive() -> None:
    with pytest.raises(ValueError, match="days must be at least 1"):
        build_forecast([], [], start=TODAY, days=0)


def test_worked_example_weeks() -> None:
    invoices, estimates = _book()
    result = build_forecast(invoices, estimates, start=TODAY, days=28, scenarios=["top:2 delay:5d"])
    weeks = {w["week"]: w for w in result.weekly("USD")}
    assert (weeks["2026-W11"][EXPECTED], weeks["2026-W12"][EXPECTED]) == (
        Decimal("1500.00"),
        Decimal("200.00"),
    )
    assert (weeks["2026-W11"]["top:2 delay:5d"], weeks["2026-W12"]["top:2 delay:5d"]) == (
        Decimal("1000.00"),
        Decimal("700.00"),
    )
