from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arbridge.core.plan import OpKind, PlannedOp, apply_op, merge_payloads, plan
from arbridge.model.task import FACTS, TaskSpec

FACT_NAMES = sorted(FACTS)
values = st.one_of(st.none(), st.text(max_size=8))
fields = st.dictionaries(st.sampled_from(FACT_NAMES), values, max_size=len(FACT_NAMES))
specs = st.builds(
    TaskSpec,
    key=st.just("quickbooks:realm:1"),
    name=st.text(min_size=1, max_size=10),
    description=st.text(max_size=20),
    status=st.sampled_from(["open", "overdue", "paid"]),
    due_date=st.one_of(st.none(), st.dates(date(2020, 1, 1), date(2030, 1, 1))),
    priority=st.one_of(st.none(), st.integers(1, 4)),
    assignees=st.lists(st.sampled_from(["a@x", "b@x", "c@x"]), unique=True).map(tuple),
    fields=fields,
)


def run(state: dict[str, Any] | None, spec: TaskSpec) -> dict[str, Any] | None:
    for op in plan(spec, state):
        state = apply_op(state, op.kind, op.payload)
    return state


@given(specs)
def test_first_plan_is_one_create_with_everything(spec: TaskSpec) -> None:
    ops = plan(spec, None)
    assert [op.kind for op in ops] == [OpKind.CREATE_TASK]
    assert ops[0].payload["spec"] == spec.state()


@given(specs, specs)
def test_plan_apply_plan_is_empty(before: TaskSpec, after: TaskSpec) -> None:
    state = run(None, before)
    state = run(state, after)
    assert plan(after, state) == []


@given(specs, specs)
def test_plan_never_touches_facts_it_does_not_own(before: TaskSpec, after: TaskSpec) -> None:
    state = run(None, before)
    assert state is not None
    foreign = {"fields": {**state["fields"], "not_ours": "keep"}}
    state = {**state, **foreign}
    for op in plan(after, state):
        if op.kind is OpKind.SET_FIELD:
            assert op.payload["fact"] in after.fields
    final = run(state, after)
    assert final is not None
    assert final["fields"]["not_ours"] == "keep"


@given(specs, specs)
def test_at_most_one_update_and_one_request_per_changed_field(
    before: TaskSpec, after: TaskSpec
) -> None:
    state = run(None, before)
    assert state is not None
    ops = plan(after, state)
    assert sum(op.kind is OpKind.UPDATE_TASK for op in ops) <= 1
    changed = {
        k for k, v in after.fields.items() if k not in state["fields"] or state["fields"][k] != v
    }
    assert sorted(op.payload["fact"] for op in ops if op.kind is OpKind.SET_FIELD) == sorted(
        changed
    )


@given(specs, specs, specs)
def test_merged_payloads_equal_applying_both(a: TaskSpec, b: TaskSpec, c: TaskSpec) -> None:
    state = run(None, a)
    assert state is not None
    first = {op.kind: op.payload for op in plan(b, state) if op.kind is OpKind.UPDATE_TASK}
    mid = run(state, b)
    second = {op.kind: op.payload for op in plan(c, mid) if op.kind is OpKind.UPDATE_TASK}
    if OpKind.UPDATE_TASK in first and OpKind.UPDATE_TASK in second:
        merged = merge_payloads(
            OpKind.UPDATE_TASK, first[OpKind.UPDATE_TASK], second[OpKind.UPDATE_TASK]
        )
        via_merge = apply_op(state, OpKind.UPDATE_TASK, merged)
        via_both = apply_op(
            apply_op(state, OpKind.UPDATE_TASK, first[OpKind.UPDATE_TASK]),
            OpKind.UPDATE_TASK,
            second[OpKind.UPDATE_TASK],
        )
        assert {k: via_merge[k] for k in ("name", "status", "assignees")} == {
            k: via_both[k] for k in ("name", "status", "assignees")
        }


def test_single_field_change_is_one_set_field() -> None:
    spec = TaskSpec(key="k", name="n", description="d", status="open", fields={"amount_due": "10"})
    state = run(None, spec)
    changed = spec.model_copy(update={"fields": {"amount_due": "7.5"}})
    ops = plan(changed, state)
    assert [(op.kind, op.payload) for op in ops] == [
        (OpKind.SET_FIELD, {"fact": "amount_due", "value": "7.5"})
    ]


