from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from arbridge.cli.context import CliContext
from arbridge.cli.report import ReportData, StaticReportData, report_app
from arbridge.demo.generator import CompanyGenerator, with_payment
from arbridge.insight.forecast import GRAMMAR, Collection, Estimate
from arbridge.insight.reports import ARItem
from arbridge.model.invoice import Dispute, DisputeStatus, SourceVersion
from arbridge.model.money import Money
from tests.cli_runner import ContextRunner
from tests.insight_reports.factory import TODAY

runner = ContextRunner()
STAMP = datetime(2026, 3, 4, 9, tzinfo=UTC)


def _book() -> StaticReportData:
    generator = CompanyGenerator(7)
    items: list[ARItem] = []
    received: list[Collection] = []
    for index, (invoice, _) in enumerate(generator.open_invoices(150, today=TODAY, customers=15)):
        if index % 3 == 0 and invoice.issue_date < TODAY - timedelta(days=10):
            paid_on = invoice.issue_date + timedelta(days=index % 10)
            invoice = with_payment(invoice, invoice.balance, paid_on, STAMP)
            received.append((paid_on, invoice.currency, invoice.amount_paid))
        items.append(
            ARItem(
                invoice,
                collector=("alice", "bob", None)[index % 3],
                task_status="disputed" if index % 11 == 0 else "overdue",
                escalated=index % 7 == 0,
            )
        )
    estimates = [
        Estimate(
            i.invoice.key,
            (i.invoice.due_date or TODAY) + timedelta(days=3),
            (i.invoice.due_date or TODAY) + timedelta(days=15),
            0.4,
        )
        for i in items
        if i.invoice.is_receivable
    ]
    first = items[1].invoice
    dispute = Dispute(
        source=first.source,
        source_account=first.source_account,
        source_id="dp_1",
        invoice_id=first.source_id,
        amount=Money(amount=first.total, currency=first.currency),
        reason="product_unacceptable",
        status=DisputeStatus.OPEN,
        opened_at=STAMP,
        version=SourceVersion(updated_at=STAMP),
    )
    return StaticReportData(TODAY, items, estimates, [dispute], received)


@pytest.fixture
def data() -> Iterator[StaticReportData]:
    book = _book()
    runner.context = CliContext(report_data=lambda config: book)
    yield book
    runner.context = CliContext()


def _json(args: list[str]) -> dict[str, object]:
    result = runner.invoke(report_app, args)
    assert result.exit_code == 0, result.output
    loaded = json.loads(result.stdout)
    assert isinstance(loaded, dict)
    return loaded


def test_forecast_json_with_scenarios(data: StaticReportData) -> None:
    out = _json(
        [
            *("forecast", "--days", "30", "--json"),
            *("--what-if", "top:5 delay:5d", "--what-if", "all delay:7d"),
        ]
    )
    assert set(out) >= {"start", "days", "scenarios", "currencies", "daily"}
    assert out["start"] == "2026-03-04"
    assert out["days"] == 30
    currencies = out["currencies"]
    assert isinstance(currencies, dict)
    for block in currencies.values():
        assert set(block) >= {"open_balance", "in_horizon", "beyond", "weekly", "moved"}
        in_horizon, beyond = block["in_horizon"], block["beyond"]
        for name in ("expected", "contractual", "top:5 delay:5d", "all delay:7d"):
            assert Decimal(in_horizon[name]) + Decimal(beyond[name]) == Decimal(
                block["open_balance"]
            )


