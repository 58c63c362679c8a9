"""Plugging in is cheap: a new source (CSV files in a folder) and a new task sink, registered
through entry points alone, run through the loop with no engine edit.

The two connectors are single modules in ``tests/plugins/packages``; the test writes a
``*.dist-info`` with their ``entry_points.txt`` into a temporary directory on ``sys.path``,
which is all ``importlib.metadata`` needs to find them, as it would an installed package.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from sqlmodel import select
from typer.testing import CliRunner

from arbridge.api import FakeClock
from arbridge.cli.context import CliContext
from arbridge.cli.main import mount_connectors
from arbridge.errors import ConfigError
from arbridge.ports.connector import discover
from arbridge.runtime.app import App
from arbridge.settings import load_settings
from arbridge.store.db import transaction
from arbridge.store.tables import InvoiceRow
from arbridge.testing.conformance import check_connector, check_source_batches

PACKAGES = Path(__file__).resolve().parent / "packages"
ENTRY_POINTS = {
    "arbridge_csvbooks": "csvbooks = arbridge_csvbooks:connector",
    "arbridge_tasklist": "tasklist = arbridge_tasklist:connector",
}
CSV = (
    "id,number,customer,currency,total,paid,issue_date,due_date\n"
    "1,CSV-1,Acme,USD,100.00,0,2026-01-02,2026-02-01\n"
    "2,CSV-2,Acme,USD,250.50,250.50,2026-01-03,2026-02-02\n"
    "3,CSV-3,Globex,EUR,80.00,20.00,2026-01-04,2026-02-03\n"
)


@pytest.fixture
def plugged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The two connectors installed as far as entry points go; yields a config file."""
    site = tmp_path / "site"
    for dist, entry in ENTRY_POINTS.items():
        info = site / f"{dist}-0.1.dist-info"
        info.mkdir(parents=True)
        name = dist.replace("_", "-")
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
        (info / "entry_points.txt").write_text(f"[arbridge.connectors]\n{entry}\n")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.syspath_prepend(str(PACKAGES))
    books = tmp_path / "books"
    books.mkdir()
    (books / "january.csv").write_text(CSV)
    config = {
        "database_url": f"sqlite:///{tmp_path / 'arbridge.db'}",
        # Two sinks are installed now (ClickUp and this one): the config names its own.
        "sink": "tasklist",
        "tasklist": {"board": "receivables"},
        "csvbooks": {"folder": str(books)},
        "insight": {"enabled": False},
    }
    path = tmp_path / "arbridge.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def test_the_new_connectors_are_discovered_and_conform(plugged: Path) -> None:
    found = discover()
    assert {"csvbooks", "tasklist"} <= set(found)
    assert check_connector(found["csvbooks"]) == []
    assert check_connector(found["tasklist"]) == []


def test_their_sections_are_validated_like_the_engines(plugged: Path) -> None:
    text = plugged.read_text().replace("folder:", "folderr:")
    plugged.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(plugged)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "folderr" in row)
    assert f"{plugged}:{line}:3: csvbooks.folderr: unknown key" in str(caught.value)
    assert f"{plugged}:{line - 1}:1: csvbooks.folder: is required" in str(caught.value)


def test_backfill_reaches_the_new_sink_through_the_loop(plugged: Path) -> None:
    import arbridge_tasklist

    settings = load_settings(plugged)
    assert settings.sink == "tasklist"
    app = App.from_settings(settings, FakeClock(datetime(2026, 1, 10, 9, tzinfo=UTC)))
    try:
        source = app.intake.pollers["csvbooks"].current()
        assert check_source_batches("csvbooks", source.backfill()) == []
        app.intake.poll_all()
        app.drain(1)
        with transaction(app.engine) as session:
            stored = {(row.source, row.number) for row in session.exec(select(InvoiceRow))}
    finally:
        app.close()
    assert stored == {("csvbooks", "CSV-1"), ("csvbooks", "CSV-2"), ("csvbooks", "CSV-3")}
    sink = arbridge_tasklist.BUILT[-1]
    tasks = {task.key: task for task in sink.tasks.values()}
    assert set(tasks) == {"csvbooks:books:1", "csvbooks:books:2", "csvbooks:books:3"}
    assert tasks["csvbooks:books:2"].status == "paid"
    assert tasks["csvbooks:books:3"].fields["amount_due"] == "60"


def test_their_commands_are_mounted_under_their_name(plugged: Path) -> None:
    root = typer.Typer()
    mount_connectors(root)
    result = CliRunner().invoke(
        root, ["csvbooks", "count", "--config", str(plugged)], obj=CliContext()
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "3 invoices"


@pytest.mark.parametrize("name", ["clickup", "quickbooks", "stripe"])
def test_the_shipped_connectors_conform(name: str) -> None:
    connector: Any = discover()[name]
    assert check_connector(connector) == []
