"""``arbridge rules ...`` and ``arbridge schema rules`` through their Typer apps."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from arbridge.automation import FactSet, History, LoadResult, MemoryHistory, load_rules
from arbridge.cli.context import CliContext
from arbridge.cli.rules import rules_app, schema_app
from arbridge.model.calendar import BusinessCalendar
from tests.automation.builders import facts
from tests.cli_runner import ContextRunner

RULES = Path(__file__).parents[2] / "rules"
runner = ContextRunner()


class FakeData:
    """Stored data as the daemon would provide it: two overdue invoices."""

    def __init__(self, config: Path | None) -> None:
        self.config = config

    def rules(self) -> LoadResult:
        return load_rules([RULES / "dunning.yaml", RULES / "paid.yaml"])

    def facts(self, now: datetime) -> Mapping[str, FactSet]:
        return facts(
            now.date(),
            {"invoice.number": "INV-1", "invoice.due_date": date(2026, 3, 6)},
            {
                "invoice.number": "INV-2",
                "invoice.due_date": date(2026, 3, 8),
                "invoice.customer_replied_since_last_reminder": True,
                "customer.key": "globex",
            },
        )

    def history(self) -> History:
        return MemoryHistory()

    def calendar(self) -> BusinessCalendar:
        return BusinessCalendar()

    def timezone(self) -> ZoneInfo:
        return ZoneInfo("UTC")

    def now(self) -> datetime:
        return datetime(2026, 3, 9, 10, 0, tzinfo=UTC)

    def find_invoice(self, reference: str) -> str | None:
        return reference if reference.startswith("test:") else f"test:{reference}"


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "context", CliContext(rules_data=FakeData))


def test_validate_ok() -> None:
    result = runner.invoke(rules_app, ["validate", str(RULES)])
    assert result.exit_code == 0, result.output
    assert result.stdout == "ok: 14 rules in 6 files\n"


def test_validate_lists_problems_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - id: x\n    description: [oops\n")
    result = runner.invoke(rules_app, ["validate", str(bad)])
    assert result.exit_code == 1
    assert (
        result.stdout == f"{bad}:4:1: invalid YAML: expected ',' or ']', but got '<stream end>'\n"
    )


def test_test_command_runs_the_packs() -> None:
    result = runner.invoke(rules_app, ["test", str(RULES)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "35 passed, 0 failed, 0 problems"
    assert "PASS rules" in result.stdout or f"PASS {RULES}" in result.stdout


def test_test_command_fails_on_a_failing_case(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(
        "rules:\n  - id: r\n    description: d\n    triggers: [{event: invoice.paid}]\n"
        "    actions: [{set_status: paid}]\n"
    )
    (tmp_path / "r.tests.yaml").write_text(
        "cases:\n  - name: wrong\n    at: 2026-03-02\n    trigger: invoice.paid\n"
        "    expect: {fires: []}\n"
    )
    result = runner.invoke(rules_app, ["test", str(tmp_path)])
    assert result.exit_code == 1
    assert f"FAIL {tmp_path}/r.tests.yaml:2: wrong" in result.stdout
    assert "  expected fires [], got ['r']" in result.stdout
    empty = runner.invoke(rules_app, ["test", str(tmp_path / "r.yaml"), str(tmp_path / "none")])
    assert empty.exit_code == 1


def test_no_tests_found_is_a_failure(tmp_path: Path) -> None:
    result = runner.invoke(rules_app, ["test", str(tmp_path)])
    assert result.exit_code == 1
    assert "no rule tests found" in result.output


def test_explain_and_plan_need_a_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "context", CliContext())
    for args in (["explain", "dunning-firm-3", "INV-1"], ["plan"]):
        result = runner.invoke(rules_app, args)
        assert result.exit_code == 2
        assert "no data provider is configured" in result.output


def test_explain_shows_each_condition_with_its_value(provider: None) -> None:
    result = runner.invoke(rules_app, ["explain", "dunning-firm-3", "INV-1"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "evaluation at 2026-03-09T10:00:00+00:00 (schedule tick)"
    assert lines[1].startswith("rule dunning-firm-3 (version ")
    assert lines[1].endswith("on test:INV-1: fired")
    assert "      true  invoice.days_overdue between [3, 6] (actual: 3)" in lines
    assert json.loads(lines[-1])["kind"] == "post_comment"
    later = ["explain", "dunning-firm-7", "INV-1", "--at", "2026-03-09T09:30:00"]
    assert "      false invoice.days_overdue between [7, 13] (actual: 3)" in (
        runner.invoke(rules_app, later).stdout
    )
    early = runner.invoke(rules_app, ["explain", "dunning-firm-7", "INV-1", "--at", "2026-03-09"])
    assert "  trigger: schedule 09:00 (business days): not yet (00:00)" in early.stdout


def test_explain_errors(provider: None) -> None:
    assert runner.invoke(rules_app, ["explain", "nope", "INV-1"]).exit_code == 1
    assert runner.invoke(rules_app, ["explain", "dunning-due", "INV-9"]).exit_code == 1
    bad_at = runner.invoke(rules_app, ["explain", "dunning-due", "INV-1", "--at", "soon"])
    assert bad_at.exit_code == 1
    assert "--at: not an ISO date or date-time: 'soon'" in bad_at.output
    event = runner.invoke(rules_app, ["explain", "paid-close", "INV-1", "--event", "invoice.paid"])
    assert event.exit_code == 0
    assert "conditions false" in event.stdout


def test_plan_lists_what_would_happen(provider: None) -> None:
    result = runner.invoke(rules_app, ["plan", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert [(f["invoice_key"], f["rule_id"]) for f in payload["firings"]] == [
        ("test:INV-2", "dunning-due"),
        ("test:INV-1", "dunning-firm-3"),
    ]
    assert payload["firings"][1]["occurrence_key"] == "dunning-firm-3:test:INV-1:1"
    human = runner.invoke(rules_app, ["plan", "--at", "2026-03-09T10:00:00"])
    assert human.stdout.splitlines()[0] == "plan at 2026-03-09T10:00:00+00:00: 2 firings"
    assert "test:INV-2: dunning-due (dunning-due:test:INV-2:1)" in human.stdout
    assert "  post_comment: text=Hello Acme Ltd, invoice INV-2 for" in human.stdout


def test_schema_rules_prints_json_schema() -> None:
    result = runner.invoke(schema_app, ["rules"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(schema["properties"]) == {"vars", "rules"}


def test_validate_skips_rule_tests_matched_by_a_glob() -> None:
    from pathlib import Path

    from arbridge.cli.rules import rules_app

    packs = Path(__file__).resolve().parents[2] / "rules"
    result = CliRunner().invoke(rules_app, ["validate", *map(str, sorted(packs.glob("*.yaml")))])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: ")
