"""The command line over a real emulator: sync --once, status, db upgrade, dry runs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from arbridge.cli.main import app as cli
from arbridge.clock import FakeClock
from arbridge.demo.generator import CompanyGenerator
from arbridge.ports.connector import discover
from arbridge.runtime.app import App
from arbridge.settings import load_settings
from arbridge.store.migrate import head_revision
from arbridge.testing.loopback import LoopbackServer

runner = CliRunner()


@pytest.fixture
def configured(tmp_path: Path) -> Iterator[tuple[Path, Any]]:
    emulator = discover()["clickup"].emulator(rate_limit=None)
    with LoopbackServer(emulator.app) as server:
        path = tmp_path / "config.yaml"
        clickup = {**emulator.config(server.base_url), "token": "${ARB_TEST_TOKEN}"}
        clickup["requests_per_minute"] = 100_000
        path.write_text(
            yaml.safe_dump({"database_url": f"sqlite:///{tmp_path / 'cli.db'}", "clickup": clickup})
        )
        yield path, emulator


def seed(path: Path, clock: FakeClock, count: int) -> None:
    """Store invoices without sending anything, as a source backfill would."""
    app = App.from_settings(load_settings(path), clock)
    for invoice, customer in CompanyGenerator(seed=5).open_invoices(
        count, today=clock.now().date(), customers=5
    ):
        app.reconciler.upsert(invoice, customer)
    app.close()


def test_sync_once_applies_then_sends_nothing_and_status_reports(
    configured: tuple[Path, Any], clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, emulator = configured
    monkeypatch.setenv("ARB_TEST_TOKEN", "pk_demo_token")
    seed(path, clock, 12)
    status = runner.invoke(cli, ["status", "--json", "--config", str(path)])
    assert status.exit_code == 0, status.output
    report = json.loads(status.stdout)
    assert (report["invoices"], report["tasks"], report["outbox"]["depth"]) == (12, 0, 12)

    first = runner.invoke(cli, ["sync", "--once", "--json", "--config", str(path)])
    assert first.exit_code == 0, first.output
    # The stored invoices were dated months ago: besides 12 creates, the real clock has made
    # some overdue since, so their status and aging move too.
    assert json.loads(first.stdout)["applied"] >= 12
    assert emulator.stats()["requests"]["POST /list/{list_id}/task"] == 12
    before = emulator.stats()["total"]
    second = runner.invoke(cli, ["sync", "--once", "--json", "--config", str(path)])
    assert json.loads(second.stdout) | {"seconds": 0} == {
        "queued": 0,
        "applied": 0,
        "pending": 0,
        "failing": 0,
        "seconds": 0,
        "dry_run": False,
    }
    # Start-up reads the list, its fields and the team; the sync itself sends nothing.
    assert emulator.stats()["total"] - before == 3

    status = runner.invoke(cli, ["status", "--config", str(path)])
    assert "invoices: 12   tasks: 12" in status.stdout
    assert "outbox: 0 pending" in status.stdout
    assert "cursor engine.last_resync" in status.output


def test_status_shows_failing_operations_without_the_token(
    configured: tuple[Path, Any], clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, emulator = configured
    monkeypatch.setenv("ARB_TEST_TOKEN", "pk_demo_token")
    seed(path, clock, 2)
    app = App.from_settings(load_settings(path), clock)
    emulator.app.faults.configure({"error_rate": 1.0})
    try:
        report = app.sync_once()
    finally:
        emulator.app.faults.configure({"error_rate": 0.0})
        app.close()
    assert (report.applied, report.failing) == (0, 2)
    status = runner.invoke(cli, ["status", "--config", str(path)])
    assert status.stdout.count("! create_task") == 2
    assert "pk_demo_token" not in status.output


def test_dry_run_sends_and_stores_nothing(
    configured: tuple[Path, Any], clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, emulator = configured
    monkeypatch.setenv("ARB_TEST_TOKEN", "pk_demo_token")
    seed(path, clock, 3)
    before = emulator.stats()["requests"].get("POST /list/{list_id}/task", 0)
    result = runner.invoke(cli, ["sync", "--once", "--dry-run", "--json", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["pending"] == 3
    assert emulator.stats()["requests"].get("POST /list/{list_id}/task", 0) == before


def test_db_upgrade_and_missing_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ARBRIDGE_CONFIG", raising=False)
    monkeypatch.setenv("ARBRIDGE_CLICKUP__TOKEN", "pk_x_123456")
    monkeypatch.setenv("ARBRIDGE_CLICKUP__LIST_ID", "1")
    monkeypatch.setenv("ARBRIDGE_DATABASE_URL", f"sqlite:///{tmp_path / 'up.db'}")
    result = runner.invoke(cli, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert f"database at revision {head_revision()}" in result.output
    monkeypatch.setenv("ARBRIDGE_DATABASE_URL", "mysql://nowhere/x")
    result = runner.invoke(cli, ["db", "upgrade"])
    assert result.exit_code == 2
    assert "database_url: unsupported database 'mysql'" in result.output


def test_sync_without_once_explains_itself() -> None:
    result = runner.invoke(cli, ["sync"])
    assert result.exit_code == 2
    assert "arbridge run" in result.output


def test_history_import_stores_the_file_or_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arbridge.loop.payment_history import load_records
    from arbridge.store.db import make_engine, transaction

    monkeypatch.delenv("ARBRIDGE_CONFIG", raising=False)
    monkeypatch.setenv("ARBRIDGE_CLICKUP__TOKEN", "pk_x_123456")
    monkeypatch.setenv("ARBRIDGE_CLICKUP__LIST_ID", "1")
    url = f"sqlite:///{tmp_path / 'hist.db'}"
    monkeypatch.setenv("ARBRIDGE_DATABASE_URL", url)
    good = tmp_path / "good.csv"
    result = runner.invoke(
        cli, ["sandbox", "history", "--customers", "5", "--invoices", "40", "--out", str(good)]
    )
    assert result.exit_code == 0, result.output
    bad = tmp_path / "bad.csv"
    lines = good.read_text().splitlines()
    lines[3] = lines[3].replace(lines[3].split(",")[2], "2024-13-45", 1)
    bad.write_text("\n".join(lines) + "\n")

    refused = runner.invoke(cli, ["history", "import", str(bad)])
    assert refused.exit_code == 2
    assert f"{bad}:4: issue_date" in refused.output
    assert not (tmp_path / "hist.db").exists()

    stored = runner.invoke(cli, ["history", "import", str(good), "--json"])
    assert stored.exit_code == 0, stored.output
    assert json.loads(stored.stdout)["stored"] == 40
    again = runner.invoke(cli, ["history", "import", str(good), "--json"])
    assert json.loads(again.stdout)["stored"] == 40
    engine = make_engine(url)
    with transaction(engine) as session:
        assert len(load_records(session)) == 40
    engine.dispose()


def test_the_example_config_loads_and_documents_every_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from arbridge.settings import settings_class

    monkeypatch.setenv("CLICKUP_TOKEN", "pk_example_123456")
    example = Path(__file__).resolve().parents[2] / "config.example.yaml"
    settings = load_settings(example)
    assert settings.clickup.token.get_secret_value() == "pk_example_123456"
    text = example.read_text()
    for section, model in settings_class().model_fields.items():
        assert f"{section}:" in text
        annotation = model.annotation
        # Optional sections (quickbooks, stripe) are documented commented out.
        for member in getattr(annotation, "__args__", ()):
            if hasattr(member, "model_fields"):
                annotation = member
        nested = getattr(annotation, "model_fields", {})
        for key in nested:
            assert f"  {key}:" in text, f"config.example.yaml does not document {section}.{key}"


def test_reports_read_the_store(
    configured: tuple[Path, Any], clock: FakeClock, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path, _ = configured
    monkeypatch.setenv("ARB_TEST_TOKEN", "pk_demo_token")
    seed(path, clock, 15)
    aging = runner.invoke(cli, ["report", "aging", "--json", "--config", str(path)])
    assert aging.exit_code == 0, aging.output
    assert "90+" in aging.stdout
    png = tmp_path / "forecast.png"
    forecast = runner.invoke(
        cli,
        [
            "report",
            "forecast",
            "--json",
            "--what-if",
            "all delay:7d",
            "--png",
            str(png),
            "--config",
            str(path),
        ],
    )
    assert forecast.exit_code == 0, forecast.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = runner.invoke(
        cli, ["report", "forecast", "--what-if", "everyone late", "--config", str(path)]
    )
    assert bad.exit_code == 2


def test_rules_explain_plan_and_status_over_the_store(
    configured: tuple[Path, Any], clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = configured
    monkeypatch.setenv("ARB_TEST_TOKEN", "pk_demo_token")
    rules_dir = Path(__file__).resolve().parents[2] / "rules"
    monkeypatch.setenv("ARBRIDGE_RULES__DIRECTORY", str(rules_dir))
    monkeypatch.setenv("ARBRIDGE_RULES__PACKS", '["dunning"]')
    seed(path, clock, 6)
    plan = runner.invoke(cli, ["rules", "plan", "--json", "--config", str(path)])
    assert plan.exit_code == 0, plan.output
    planned = json.loads(plan.stdout)
    assert planned
    with transaction_engine(path) as keys:
        key = keys[0]
    # A fixed business-day morning after the packs' 09:00 schedule, whatever the wall clock says.
    explain = runner.invoke(
        cli,
        [
            "rules",
            "explain",
            "dunning-firm-3",
            key,
            "--at",
            "2026-04-01T10:00:00+00:00",
            "--config",
            str(path),
        ],
    )
    assert explain.exit_code == 0, explain.output
    assert "invoice.days_overdue" in explain.stdout
    status = runner.invoke(cli, ["status", "--json", "--config", str(path)])
    assert json.loads(status.stdout)["rules"] == {"active": 7, "problems": []}  # dunning.yaml


@contextmanager
def transaction_engine(path: Path) -> Iterator[list[str]]:
    from arbridge.store import repo
    from arbridge.store.db import make_engine, transaction

    engine = make_engine(load_settings(path).database_url)
    with transaction(engine) as session:
        yield repo.invoice_keys(session)
    engine.dispose()