# Rule effects: what firings want on the task besides the mirror (tags, rule fields, one-shot
# comments and subtasks keyed by a marker).
TAGS = ["chased", "vip", "legal"]
RULE_FIELDS = ["Collection stage", "Next step"]
MARKERS = ["arbridge ref a", "arbridge ref b", "arbridge subtask c"]
effect = st.one_of(
    st.builds(lambda tag: PlannedOp(OpKind.ADD_TAG, {"tag": tag}), st.sampled_from(TAGS)),
    st.builds(
        lambda name, value: PlannedOp(OpKind.SET_RULE_FIELD, {"field": name, "value": value}),
        st.sampled_from(RULE_FIELDS),
        st.one_of(st.none(), st.sampled_from(["soft", "firm"]), st.integers(0, 3)),
    ),
    st.builds(
        lambda marker, text: PlannedOp(OpKind.POST_COMMENT, {"text": text, "marker": marker}),
        st.sampled_from(MARKERS[:2]),
        st.text(max_size=8),
    ),
    st.builds(
        lambda marker: PlannedOp(
            OpKind.CREATE_SUBTASK,
            {"name": "Call", "marker": marker, "assignees": [], "due_date": None},
        ),
        st.sampled_from(MARKERS[2:]),
    ),
)
effect_lists = st.lists(effect, max_size=6)


def run_with(
    state: dict[str, Any] | None, spec: TaskSpec, effects: list[PlannedOp]
) -> dict[str, Any]:
    for op in plan(spec, state, effects):
        state = apply_op(state, op.kind, op.payload)
    assert state is not None
    return state


@given(specs, specs, effect_lists, effect_lists)
def test_plan_apply_plan_with_rule_effects_is_empty(
    before: TaskSpec, after: TaskSpec, first: list[PlannedOp], then: list[PlannedOp]
) -> None:
    state = run_with(None, before, first)
    assert plan(before, state, first) == []
    state = run_with(state, after, then)
    assert plan(after, state, then) == []
    # A firing planned again (a crash, a re-delivered event, a replan) posts, tags and creates
    # nothing more; only a field a later firing changed would be set back.
    assert all(op.kind is OpKind.SET_RULE_FIELD for op in plan(after, state, first))
    assert plan(after, state, first + then) == []


@given(specs, effect_lists)
def test_each_tag_and_one_shot_effect_is_planned_at_most_once(
    spec: TaskSpec, effects: list[PlannedOp]
) -> None:
    ops = plan(spec, None, effects)
    markers = [op.payload["marker"] for op in ops if "marker" in op.payload]
    tags = [op.payload["tag"] for op in ops if op.kind is OpKind.ADD_TAG]
    assert len(markers) == len(set(markers))
    assert len(tags) == len(set(tags))
    assert set(markers) == {e.payload["marker"] for e in effects if "marker" in e.payload}
    assert set(tags) == {e.payload["tag"] for e in effects if e.kind is OpKind.ADD_TAG}
    # The mirror first (here: the create), then the effects in their order.
    assert ops[0].kind is OpKind.CREATE_TASK
    remaining = iter(effects)
    assert all(any(op == e for e in remaining) for op in ops[1:])


@given(specs, specs, effect_lists, effect_lists)
def test_planning_never_touches_what_arbridge_does_not_own(
    before: TaskSpec, after: TaskSpec, first: list[PlannedOp], then: list[PlannedOp]
) -> None:
    state = run_with(None, before, first)
    foreign = {
        "fields": {**state["fields"], "not_ours": "keep"},
        "rule_fields": {**state.get("rule_fields", {}), "Owner note": "keep"},
        "tags": sorted({*state.get("tags", []), "theirs"}),
    }
    state = {**state, **foreign}
    ops = plan(after, state, then)
    for op in ops:
        if op.kind is OpKind.SET_FIELD:
            assert op.payload["fact"] in after.fields
        elif op.kind is not OpKind.UPDATE_TASK:
            assert op in then  # only what a firing asked for, never something of the task's own
    final = run_with(state, after, then)
    assert final["fields"]["not_ours"] == "keep"
    assert final["rule_fields"]["Owner note"] == "keep"
    assert "theirs" in final["tags"]


def test_a_value_already_planned_costs_nothing_and_a_new_one_one_request() -> None:
    spec = TaskSpec(key="k", name="n", description="d", status="open")
    stage = PlannedOp(OpKind.SET_RULE_FIELD, {"field": "Collection stage", "value": "firm"})
    tag = PlannedOp(OpKind.ADD_TAG, {"tag": "chased"})
    state = run_with(None, spec, [stage, tag])
    assert plan(spec, state, [tag, stage]) == []
    final = PlannedOp(OpKind.SET_RULE_FIELD, {"field": "Collection stage", "value": "final"})
    assert plan(spec, state, [tag, final]) == [final]


def test_an_effect_without_a_marker_or_a_known_shape_is_refused() -> None:
    spec = TaskSpec(key="k", name="n", description="d", status="open")
    with pytest.raises(ValueError, match="not a rule effect"):
        plan(spec, None, [PlannedOp(OpKind.POST_COMMENT, {"text": "no marker"})])
