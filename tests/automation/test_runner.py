"""The YAML rule-test runner: failures, problems and defaults."""

from __future__ import annotations

from pathlib import Path

from arbridge.automation.testing import run_rule_tests

RULE = """\
vars: {who: sam@example.com}
rules:
  - id: big
    description: Big invoices to Sam
    triggers: [{event: invoice.created}, {schedule: {at: "08:00"}}]
    conditions: {fact: invoice.amount, gte: 5000}
    actions: [{assign: {users: [{var: who}]}}]
"""


def write(tmp_path: Path, tests: str) -> Path:
    (tmp_path / "big.yaml").write_text(RULE)
    (tmp_path / "big.tests.yaml").write_text(tests)
    return tmp_path / "big.yaml"


def test_passing_and_failing_cases(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
cases:
  - name: passes
    at: 2026-03-02T09:00:00
    trigger: invoice.created
    facts: {invoice: {amount: 6000}}
    expect:
      fires: [big]
      intents: [{assign: [sam@example.com]}]
  - name: wrong expectation
    at: 2026-03-02
    facts: {invoice: {amount: 100}}
    expect:
      fires: [big]
  - name: wrong intent
    at: 2026-03-02
    vars: {}
    facts: {invoice: {amount: 9000}}
    expect:
      fires: [big]
      intents: [{assign: [bob@example.com]}, {stop: true}]
""",
    )
    report = run_rule_tests([path])
    assert [str(p) for p in report.problems] == [
        f"{tmp_path}/big.tests.yaml:16:5: cases[2].vars: unknown key 'vars' (expected name, at, "
        "trigger, facts, invoices, history, expect)"
    ]
    assert not report.ok


def test_failures_explain_themselves(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
cases:
  - name: passes
    at: 2026-03-02T09:00:00
    trigger: invoice.created
    facts: {invoice: {amount: 6000}}
    expect:
      fires: [big]
      intents: [{assign: [sam@example.com]}]
  - name: wrong expectation
    at: 2026-03-02
    facts: {invoice: {amount: 100}}
    expect: {fires: [big]}
  - name: wrong intent
    at: 2026-03-02
    facts: {invoice: {amount: 9000}}
    expect:
      fires: [big]
      intents: [{assign: [bob@example.com]}, {stop: true}]
""",
    )
    report = run_rule_tests([path])
    assert report.problems == []
    assert [(r.name, r.line, r.failures) for r in report.results] == [
        ("passes", 2, ()),
        ("wrong expectation", 9, ("expected fires ['big'], got []",)),
        (
            "wrong intent",
            13,
            (
                "expected 2 intents, got 1: assign",
                "intent 1: assign.users: expected ['bob@example.com'], got ('sam@example.com',)",
            ),
        ),
    ]
    assert "invoice.amount gte 5000 (actual: 100)" in report.results[1].trace


def test_problems_in_a_test_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
cases:
  - name: typo in a fact
    at: 2026-03-02
    facts: {invoice: {amont: 6000}}
    expect: {fires: []}
  - name: unknown trigger
    at: 2026-03-02
    trigger: invoice.payed
    expect: {fires: []}
""",
    )
    assert [str(p) for p in run_rule_tests([path]).problems] == [
        f"{tmp_path}/big.tests.yaml:8:14: cases[1].trigger: unknown trigger 'invoice.payed'; "
        "did you mean 'invoice.paid'?"
    ]
    (tmp_path / "big.tests.yaml").write_text(
        "cases:\n  - name: typo\n    at: 2026-03-02\n    facts: {invoice: {amont: 6000}}\n"
        "    expect: {fires: []}\n"
    )
    assert [str(p) for p in run_rule_tests([path]).problems] == [
        f"{tmp_path}/big.tests.yaml:4:23: typo: unknown fact 'invoice.amont'; "
        "did you mean 'invoice.amount'?"
    ]


def test_history_and_var_overrides(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
vars: {big: {who: ann@example.com}}
cases:
  - name: override
    at: 2026-03-02
    facts: {invoice: {amount: 6000}}
    expect:
      fires: [big]
      intents: [{assign: {users: [ann@example.com]}}]
  - name: already done
    at: 2026-03-02
    facts: {invoice: {amount: 6000}}
    history: [{rule: big}]
    expect: {fires: []}
  - name: unknown rule in history
    at: 2026-03-02
    history: [{rule: bgi}]
    expect: {fires: []}
""",
    )
    report = run_rule_tests([path])
    assert [r.passed for r in report.results] == [True, True]
    assert [str(p) for p in report.problems] == [
        f"{tmp_path}/big.tests.yaml:16:22: unknown rule in history: unknown rule 'bgi'"
    ]


def test_broken_rules_fail_the_tests(tmp_path: Path) -> None:
    path = write(tmp_path, "cases:\n  - {name: x, at: 2026-03-02, expect: {fires: []}}\n")
    path.write_text(RULE.replace("gte: 5000", "gte: lots"))
    assert [str(p) for p in run_rule_tests([path]).problems] == [
        f"{path}:6:45: rule big: conditions.gte: invoice.amount is decimal: expected a number, "
        "got 'lots'"
    ]


def test_unknown_fact_in_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "defaults:\n  customer: {segmnt: reliable}\n"
        "cases:\n  - {name: x, at: 2026-03-02, expect: {fires: []}}\n",
    )
    assert [str(p) for p in run_rule_tests([path]).problems] == [
        f"{tmp_path}/big.tests.yaml:2:14: unknown fact 'customer.segmnt'; "
        "did you mean 'customer.segment'?"
    ]
