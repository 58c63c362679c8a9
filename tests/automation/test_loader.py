"""Loading: staged validation, exact problem messages with ``file:line:col``."""

from __future__ import annotations

from pathlib import Path

from arbridge.automation import load_rules, load_text, pack_paths
from tests.automation.builders import one_rule

GOOD = """\
  - id: good
    description: Still loads
    triggers: [{event: invoice.paid}]
    actions: [{set_status: paid}]
"""


def messages(text: str, path: str = "rules/x.yaml") -> list[str]:
    return [str(p) for p in load_text(text, path).problems]


def test_yaml_syntax_error_rejects_the_whole_file() -> None:
    text = "rules:\n  - id: a\n    description: [unclosed\n" + GOOD
    result = load_text(text, "rules/x.yaml")
    assert [str(p) for p in result.problems] == [
        "rules/x.yaml:4:7: invalid YAML: expected ',' or ']', but got ':'"
    ]
    assert len(result.rules) == 0
    assert result.problems[0].rule_id is None


def test_tab_indentation_is_a_yaml_error() -> None:
    assert messages("rules:\n  - id: a\n\tdescription: tab\n") == [
        "rules/x.yaml:3:1: invalid YAML: found character '\\t' that cannot start any token"
    ]


def test_unknown_fact_suggests_the_closest() -> None:
    text = one_rule(conditions="{all: [{fact: invoice.days_overdu, gte: 3}]}")
    assert messages(text) == [
        "rules/x.yaml:5:31: rule r: conditions.all[0].fact: unknown fact "
        "'invoice.days_overdu'; did you mean 'invoice.days_overdue'?"
    ]


def test_wrong_operand_type() -> None:
    text = one_rule(conditions='{fact: invoice.days_overdue, gte: "three"}')
    assert messages(text) == [
        "rules/x.yaml:5:51: rule r: conditions.gte: invoice.days_overdue is int: "
        "expected a whole number, got 'three'"
    ]


def test_unknown_action() -> None:
    text = one_rule(actions="[{send_email: {to: x}}, {coment: {template: hi}}]")
    assert messages(text) == [
        "rules/x.yaml:5:16: rule r: actions[0].send_email: unknown action 'send_email' "
        "(expected one of: set_status, assign, unassign, set_priority, set_field, comment, "
        "create_subtask, mention, add_tag, pause_reminders, stop)",
        "rules/x.yaml:5:39: rule r: actions[1].coment: unknown action 'coment'; "
        "did you mean 'comment'?",
    ]


def test_template_undefined_variable_and_unknown_fact() -> None:
    text = """\
rules:
  - id: t
    description: Templates
    triggers: [{event: invoice.paid}]
    actions:
      - comment: {template: "Hi {{ customer.nme }}"}
      - comment:
          template: |
            Hello
            {{ invoce.number }}
"""
    assert messages(text) == [
        "rules/x.yaml:6:29: rule t: actions[0].comment.template: template uses unknown fact "
        "'customer.nme'; did you mean 'customer.name'?",
        "rules/x.yaml:8:21: rule t: actions[1].comment.template: template uses undefined "
        "variable 'invoce'; did you mean 'invoice'? (template line 2)",
    ]


def test_template_syntax_error() -> None:
    text = one_rule(actions='[{comment: {template: "Invoice {{ invoice.number "}}]')
    assert messages(text) == [
        "rules/x.yaml:5:36: rule r: actions[0].comment.template: template syntax error: "
        "unexpected end of template, expected 'end of print statement'."
    ]


def test_template_loop_variable_typo_is_caught_by_a_dry_render() -> None:
    template = "{% for inv in overdue_invoices %}{{ inv.numbr }}{% endfor %}"
    text = one_rule(actions=f'[{{comment: {{template: "{template}"}}}}]')
    assert messages(text) == [
        "rules/x.yaml:5:36: rule r: actions[0].comment.template: template error: "
        "'dict object' has no attribute 'numbr'"
    ]


def test_unknown_template_var() -> None:
    text = one_rule(
        variables="{manager: mia@example.com}",
        actions='[{comment: {template: "cc {{ vars.manger }}"}}]',
    )
    assert messages(text) == [
        "rules/x.yaml:6:36: rule r: actions[0].comment.template: template uses undefined "
        "variable 'vars.manger'; did you mean 'manager'?"
    ]


def test_duplicate_rule_ids() -> None:
    text = "rules:\n" + GOOD + GOOD.replace("Still loads", "Again")
    result = load_text(text, "rules/x.yaml")
    assert [str(p) for p in result.problems] == [
        "rules/x.yaml:6:9: rule good: duplicate rule id 'good' (first defined at rules/x.yaml:2:9)"
    ]
    assert [r.description for r in result.rules] == ["Still loads"]


