"""The history, sandbox and insight commands, mounted the way ``arbridge.cli.main`` mounts them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from arbridge.cli.insight import history_app, insight_app, make_history_app, sandbox_history
from arbridge.insight.history import PaymentRecord

runner = CliRunner()


def mounted(history: typer.Typer = history_app) -> typer.Typer:
    app = typer.Typer()
    sandbox = typer.Typer()
    sandbox.command("history")(sandbox_history)
    app.add_typer(insight_app, name="insight")
    app.add_typer(history, name="history")
    app.add_typer(sandbox, name="sandbox")
    return app


@pytest.fixture(scope="module")
def history_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "history.csv"
    args = ["sandbox", "history", "--customers", "30", "--invoices", "600", "--out", str(out)]
    result = runner.invoke(mounted(), args)
    assert result.exit_code == 0, result.output
    assert "600 invoices of 30 customers" in result.output
    return out


def test_history_import_dry_run_summarises(history_csv: Path) -> None:
    result = runner.invoke(mounted(), ["history", "import", str(history_csv), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "600 invoices of 30 customers, issued 2024-01-01" in result.output
    assert "attributes: channel, region" in result.output
    assert "dry run: nothing stored" in result.output


def test_history_import_hands_records_to_the_store(history_csv: Path) -> None:
    stored: list[PaymentRecord] = []

    def store(records: list[PaymentRecord], config: Path | None) -> int:
        assert config is None
        stored.extend(records)
        return len(records)

    app = mounted(make_history_app(store))
    result = runner.invoke(app, ["history", "import", str(history_csv), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["stored"] == 600
    assert len(stored) == 600


def test_history_import_with_map_and_date_format(tmp_path: Path) -> None:
    path = tmp_path / "old.csv"
    path.write_text(
        "client,invoice_id,issue_date,due_date,amount,currency,paid_date,disputed\n"
        "C1,I1,05/01/2024,04/02/2024,10,USD,,false\n",
        encoding="utf-8",
    )
    args = ["history", "import", str(path), "--map", "customer_id=client"]
    result = runner.invoke(mounted(), [*args, "--date-format", "%d/%m/%Y", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["first_issue_date"] == "2024-01-05"
    bad = runner.invoke(mounted(), [*args[:3], "--map", "customer_id"])
    assert bad.exit_code == 2


def test_a_bad_file_lists_its_problems_and_fails(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "customer_id,invoice_id,issue_date,due_date,amount,currency,paid_date,disputed\n"
        "C1,I1,2024-01-05,2024-13-01,10,USD,,false\n",
        encoding="utf-8",
    )
    result = runner.invoke(mounted(), ["history", "import", str(path)])
    assert result.exit_code == 2
    assert f"{path}:2: due_date: not a date in format %Y-%m-%d: '2024-13-01'" in result.output


def test_backtest_prints_json_and_a_table(history_csv: Path) -> None:
    args = ["insight", "backtest", "--history", str(history_csv), "--split-date", "2025-01-01"]
    result = runner.invoke(mounted(), [*args, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert set(report) >= {"n_test", "cuts", "model", "baselines", "reliability"}
    assert "ci" in report["model"]
    table = runner.invoke(mounted(), args)
    assert table.exit_code == 0, table.output
    assert "kaplan_meier" in table.output


def test_backtest_rejects_a_bad_split_date(history_csv: Path) -> None:
    args = ["insight", "backtest", "--history", str(history_csv), "--split-date", "soon"]
    result = runner.invoke(mounted(), args)
    assert result.exit_code == 2
    assert "--split-date" in result.output
