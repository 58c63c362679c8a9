from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from arbridge.insight.disputes import DisputeGroup, disputes_report
from arbridge.insight.forecast import Estimate
from arbridge.insight.queue import (
    age_factor,
    bucket_priority,
    queue_rank_bucket,
    rank_queue,
)
from arbridge.insight.reports import ARItem, to_json
from arbridge.model.invoice import Dispute, DisputeStatus, Source, SourceVersion
from arbridge.model.money import Money
from tests.insight_reports.factory import TODAY, make_invoice


def _dispute(
    source_id: str, invoice_id: str | None, amount: str, currency: str, reason: str, month: int
) -> Dispute:
    opened = datetime(2026, month, 5, 12, tzinfo=UTC)
    return Dispute(
        source=Source("stripe"),
        source_account="acct_1",
        source_id=source_id,
        invoice_id=invoice_id,
        amount=Money.of(amount, currency),
        reason=reason,
        status=DisputeStatus.OPEN if month > 1 else DisputeStatus.LOST,
        opened_at=opened,
        version=SourceVersion(updated_at=opened),
    )


def _stripe(number: str, customer: str, name: str, total: str, currency: str = "USD") -> ARItem:
    invoice = make_invoice(
        number,
        customer=customer,
        name=name,
        total=total,
        currency=currency,
        source=Source("stripe"),
        account="acct_1",
        issue=date(2026, 1, 20),
    )
    return ARItem(invoice)


def test_disputes_grouped_by_reason_customer_and_month() -> None:
    items = [
        _stripe("in_1", "cus_A", "Acme", "100.00"),
        # Marked by the collector and also a card dispute: counted once, as the card dispute.
        ARItem(_stripe("in_2", "cus_A", "Acme", "250.00").invoice, task_status="Disputed"),
        _stripe("in_3", "cus_B", "Globex", "80.00", currency="EUR"),
        ARItem(_stripe("in_4", "cus_B", "Globex", "40.00").invoice, task_status="disputed"),
        ARItem(_stripe("in_5", "cus_B", "Globex", "999.00").invoice, task_status="overdue"),
        ARItem(  # settled: no longer in dispute
            make_invoice("in_6", source=Source("stripe"), account="acct_1", paid=date(2026, 2, 1)),
            task_status="disputed",
        ),
    ]
    disputes = [
        _dispute("dp_1", "in_1", "100.00", "USD", "fraudulent", 2),
        _dispute("dp_2", "in_2", "250.00", "USD", "product_not_received", 2),
        _dispute("dp_3", "in_3", "80.00", "EUR", "fraudulent", 3),
        _dispute("dp_4", None, "30.00", "USD", "fraudulent", 1),
    ]
    report = disputes_report(disputes, items)
    assert len(report.cases) == 5
    assert report.by_reason == [
        DisputeGroup("fraudulent", "EUR", 1, Decimal("80.00")),
        DisputeGroup("product_not_received", "USD", 1, Decimal("250.00")),
        DisputeGroup("fraudulent", "USD", 2, Decimal("130.00")),
        DisputeGroup("collector", "USD", 1, Decimal("40.00")),
    ]
    assert report.by_customer == [
        DisputeGroup("Globex", "EUR", 1, Decimal("80.00")),
        DisputeGroup("Acme", "USD", 2, Decimal("350.00")),
        DisputeGroup("Globex", "USD", 1, Decimal("40.00")),
        DisputeGroup("(unknown)", "USD", 1, Decimal("30.00")),
    ]
    assert report.by_month == [
        DisputeGroup("2026-01", "USD", 2, Decimal("70.00")),  # dp_4 and the collector's in_4
        DisputeGroup("2026-02", "USD", 2, Decimal("350.00")),
        DisputeGroup("2026-03", "EUR", 1, Decimal("80.00")),
    ]
    assert report.by_status == [
        DisputeGroup("open", "EUR", 1, Decimal("80.00")),
        DisputeGroup("open", "USD", 3, Decimal("390.00")),
        DisputeGroup("lost", "USD", 1, Decimal("30.00")),
    ]
    assert report.totals == [
        DisputeGroup("(total)", "EUR", 1, Decimal("80.00")),
        DisputeGroup("(total)", "USD", 4, Decimal("420.00")),
    ]
    data = json.loads(to_json(report.to_dict()))
    assert set(data) >= {"by_reason", "by_customer", "by_month", "totals", "cases"}
    assert {r["by"] for r in report.records()} == {"reason", "customer", "month", "status", "total"}


