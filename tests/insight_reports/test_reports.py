from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from rich.console import Console

from arbridge.insight.reports import (
    ARItem,
    Grouping,
    aging,
    collections,
    countback,
    dso,
    iso_weeks,
    outstanding_on,
    to_csv,
    to_json,
    to_table,
)
from arbridge.model.invoice import AgingBucket, InvoiceStatus
from tests.insight_reports.factory import TODAY, make_invoice


def _aging_items() -> list[ARItem]:
    return [
        ARItem(make_invoice("1", total="100.00", due=date(2026, 3, 10)), collector="alice"),
        ARItem(make_invoice("2", total="200.00", due=date(2026, 3, 1)), collector="alice"),
        ARItem(
            make_invoice("3", total="900.00", balance="300.00", due=date(2026, 1, 15)),
            collector="bob",
            task_status="overdue",
        ),
        ARItem(make_invoice("4", customer="C2", total="400.00", due=date(2025, 12, 20))),
        ARItem(make_invoice("5", customer="C2", total="500.00", due=date(2025, 11, 1))),
        ARItem(make_invoice("6", total="999.00", paid=date(2026, 2, 1))),  # paid: not aged
        ARItem(make_invoice("7", currency="EUR", total="70.00", due=date(2026, 2, 20))),
    ]


def test_aging_by_customer_per_currency() -> None:
    report = aging(_aging_items(), TODAY)
    rows = {(r.group, r.currency): r for r in report.rows}
    c1 = rows["Customer C1", "USD"]
    assert c1.invoices == 3
    assert c1.buckets == {
        AgingBucket.CURRENT: Decimal("100.00"),
        AgingBucket.D1_30: Decimal("200.00"),
        AgingBucket.D31_60: Decimal("300.00"),
        AgingBucket.D61_90: Decimal("0.00"),
        AgingBucket.D90_PLUS: Decimal("0.00"),
    }
    c2 = rows["Customer C2", "USD"]
    assert c2.buckets[AgingBucket.D61_90] == Decimal("400.00")
    assert c2.buckets[AgingBucket.D90_PLUS] == Decimal("500.00")
    assert rows["Customer C1", "EUR"].buckets[AgingBucket.D1_30] == Decimal("70.00")
    totals = {t.currency: t.total for t in report.totals}
    assert totals == {"USD": Decimal("1500.00"), "EUR": Decimal("70.00")}
    # Largest total first within a currency.
    assert [(r.group, r.currency) for r in report.rows] == [
        ("Customer C1", "EUR"),
        ("Customer C2", "USD"),
        ("Customer C1", "USD"),
    ]


def test_aging_by_collector_and_status() -> None:
    by_collector = aging(_aging_items(), TODAY, Grouping.COLLECTOR)
    totals = {(r.group, r.currency): r.total for r in by_collector.rows}
    assert totals == {
        ("alice", "USD"): Decimal("300.00"),
        ("bob", "USD"): Decimal("300.00"),
        ("(unassigned)", "USD"): Decimal("900.00"),
        ("(unassigned)", "EUR"): Decimal("70.00"),
    }
    by_status = aging(_aging_items(), TODAY, Grouping.STATUS)
    assert {r.group for r in by_status.rows} == {"overdue", "(no task)"}


def test_countback_arithmetic() -> None:
    assert countback(Decimal(150), [Decimal(100), Decimal(100)], 30) == (Decimal("45.0"), False)
    assert countback(Decimal(50), [Decimal(200)], 30) == (Decimal("7.5"), False)
    assert countback(Decimal(0), [Decimal(200)], 30) == (Decimal("0.0"), False)
    # A period without sales counts whole.
    assert countback(Decimal(100), [Decimal(0), Decimal(200)], 30) == (Decimal("45.0"), False)
    assert countback(Decimal(500), [Decimal(100), Decimal(100)], 30) == (Decimal("60.0"), True)


def _dso_items() -> list[ARItem]:
    return [
        # Period 0 (2026-02-03 .. 2026-03-04) sales: X 100 + Y 100 = 200.
        ARItem(make_invoice("X", issue=date(2026, 3, 1), total="100.00")),
        ARItem(make_invoice("Y", issue=date(2026, 2, 10), total="100.00", paid=date(2026, 3, 1))),
        # Period 1 (2026-01-04 .. 2026-02-02) sales: Z 200 + W 100 = 300.
        ARItem(make_invoice("Z", issue=date(2026, 1, 20), total="200.00")),
        ARItem(make_invoice("W", issue=date(2026, 1, 15), total="100.00", paid=date(2026, 1, 30))),
        # Not sales: a draft and a void invoice.
        ARItem(make_invoice("DR", issue=date(2026, 3, 2), status=InvoiceStatus.DRAFT)),
        ARItem(
            make_invoice("VO", issue=date(2026, 3, 2), status=InvoiceStatus.VOID, balance="0.00")
        ),
        ARItem(make_invoice("EU", currency="EUR", issue=date(2026, 2, 22), total="100.00")),
    ]


def test_dso_countback_hand_computed() -> None:
    report = dso(_dso_items(), TODAY, period_days=30, periods=12, weeks=3)
    current = {p.currency: p for p in report.current}
    # AR = X 100 + Z 200 = 300; 300 > 200 (period 0): 30 days, 100 left; 100 / 300 of period 1.
    assert current["USD"].receivables == Decimal("300.00")
    assert current["USD"].dso == Decimal("40.0")
    assert current["EUR"].dso == Decimal("30.0")
    trend = [(p.week, p.as_of, p.dso) for p in report.trend if p.currency == "USD"]
    # On Sunday 22 February: X not issued, Y still owed; AR 300, period sales 100 then 300.
    assert trend == [
        ("2026-W08", date(2026, 2, 22), Decimal("50.0")),
        ("2026-W09", date(2026, 3, 1), Decimal("40.0")),
        ("2026-W10", TODAY, Decimal("40.0")),
    ]


