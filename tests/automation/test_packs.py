"""The shipped rule packs: they load, pass their own tests and match the JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml

from arbridge.automation import load_rules
from arbridge.automation.schema import rules_json_schema
from arbridge.automation.testing import find_test_files, run_rule_tests

RULES = Path(__file__).parents[2] / "rules"
PACKS = ["dunning", "key_accounts", "large_invoices", "disputes", "paid", "tone"]


def _json_ready(path: Path) -> Any:
    # Editors validate the YAML as JSON: dates become strings.
    return json.loads(json.dumps(yaml.safe_load(path.read_text()), default=str))


@pytest.mark.parametrize("pack", PACKS)
def test_pack_loads_without_problems(pack: str) -> None:
    result = load_rules([RULES / f"{pack}.yaml"])
    assert [str(p) for p in result.problems] == []
    assert len(result.rules) >= 1


@pytest.mark.parametrize("pack", PACKS)
def test_pack_passes_its_own_tests(pack: str) -> None:
    assert find_test_files([RULES / f"{pack}.yaml"]) == [RULES / f"{pack}.tests.yaml"]
    report = run_rule_tests([RULES / f"{pack}.yaml"])
    assert [str(p) for p in report.problems] == []
    failed = [(r.name, r.failures, r.trace) for r in report.results if not r.passed]
    assert failed == []
    assert len(report.results) >= 3


def test_all_packs_load_together_with_unique_ids() -> None:
    result = load_rules([RULES])
    assert result.ok
    assert {r.pack for r in result.rules} == set(PACKS)


@pytest.mark.parametrize("pack", PACKS)
def test_json_schema_accepts_the_pack(pack: str) -> None:
    schema = rules_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    errors = [e.message for e in validator.iter_errors(_json_ready(RULES / f"{pack}.yaml"))]
    assert errors == []


def test_json_schema_rejects_typos() -> None:
    validator = jsonschema.Draft202012Validator(rules_json_schema())
    data = _json_ready(RULES / "paid.yaml")
    data["rules"][0]["actions"][0] = {"set_stauts": "paid"}
    data["rules"][1]["policy"]["repeat"]["every_day"] = 1
    assert len(list(validator.iter_errors(data))) == 2


def test_rules_readme_names_every_pack() -> None:
    readme = (RULES / "README.md").read_text()
    for pack in PACKS:
        assert f"`{pack}`" in readme