def test_forecast_table_csv_and_png(data: StaticReportData, tmp_path: Path) -> None:
    csv_path, png_path = tmp_path / "f.csv", tmp_path / "f.png"
    result = runner.invoke(
        report_app,
        [
            *("forecast", "--what-if", "customer:C0001 delay:30d"),
            *("--csv", str(csv_path), "--png", str(png_path)),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "expected collections per ISO week" in result.stdout
    assert f"wrote {csv_path}" in result.stdout.replace("\n", "")
    header = csv_path.read_text().splitlines()[0]
    assert header == "date,currency,expected,contractual,customer:C0001 delay:30d"
    assert png_path.read_bytes()[:4] == b"\x89PNG"


def test_forecast_invalid_what_if_exits_2(data: StaticReportData) -> None:
    result = runner.invoke(report_app, ["forecast", "--what-if", "top:x delay:5d"])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"invalid what-if 'top:x delay:5d': top needs a positive whole number, got 'top:x'; "
        f"accepted: {GRAMMAR}"
    )
    unknown = runner.invoke(report_app, ["forecast", "--what-if", "customer:Nobody delay:5d"])
    assert unknown.exit_code == 2
    assert "no open invoice of customer 'Nobody'" in unknown.stderr


def test_forecast_compare_reports_the_deviation(data: StaticReportData, tmp_path: Path) -> None:
    day = max(d for d, _, _ in data.received)
    currency = next(c for d, c, _ in data.received if d == day)
    actual = sum((a for d, c, a in data.received if d == day and c == currency), Decimal(0))
    earlier = tmp_path / "earlier.csv"
    earlier.write_text(
        f"date,currency,expected,contractual\n{day},{currency},{actual * 2},{actual}\n"
    )
    out = _json(["forecast", "--days", "7", "--compare", str(earlier), "--json"])
    deviation = out["deviation"]
    assert isinstance(deviation, list)
    facts = next(d for d in deviation if d["currency"] == currency)
    assert facts["forecast_deviation_pct"] == "-50.0"
    assert Decimal(facts["forecast_actual"]) == actual


def test_aging_json_csv_and_table(data: StaticReportData) -> None:
    out = _json(["aging", "--by", "collector", "--json"])
    assert out["by"] == "collector"
    rows = out["rows"]
    assert isinstance(rows, list)
    assert {r["group"] for r in rows} <= {"alice", "bob", "(unassigned)"}
    assert set(rows[0]) == {
        "group",
        "currency",
        "invoices",
        "current",
        "1-30",
        "31-60",
        "61-90",
        "90+",
        "total",
    }
    csv_result = runner.invoke(report_app, ["aging", "--csv"])
    assert csv_result.exit_code == 0
    assert csv_result.stdout.startswith("group,currency,invoices,current,1-30")
    table = runner.invoke(report_app, ["aging", "--by", "status"])
    assert table.exit_code == 0
    assert "Aging on 2026-03-04 by status" in table.stdout


def test_dso_collections_disputes_and_queue_json(data: StaticReportData) -> None:
    dso = _json(["dso", "--weeks", "4", "--json"])
    assert dso["method"] == "countback"
    assert set(dso) >= {"current", "trend", "period_days", "periods"}
    trend = dso["trend"]
    assert isinstance(trend, list)
    assert {p["week"] for p in trend} == {"2026-W07", "2026-W08", "2026-W09", "2026-W10"}
    collections = _json(["collections", "--by", "customer", "--target-rate", "0.8", "--json"])
    assert collections["target_collection_rate"] == "0.8"
    weeks = collections["weeks"]
    assert isinstance(weeks, list)
    assert set(weeks[0]) >= {"collection_rate", "avg_days_late", "escalated", "rate_on_target"}
    disputes = _json(["disputes", "--json"])
    totals = disputes["totals"]
    assert isinstance(totals, list)
    assert sum(t["count"] for t in totals) >= 1
    reasons = disputes["by_reason"]
    assert isinstance(reasons, list)
    assert "product_unacceptable" in {r["key"] for r in reasons}
    queue = _json(["queue", "--limit", "3", "--json"])
    entries = queue["entries"]
    assert isinstance(entries, list)
    assert {e["rank"] for e in entries} == {1, 2, 3}
    assert {e["priority"] for e in entries} == {"urgent"}


def test_tables_render(data: StaticReportData) -> None:
    for command in (["dso"], ["collections"], ["disputes"], ["queue"], ["forecast"]):
        result = runner.invoke(report_app, command)
        assert result.exit_code == 0, (command, result.output)
        assert result.stdout.strip()


def test_json_and_csv_together_is_an_input_error(data: StaticReportData) -> None:
    result = runner.invoke(report_app, ["aging", "--json", "--csv"])
    assert result.exit_code == 2
    assert "choose one of --json and --csv" in result.stderr


def test_bad_grouping_is_rejected(data: StaticReportData) -> None:
    assert runner.invoke(report_app, ["aging", "--by", "region"]).exit_code == 2


def test_without_a_provider() -> None:
    runner.context = CliContext()
    result = runner.invoke(report_app, ["aging"])
    assert result.exit_code == 1
    assert "no report data provider is configured" in result.stderr


def test_provider_gets_the_config_path(tmp_path: Path) -> None:
    seen: list[Path | None] = []
    config = tmp_path / "arbridge.yaml"

    def factory(path: Path | None) -> ReportData:
        seen.append(path)
        return StaticReportData(TODAY)

    result = runner.invoke(
        report_app, ["disputes", "--json", "-c", str(config)], obj=CliContext(report_data=factory)
    )
    assert result.exit_code == 0, result.output
    assert seen == [config]
    assert json.loads(result.stdout)["totals"] == []