@pytest.mark.parametrize(
    ("rank", "bucket"), [(1, 1), (10, 1), (11, 2), (50, 2), (51, 3), (200, 3), (201, 4), (9999, 4)]
)
def test_rank_buckets(rank: int, bucket: int) -> None:
    assert queue_rank_bucket(rank) == bucket


def test_bucket_priorities() -> None:
    assert [bucket_priority(b) for b in (1, 2, 3, 4)] == [1, 2, 3, 4]
    with pytest.raises(ValueError, match="rank must be at least 1"):
        queue_rank_bucket(0)
    with pytest.raises(ValueError, match="bucket must be 1 to 4"):
        bucket_priority(5)


def test_age_factor() -> None:
    assert [age_factor(d) for d in (-5, 0, 15, 30, 90, 400)] == [1.0, 1.0, 1.5, 2.0, 4.0, 4.0]


def _queue_book() -> tuple[list[ARItem], list[Estimate]]:
    a = make_invoice("a", total="1000.00", due=date(2026, 3, 20))
    b = make_invoice("b", total="100.00", due=date(2026, 2, 2))  # 30 days overdue
    c = make_invoice("c", total="500.00", due=date(2025, 11, 4))  # 120 days: factor capped at 4
    d = make_invoice("d", total="300.00", due=date(2026, 3, 20))  # no estimate, not due
    e = make_invoice("e", total="100.00", due=date(2026, 2, 17))  # no estimate, 15 days overdue
    j = make_invoice("j", currency="JPY", total="100000", due=date(2026, 3, 20))
    paid = make_invoice("p", total="5000.00", paid=date(2026, 3, 1))
    estimates = [
        Estimate(a.key, TODAY, TODAY, 0.2),
        Estimate(b.key, TODAY, TODAY, 0.9),
        Estimate(c.key, TODAY, TODAY, 1.0),
        Estimate(j.key, TODAY, TODAY, 0.1),
    ]
    return [ARItem(i) for i in (a, b, c, d, e, j, paid)], estimates


def test_queue_ranks_per_currency() -> None:
    items, estimates = _queue_book()
    entries = rank_queue([i.invoice for i in items], estimates, TODAY)
    ranked = [(e.currency, e.rank, e.number, round(e.score, 6)) for e in entries]
    assert ranked == [
        ("JPY", 1, "j", 10000.0),
        ("USD", 1, "c", 2000.0),  # 500 x 1.0 x 4
        ("USD", 2, "a", 200.0),  # 1000 x 0.2 x 1
        ("USD", 3, "b", 180.0),  # 100 x 0.9 x 2
        ("USD", 4, "d", 150.0),  # 300 x 0.5 (default) x 1
        ("USD", 5, "e", 150.0),  # 100 x 1.0 (overdue) x 1.5; tie: smaller balance
    ]
    assert all(e.bucket == 1 and e.priority == 1 for e in entries)


def test_queue_with_rates_ranks_the_whole_book() -> None:
    items, estimates = _queue_book()
    rates = {"USD": Decimal(1), "JPY": Decimal("0.0066")}
    entries = rank_queue([i.invoice for i in items], estimates, TODAY, rates=rates)
    assert [e.number for e in entries] == ["c", "a", "b", "d", "e", "j"]  # j: 66 x 0.1
    assert [e.rank for e in entries] == [1, 2, 3, 4, 5, 6]
    with pytest.raises(ValueError, match="no conversion rate for JPY"):
        rank_queue([i.invoice for i in items], estimates, TODAY, rates={"USD": Decimal(1)})


def test_queue_buckets_follow_ranks() -> None:
    invoices = [
        make_invoice(f"n{i}", total=f"{1000 - i}.00", due=date(2026, 3, 20)) for i in range(60)
    ]
    entries = rank_queue(invoices, [], TODAY)
    assert [e.number for e in entries[:3]] == ["n0", "n1", "n2"]
    assert [e.bucket for e in entries].count(1) == 10
    assert [e.bucket for e in entries].count(2) == 40
    assert entries[-1].bucket == 3
