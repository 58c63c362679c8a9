"""The demo end to end at a small size: the main job must keep working."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from arbridge.cli.main import app as cli


def test_small_demo_mirrors_everything_once_and_charts_the_forecast(tmp_path: Path) -> None:
    chart = tmp_path / "forecast.png"
    result = CliRunner().invoke(
        cli,
        ["demo", "--invoices", "40", "--days", "10", "--json", "--forecast-png", str(chart)],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["tasks"] == summary["invoices"] > 40
    # Every invoice came in through the emulated QuickBooks or Stripe, and says what they say.
    assert set(summary["sources"]) == {"quickbooks", "stripe"}
    assert summary["sources"] == summary["source_invoices_booked"]
    assert summary["source_mismatches"] == 0
    assert summary["missing_tasks"] == 0
    assert summary["webhooks_received"] > summary["invoices"]
    assert summary["webhooks_rejected"] == 0
    assert summary["duplicate_tasks"] == 0
    assert summary["field_mismatches"] == 0
    assert summary["duplicate_reminders"] == 0
    assert summary["noop_sync_requests"] == 0
    assert summary["rules_fired"] > 0
    assert summary["tasks_with_risk_score"] > 0
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
