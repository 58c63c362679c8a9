from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from arbridge.core.plan import OpKind, apply_op, merge_payloads, plan
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