def test_duplicate_ids_across_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("rules:\n" + GOOD)
    (tmp_path / "b.yaml").write_text("rules:\n" + GOOD)
    result = load_rules([tmp_path])
    assert [str(p) for p in result.problems] == [
        f"{tmp_path}/b.yaml:2:9: rule good: duplicate rule id 'good' "
        f"(first defined at {tmp_path}/a.yaml:2:9)"
    ]


def test_one_bad_rule_disables_only_itself() -> None:
    text = one_rule(conditions="{fact: invoice.nope, equals: 1}", rule_id="bad") + GOOD
    result = load_text(text, "rules/x.yaml")
    assert [r.id for r in result.rules] == ["good"]
    assert [(p.rule_id, p.line) for p in result.problems] == [("bad", 5)]


def test_every_problem_of_a_rule_is_listed_in_file_order() -> None:
    text = """\
vars: {who: sam@example.com}
rules:
  - id: misc
    description: Misc
    triggers: [{schedule: {at: "25:00"}}, {event: invoice.payed}]
    conditions:
      - {fact: invoice.amount, gte: {var: treshold}}
    actions:
      - assign: {users: [sam]}
      - set_priority: urgnt
    policy: {repeat: {every_days: 0}}
    colour: red
"""
    assert messages(text) == [
        "rules/x.yaml:5:32: rule misc: triggers[0].schedule.at: expected a time as HH:MM "
        "(24-hour), got '25:00'",
        "rules/x.yaml:5:51: rule misc: triggers[1].event: unknown event 'invoice.payed'; "
        "did you mean 'invoice.paid'?",
        "rules/x.yaml:7:43: rule misc: conditions[0].gte.var: unknown variable 'treshold'",
        "rules/x.yaml:9:26: rule misc: actions[0].assign.users[0]: not an email address: 'sam'",
        "rules/x.yaml:10:23: rule misc: actions[1].set_priority: unknown priority 'urgnt'; "
        "did you mean 'urgent'?",
        "rules/x.yaml:11:23: rule misc: policy.repeat.every_days: every_days must be at least 1",
        "rules/x.yaml:12:5: rule misc: colour: unknown key 'colour' (expected id, description, "
        "enabled, priority, order, refire, triggers, conditions, actions, policy)",
    ]


def test_condition_stage_messages() -> None:
    text = one_rule(
        conditions="""
      - {fact: invoice.status, equals: payed}
      - {fact: invoice.days_overdue, is_null: true}
      - {fact: customer.tags, gt: 3}
      - {fact: invoice.amount, between: [10]}
      - {fact: invoice.status, in: open}
      - {fact: invoice.due_date, equals: null}
      - {fact: invoice.last_reminder_at, within_last_days: -1}"""
    )
    assert messages(text) == [
        "rules/x.yaml:6:40: rule r: conditions[0].equals: invoice.status has no value 'payed'; "
        "did you mean 'paid'? (values: draft, open, partially_paid, paid, void, uncollectible, "
        "disputed)",
        "rules/x.yaml:7:38: rule r: conditions[1].is_null: invoice.days_overdue is never null",
        "rules/x.yaml:8:31: rule r: conditions[2].gt: gt does not apply to customer.tags "
        "(list[str]); use is_null, contains",
        "rules/x.yaml:9:41: rule r: conditions[3].between: between expects [low, high], got [10]",
        "rules/x.yaml:10:36: rule r: conditions[4].in: in expects a non-empty list, got 'open'",
        "rules/x.yaml:11:42: rule r: conditions[5].equals: equals needs a value; to test for "
        "null use is_null: true",
        "rules/x.yaml:12:60: rule r: conditions[6].within_last_days: within_last_days expects a "
        "whole number of days >= 0, got -1",
    ]


def test_schema_shape_messages() -> None:
    text = one_rule(
        triggers="[{schedule: {at: '09:00', buisness_days: true}}]",
        conditions="{fakt: invoice.status}",
        actions="[{set_status: opn}, {comment: {template: hi}, stop: true}]",
        policy="{once: false}",
    )
    assert messages(text) == [
        "rules/x.yaml:4:41: rule r: triggers[0].schedule.buisness_days: unknown key "
        "'buisness_days'; did you mean 'business_days'?",
        "rules/x.yaml:5:18: rule r: conditions.fakt: unknown condition 'fakt'; "
        "did you mean 'fact'?",
        "rules/x.yaml:6:28: rule r: actions[0].set_status: unknown task status 'opn'; "
        "did you mean 'open'?",
        "rules/x.yaml:6:60: rule r: actions[1].stop: one action per list item, got comment and "
        "stop",
        "rules/x.yaml:7:14: rule r: policy.once: once: false needs a repeat policy",
    ]