def test_dso_capped_and_grouped() -> None:
    report = dso(_dso_items(), TODAY, period_days=30, periods=1, weeks=1)
    usd = next(p for p in report.current if p.currency == "USD")
    assert (usd.dso, usd.capped) == (Decimal("30.0"), True)
    by_customer = dso(_dso_items(), TODAY, weeks=1, by=Grouping.CUSTOMER)
    assert {(p.group, p.currency) for p in by_customer.current} == {
        ("Customer C1", "USD"),
        ("Customer C1", "EUR"),
    }
    with pytest.raises(ValueError, match="at least 1"):
        dso([], TODAY, weeks=0)


def test_outstanding_on_a_past_day() -> None:
    paid = make_invoice("P", issue=date(2026, 2, 1), total="80.00", paid=date(2026, 3, 1))
    assert outstanding_on(paid, date(2026, 1, 31)) == 0  # not issued yet
    assert outstanding_on(paid, date(2026, 2, 28)) == Decimal("80.00")
    assert outstanding_on(paid, date(2026, 3, 1)) == 0
    partial = make_invoice("Q", total="80.00", balance="30.00")
    assert outstanding_on(partial, TODAY) == Decimal("30.00")


def _collection_items() -> list[ARItem]:
    return [
        ARItem(make_invoice("P1", total="100.00", due=date(2026, 2, 20), paid=date(2026, 2, 25))),
        ARItem(make_invoice("P2", total="300.00", due=date(2026, 2, 28), paid=date(2026, 2, 26))),
        ARItem(make_invoice("O1", total="200.00", due=date(2026, 2, 15)), escalated=True),
        ARItem(make_invoice("O2", total="400.00", due=date(2026, 3, 10))),
        ARItem(make_invoice("P3", total="50.00", due=date(2026, 2, 27), paid=date(2026, 3, 3))),
    ]


def test_collections_per_week() -> None:
    report = collections(
        _collection_items(),
        TODAY,
        weeks=2,
        target_collection_rate=Decimal("0.6"),
        target_days_late=Decimal("3"),
    )
    w09, w10 = report.rows
    assert (w09.week, w09.start, w09.end) == ("2026-W09", date(2026, 2, 23), date(2026, 3, 1))
    # Collected P1 + P2 = 400; due and unpaid on 1 March: O1 200 + P3 50 (paid only on 3 March).
    assert (w09.collected, w09.outstanding_due) == (Decimal("400.00"), Decimal("250.00"))
    assert w09.collection_rate == Decimal("0.6154")
    assert w09.avg_days_late == Decimal("2.5")  # 5 days late and early (0)
    assert (w09.in_follow_up, w09.escalated, w09.resolved) == (2, 1, 2)
    assert (w09.rate_on_target, w09.days_late_on_target) == (True, True)
    assert (w10.start, w10.end) == (date(2026, 3, 2), TODAY)
    assert (w10.collected, w10.outstanding_due) == (Decimal("50.00"), Decimal("200.00"))
    assert w10.collection_rate == Decimal("0.2000")
    assert w10.avg_days_late == Decimal("4.0")
    assert (w10.in_follow_up, w10.escalated, w10.resolved) == (1, 1, 1)
    assert (w10.rate_on_target, w10.days_late_on_target) == (False, False)


def test_collections_without_activity_or_targets() -> None:
    quiet = [ARItem(make_invoice("N", total="10.00", due=date(2026, 4, 1)))]
    (row,) = collections(quiet, TODAY, weeks=1).rows
    assert (row.collected, row.outstanding_due) == (Decimal("0.00"), Decimal("0.00"))
    assert row.collection_rate is None
    assert (row.avg_days_late, row.rate_on_target, row.days_late_on_target) == (None, None, None)


def test_iso_weeks() -> None:
    assert iso_weeks(date(2026, 1, 1), 2) == [
        ("2025-W52", date(2025, 12, 22), date(2025, 12, 28)),
        ("2026-W01", date(2025, 12, 29), date(2026, 1, 1)),
    ]


def test_renderers() -> None:
    report = aging(_aging_items(), TODAY)
    records = report.records()
    text = to_csv(records)
    lines = text.splitlines()
    assert lines[0] == "group,currency,invoices,current,1-30,31-60,61-90,90+,total"
    assert "Customer C1,USD,3,100.00,200.00,300.00,0.00,0.00,600.00" in lines
    assert lines[-2:] == [
        "(total),EUR,1,0.00,70.00,0.00,0.00,0.00,70.00",
        "(total),USD,5,100.00,200.00,300.00,400.00,500.00,1500.00",
    ]
    data = json.loads(to_json(report.to_dict()))
    assert data["report"] == "aging"
    assert data["as_of"] == "2026-03-04"
    assert [t["total"] for t in data["totals"]] == ["70.00", "1500.00"]
    console = Console(width=160, record=True)
    console.print(to_table("Aging", records))
    assert "Customer C2" in console.export_text()
    assert to_csv([]) == ""
    assert to_table("empty", []).caption == "nothing to report"


def test_collections_csv_formats_booleans_and_blanks() -> None:
    report = collections(_collection_items(), TODAY, weeks=1, target_days_late=Decimal(5))
    header, row = to_csv(report.records()).splitlines()
    assert header.endswith("resolved,rate_on_target,days_late_on_target")
    assert row.endswith(",1,,yes")