def test_one_operator_per_condition() -> None:
    text = one_rule(conditions="{fact: invoice.days_overdue, gte: 1, lte: 3}")
    assert messages(text) == [
        "rules/x.yaml:5:54: rule r: conditions.lte: one operator per condition, got gte and "
        "lte (combine conditions with all:)"
    ]


def test_quiet_hours_that_swallow_the_schedule() -> None:
    text = one_rule(
        triggers='[{schedule: {at: "21:00"}}]',
        policy='{quiet_hours: {start: "20:00", end: "08:00"}}',
    )
    assert messages(text) == [
        "rules/x.yaml:4:32: rule r: triggers[0].schedule.at: 21:00 is inside the rule's quiet "
        "hours (20:00-08:00), so the schedule would never fire"
    ]


def test_mention_needs_a_comment() -> None:
    text = one_rule(actions="[{mention: {users: [mia@example.com]}}]")
    assert messages(text) == [
        "rules/x.yaml:5:25: rule r: actions[0].mention: mention needs a comment action in the "
        "same rule"
    ]


def test_file_level_problems_reject_the_file() -> None:
    assert messages("- just a list\n") == [
        "rules/x.yaml:1:1: a rule file is a mapping with vars and rules"
    ]
    assert messages("rule:\n" + GOOD) == [
        "rules/x.yaml:1:1: rule: unknown key 'rule'; did you mean 'rules'?"
    ]
    assert messages("rules: {a: 1}\n") == ["rules/x.yaml:1:8: rules: expected a list"]
    assert messages("rules: []\nrules: []\n") == ["rules/x.yaml:2:1: duplicate key 'rules'"]
    assert messages("rules: []\n---\nrules: []\n") == [
        "rules/x.yaml:2:1: invalid YAML: but found another document"
    ]


def test_duplicate_key_inside_a_rule() -> None:
    text = one_rule(extra="    actions: [{set_status: paid}]")
    assert messages(text) == ["rules/x.yaml:6:5: rule r: actions: duplicate key 'actions'"]


def test_empty_file_has_no_rules() -> None:
    result = load_text("", "rules/x.yaml")
    assert result.ok
    assert len(result.rules) == 0


def test_vars_are_substituted_and_can_be_overridden() -> None:
    text = one_rule(
        variables="{limit: 100}", conditions="{fact: invoice.amount, gte: {var: limit}}"
    )
    default = load_text(text, "rules/pack.yaml").rules.get("r")
    override = load_text(text, "rules/pack.yaml", variables={"limit": 500}).rules.get("r")
    assert default is not None
    assert override is not None
    assert default.version != override.version
    bad = load_text(text, "rules/pack.yaml", variables={"limt": 5})
    assert [str(p) for p in bad.problems] == [
        "rules/pack.yaml:1:1: vars override 'limt': the pack has no such variable; "
        "did you mean 'limit'?"
    ]


def test_a_var_of_the_wrong_type_is_caught_where_it_is_used() -> None:
    text = one_rule(
        variables="{limit: lots}", conditions="{fact: invoice.amount, gte: {var: limit}}"
    )
    assert messages(text) == [
        "rules/x.yaml:6:45: rule r: conditions.gte: invoice.amount is decimal: expected a "
        "number, got 'lots'"
    ]


def test_missing_file_and_directories(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("rules:\n" + GOOD)
    (tmp_path / "a.tests.yaml").write_text("cases: []\n")
    result = load_rules([tmp_path, tmp_path / "missing.yaml"])
    assert [r.id for r in result.rules] == ["good"]
    assert [str(p) for p in result.problems] == [
        f"{tmp_path}/missing.yaml:1:1: cannot read file: No such file or directory"
    ]


def test_packs_are_enabled_by_name(tmp_path: Path) -> None:
    (tmp_path / "dunning.yaml").write_text("rules:\n" + GOOD)
    paths, problems = pack_paths(tmp_path, ["dunning", "duning"])
    assert paths == [tmp_path / "dunning.yaml"]
    assert [str(p) for p in problems] == [
        f"{tmp_path}:1:1: unknown rule pack 'duning'; did you mean 'dunning'?"
    ]


def test_rules_run_in_priority_then_order_then_file_order() -> None:
    text = "rules:\n" + "".join(
        f"  - id: {name}\n    description: d\n    triggers: [{{event: invoice.paid}}]\n"
        f"    actions: [{{set_status: paid}}]\n{extra}"
        for name, extra in [
            ("a", ""),
            ("b", "    priority: 5\n"),
            ("c", "    order: -1\n"),
            ("d", "    priority: 5\n    order: -2\n"),
        ]
    )
    result = load_text(text)
    assert [r.id for r in result.rules] == ["d", "b", "c", "a"]
