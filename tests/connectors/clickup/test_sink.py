from __future__ import annotations

import copy
import json
import logging
from collections.abc import Iterator
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import respx
from arbridge_clickup.client import ClickUpClient
from arbridge_clickup.emulator import (
    DEMO_TEAM_ID,
    DEMO_TOKEN,
    EmulatorState,
    create_app,
    default_workspace,
)
from arbridge_clickup.emulator.fixture import RECEIVABLE_FIELDS, RECEIVABLE_STATUSES
from arbridge_clickup.emulator.workspace import FieldSpec
from arbridge_clickup.plugin import connector
from arbridge_clickup.schema import ListSchema, build_list_schema
from arbridge_clickup.sink import ClickUpSink, resolve_members
from arbridge_clickup.values import date_to_ms

from arbridge.errors import ConfigError, PermanentError
from arbridge.model.task import TaskSpec
from arbridge.ports.connector import RemoteTask, SubtaskSpec, TaskChanges, TaskSink
from arbridge.settings import Settings
from arbridge.testing import LoopbackServer
from tests.connectors.clickup.conftest import (
    FIELDS,
    KEY_FIELD,
    LIST_ID,
    TEAM_BODY,
    TEAM_ID,
    list_body,
    make_settings,
)

ZONE = ZoneInfo("America/New_York")
KEY = "qbo:9130:1042"


def field_id(name: str) -> str:
    return str(next(f["id"] for f in FIELDS if f["name"] == name))


def option_id(field_name: str, option: str) -> str:
    field = next(f for f in FIELDS if f["name"] == field_name)
    return str(next(o["id"] for o in field["type_config"]["options"] if o["name"] == option))


def by_id(field: dict[str, Any]) -> str:
    return str(field["id"])


def noon(day: str) -> int:
    return date_to_ms(day, ZONE)


@pytest.fixture
def schema() -> ListSchema:
    return build_list_schema(LIST_ID, list_body()["statuses"], FIELDS, make_settings())


@pytest.fixture
def sink(client: ClickUpClient, schema: ListSchema) -> ClickUpSink:
    return ClickUpSink(client, schema, ZONE, {"john@acme.example": 123, "ann@acme.example": 456})


FULL_FIELDS: dict[str, str | None] = {
    "arbridge_key": KEY,
    "number": "1042",
    "customer": "Acme GmbH",
    "source": "quickbooks",
    "invoice_status": "partially_paid",
    "currency": "USD",
    "total": "1234.5",
    "amount_due": "234",
    "issue_date": "2026-10-01",
    "due_date": "2026-10-31",
    "aging": "1-30",
    "link": "https://app.qbo.intuit.com/app/invoice?txnId=1042",
    "risk_score": "35",
    "predicted_pay_date": "2026-11-20",
    "queue_rank": "2",
    "invoice_checks": "no billing email",
}


def spec(**overrides: Any) -> TaskSpec:
    values: dict[str, Any] = {
        "key": KEY,
        "name": "1042 · Acme GmbH",
        "description": "**Invoice 1042** for Acme GmbH",
        "status": "partially_paid",
        "due_date": date(2026, 10, 31),
        "priority": 2,
        "assignees": ("JOHN@acme.example", "ann@acme.example"),
        "fields": dict(FULL_FIELDS),
    }
    values.update(overrides)
    return TaskSpec(**values)


def test_is_a_task_sink(sink: ClickUpSink) -> None:
    typed: TaskSink = sink
    assert typed.owned_facts() == frozenset(FULL_FIELDS)


def test_create_sends_one_request_with_every_custom_field(
    sink: ClickUpSink, api: respx.MockRouter
) -> None:
    route = api.post(f"/list/{LIST_ID}/task").mock(
        return_value=httpx.Response(200, json={"id": "86abc", "name": "1042 · Acme GmbH"})
    )
    assert sink.create_task(spec()) == "86abc"

    assert len(api.calls) == 1
    body = json.loads(route.calls.last.request.content)
    custom = body.pop("custom_fields")
    assert body == {
        "name": "1042 · Acme GmbH",
        "markdown_content": "**Invoice 1042** for Acme GmbH",
        "status": "Partially Paid",
        "due_date": noon("2026-10-31"),
        "due_date_time": False,
        "priority": 2,
        "assignees": [123, 456],
    }
    expected: list[dict[str, Any]] = [
        {"id": KEY_FIELD, "value": KEY},
        {"id": field_id("Invoice number"), "value": "1042"},
        {"id": field_id("Customer"), "value": "Acme GmbH"},
        {"id": field_id("Source"), "value": option_id("Source", "QuickBooks")},
        {
            "id": field_id("Invoice status"),
            "value": option_id("Invoice status", "Partially_Paid"),
        },
        {"id": field_id("Currency"), "value": "USD"},
        {"id": field_id("Invoice total"), "value": 1234.5},
        {"id": field_id("Amount due"), "value": 234},
        {"id": field_id("Issue date"), "value": noon("2026-10-01")},
        {"id": field_id("Due date"), "value": noon("2026-10-31")},
        {"id": field_id("Aging"), "value": option_id("Aging", "1-30")},
        {"id": field_id("Invoice link"), "value": FULL_FIELDS["link"]},
        {"id": field_id("Risk score"), "value": 35},
        {"id": field_id("Predicted pay date"), "value": noon("2026-11-20")},
        {"id": field_id("Queue rank"), "value": 2},
        {"id": field_id("Invoice checks"), "value": "no billing email"},
    ]
    assert len(custom) == len(expected)
    assert sorted(custom, key=by_id) == sorted(expected, key=by_id)


def test_create_leaves_out_empty_values_and_facts_it_does_not_own(
    client: ClickUpClient, api: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(fields={"arbridge_key": "arbridge key", "total": "Invoice total"})
    schema = build_list_schema(LIST_ID, list_body()["statuses"], FIELDS, settings)
    sink = ClickUpSink(client, schema, ZONE, {})
    route = api.post(f"/list/{LIST_ID}/task").mock(
        return_value=httpx.Response(200, json={"id": "86abd"})
    )
    fields = {**FULL_FIELDS, "total": None}
    sink.create_task(
        spec(due_date=None, priority=None, assignees=("who@nowhere.example",), fields=fields)
    )
    body = json.loads(route.calls.last.request.content)
    assert body == {
        "name": "1042 · Acme GmbH",
        "markdown_content": "**Invoice 1042** for Acme GmbH",
        "status": "Partially Paid",
        "custom_fields": [{"id": KEY_FIELD, "value": KEY}],
    }
    assert "who@nowhere.example" in caplog.text


def test_create_refuses_a_value_the_field_cannot_hold(
    sink: ClickUpSink, api: respx.MockRouter
) -> None:
    with pytest.raises(PermanentError, match=r'clickup\.fields\.source: .* no option "xero"'):
        sink.create_task(spec(fields={**FULL_FIELDS, "source": "xero"}))
    assert len(api.calls) == 0


def task_json(
    task_id: str,
    *,
    key: str | None = None,
    status: str = "Open",
    due_date: str | None = None,
    values: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A task as Get Tasks returns it (shape from the OpenAPI example)."""
    raw_values = {"Arbridge Key": key, **(values or {})}
    custom_fields = []
    for definition in copy.deepcopy(FIELDS):
        value = raw_values.get(definition["name"])
        if value is not None:
            definition["value"] = value
        definition["value_richtext"] = ""
        definition["required"] = False
        custom_fields.append(definition)
    custom_fields.append(
        {
            "id": "f4d2a20d-6759-4420-b897-222dbe2587d4",
            "name": "Assigned Reviewer",
            "type": "users",
            "type_config": {"single_user": False},
            "value": [{"id": 2772463, "username": "Alex Johnson", "email": "user@company.com"}],
        }
    )
    return {
        "id": task_id,
        "custom_id": None,
        "custom_item_id": 0,
        "name": f"Task {task_id}",
        "text_content": "",
        "description": "",
        "status": {"id": "p1", "status": status.lower(), "color": "#d3d3d3", "type": "custom"},
        "orderindex": "1.00000000000000000000000000000000",
        "date_created": "1567780450202",
        "date_updated": "1567780450202",
        "archived": False,
        "assignees": [],
        "priority": {"color": "#f8ae00", "id": "3", "orderindex": "3", "priority": "normal"},
        "due_date": due_date,
        "custom_fields": custom_fields,
        "list": {"id": LIST_ID, "name": "Receivables", "access": True},
        "url": f"https://app.clickup.com/t/{task_id}",
    }


def test_find_task_filters_by_key_and_pages_until_found(
    sink: ClickUpSink, api: respx.MockRouter
) -> None:
    pages = [
        {"tasks": [task_json(f"x{i}", key=f"{KEY}-{i}") for i in range(100)], "last_page": False},
        {"tasks": [task_json("86abc", key=KEY)], "last_page": True},
    ]
    route = api.get(f"/list/{LIST_ID}/task").mock(
        side_effect=[httpx.Response(200, json=page) for page in pages]
    )
    assert sink.find_task(KEY) == "86abc"
    assert route.call_count == 2
    first, second = (call.request.url.params for call in route.calls)
    assert json.loads(first["custom_fields"]) == [
        {"field_id": KEY_FIELD, "operator": "==", "value": KEY}
    ]
    assert (first["include_closed"], first["page"], second["page"]) == ("true", "0", "1")


def test_find_task_returns_none_after_the_last_page(
    sink: ClickUpSink, api: respx.MockRouter
) -> None:
    route = api.get(f"/list/{LIST_ID}/task").mock(
        side_effect=[
            httpx.Response(200, json={"tasks": [], "last_page": True}),
        ]
    )
    assert sink.find_task(KEY) is None
    assert route.call_count == 1


def test_update_without_changes_sends_nothing(sink: ClickUpSink, api: respx.MockRouter) -> None:
    sink.update_task("86abc", TaskChanges())
    # Assignees nobody can resolve leave nothing to send either.
    sink.update_task("86abc", TaskChanges(assignees_add=("ghost@acme.example",)))
    assert len(api.calls) == 0


def test_update_sends_only_what_changed(sink: ClickUpSink, api: respx.MockRouter) -> None:
    route = api.put("/task/86abc").mock(return_value=httpx.Response(200, json={"id": "86abc"}))
    sink.update_task(
        "86abc",
        TaskChanges(
            description="new text",
            status="paid",
            due_date="2026-11-15",
            priority=1,
            assignees_add=("ann@acme.example",),
        ),
    )
    assert json.loads(route.calls.last.request.content) == {
        "markdown_content": "new text",
        "status": "Paid",
        "due_date": noon("2026-11-15"),
        "due_date_time": False,
        "priority": 1,
        "assignees": {"add": [456], "rem": []},
    }
    sink.update_task(
        "86abc",
        TaskChanges(
            name="renamed",
            clear_due_date=True,
            clear_priority=True,
            assignees_remove=("john@acme.example",),
        ),
    )
    assert json.loads(route.calls.last.request.content) == {
        "name": "renamed",
        "due_date": None,
        "priority": None,
        "assignees": {"add": [], "rem": [123]},
    }
    assert route.call_count == 2


def test_update_refuses_an_unmapped_status(sink: ClickUpSink, api: respx.MockRouter) -> None:
    with pytest.raises(PermanentError, match=r"clickup\.statuses"):
        sink.update_task("86abc", TaskChanges(status="archived"))
    assert len(api.calls) == 0


def test_set_field_posts_the_converted_value_and_deletes_on_none(
    sink: ClickUpSink, api: respx.MockRouter
) -> None:
    aging = field_id("Aging")
    posted = api.post(f"/task/86abc/field/{aging}").mock(return_value=httpx.Response(200, json={}))
    deleted = api.delete(f"/task/86abc/field/{aging}").mock(
        return_value=httpx.Response(200, json={})
    )
    sink.set_field("86abc", "aging", "31-60")
    assert json.loads(posted.calls.last.request.content) == {"value": option_id("Aging", "31-60")}
    sink.set_field("86abc", "aging", None)
    assert deleted.call_count == 1
    amount = api.post(f"/task/86abc/field/{field_id('Amount due')}").mock(
        return_value=httpx.Response(200, json={})
    )
    sink.set_field("86abc", "amount_due", "0.5")
    assert json.loads(amount.calls.last.request.content) == {"value": 0.5}


def test_set_field_is_retried_after_a_timeout(sink: ClickUpSink, api: respx.MockRouter) -> None:
    route = api.post(f"/task/86abc/field/{field_id('Currency')}").mock(
        side_effect=[httpx.ReadTimeout("timed out"), httpx.Response(200, json={})]
    )
    sink.set_field("86abc", "currency", "EUR")
    assert route.call_count == 2


def test_set_field_refuses_a_fact_it_does_not_own(
    client: ClickUpClient, api: respx.MockRouter
) -> None:
    settings = make_settings(fields={"arbridge_key": "arbridge key"})
    schema = build_list_schema(LIST_ID, list_body()["statuses"], FIELDS, settings)
    sink = ClickUpSink(client, schema, ZONE, {})
    with pytest.raises(PermanentError, match="'aging' is not mapped"):
        sink.set_field("86abc", "aging", "1-30")
    assert len(api.calls) == 0


def test_post_comment(sink: ClickUpSink, api: respx.MockRouter) -> None:
    route = api.post("/task/86abc/comment").mock(
        return_value=httpx.Response(
            200, json={"id": 458, "hist_id": "26508", "date": 1568036964079}
        )
    )
    assert sink.post_comment("86abc", "Reminder sent") == "458"
    assert json.loads(route.calls.last.request.content) == {
        "comment_text": "Reminder sent",
        "notify_all": False,
    }


def test_iter_tasks_reads_every_page_in_canonical_form(
    sink: ClickUpSink, api: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    full = task_json(
        "86abc",
        key=KEY,
        status="Partially Paid",
        due_date=str(noon("2026-10-31")),
        values={
            "Invoice number": "1042",
            "Customer": "Acme GmbH",
            "Source": 0,
            "Invoice status": 2,
            "Currency": "USD",
            "Invoice total": "1234.5",
            "Amount due": "234",
            "Issue date": str(noon("2026-10-01")),
            "Due date": str(noon("2026-10-31")),
            "Aging": 4,
            "Invoice link": FULL_FIELDS["link"],
            "Risk score": "35",
            "Predicted pay date": str(noon("2026-11-20")),
            "Queue rank": "2",
            "Invoice checks": "no billing email",
        },
    )
    filler = [task_json(f"f{i}", key=f"{KEY}-{i}", status="Open") for i in range(99)]
    foreign = task_json("zz1", status="in review", values={"Aging": 42})
    route = api.get(f"/list/{LIST_ID}/task").mock(
        side_effect=[
            httpx.Response(200, json={"tasks": [full, *filler], "last_page": False}),
            httpx.Response(200, json={"tasks": [foreign], "last_page": True}),
        ]
    )
    tasks = list(sink.iter_tasks())

    assert route.call_count == 2
    params = route.calls.last.request.url.params
    assert (params["include_closed"], params["page"]) == ("true", "1")
    assert len(tasks) == 101
    assert tasks[0] == RemoteTask(
        task_id="86abc",
        key=KEY,
        name="Task 86abc",
        status="partially_paid",
        due_date="2026-10-31",
        fields=FULL_FIELDS,
    )
    assert tasks[1].status == "open"
    unknown = tasks[-1]
    assert (unknown.key, unknown.status, unknown.due_date) == (None, None, None)
    assert unknown.fields == dict.fromkeys(FULL_FIELDS)
    assert "aging" in caplog.text  # an option arbridge doesn't know is reported, read as unset


def test_resolve_members_maps_emails_to_user_ids(
    client: ClickUpClient, api: respx.MockRouter
) -> None:
    api.get("/team").mock(return_value=httpx.Response(200, json=TEAM_BODY))
    assert resolve_members(client, TEAM_ID) == {"john@acme.example": 123, "ann@acme.example": 456}
    assert resolve_members(client, None) == {"john@acme.example": 123, "ann@acme.example": 456}
    with pytest.raises(ConfigError) as caught:
        resolve_members(client, "999")
    assert caught.value.problems == [
        'clickup.team_id: the token has no access to workspace "999"; its workspaces are: '
        '"1234" (Acme Workspace)'
    ]


def test_close_closes_the_client(sink: ClickUpSink, client: ClickUpClient) -> None:
    sink.close()
    with pytest.raises(RuntimeError):
        client.request("GET", "/team")


# --- rule actions against the emulator ------------------------------------------------------

RULES_LIST = "900200"


@pytest.fixture
def workspace() -> Iterator[tuple[EmulatorState, ClickUpSink]]:
    """The demo workspace plus a list with custom fields that no fact mirrors, served on
    loopback; the sink is built the way the daemon builds it."""
    state = default_workspace()
    state.add_list(
        RULES_LIST,
        "9002",
        "Receivables with rule fields",
        statuses=RECEIVABLE_STATUSES,
        fields=(
            *RECEIVABLE_FIELDS,
            FieldSpec("Collection stage", "drop_down", ("soft", "firm", "legal")),
            FieldSpec("Escalated on", "date"),
            FieldSpec("Collector note", "short_text"),
            FieldSpec("Call count", "number"),
            FieldSpec("Reviewed", "checkbox"),
        ),
    )
    with LoopbackServer(create_app(state, rate_limit=None)) as server:
        settings = Settings(
            clickup={
                "token": DEMO_TOKEN,
                "base_url": server.base_url + "/api/v2",
                "list_id": RULES_LIST,
                "team_id": DEMO_TEAM_ID,
            },
            company={"timezone": "Europe/Berlin"},
        )
        sink = connector.build_sink(settings, secrets=[DEMO_TOKEN])
        try:
            yield state, sink
        finally:
            sink.close()


def _task(state: EmulatorState, sink: ClickUpSink, key: str = KEY) -> str:
    return sink.create_task(
        TaskSpec(
            key=key,
            name="1042 · Acme GmbH",
            description="Invoice 1042",
            status="overdue",
            due_date=date(2026, 10, 31),
            fields={"arbridge_key": key},
        )
    )


def test_add_tag_twice_leaves_one_tag(workspace: tuple[EmulatorState, ClickUpSink]) -> None:
    state, sink = workspace
    task_id = _task(state, sink)
    sink.add_tag(task_id, "Escalated")
    sink.add_tag(task_id, "escalated")
    sink.add_tag(task_id, "needs call")
    assert state.tasks[task_id].tags == ["escalated", "needs call"]


def test_set_rule_field_converts_by_the_field_type(
    workspace: tuple[EmulatorState, ClickUpSink],
) -> None:
    state, sink = workspace
    task_id = _task(state, sink)
    sink.set_rule_field(task_id, "Collection stage", "Firm")
    sink.set_rule_field(task_id, "escalated on", date(2026, 11, 3))
    sink.set_rule_field(task_id, "Collector note", "call on Monday")
    sink.set_rule_field(task_id, "Call count", 2)
    sink.set_rule_field(task_id, "Reviewed", True)
    shown = {
        f.name: state.display_value(state.tasks[task_id], f)
        for f in state.fields.values()
        if f.id in state.lists[RULES_LIST].field_ids
    }
    assert shown["Collection stage"] == "firm"
    assert shown["Escalated on"] == "2026-11-03"
    assert shown["Collector note"] == "call on Monday"
    assert shown["Call count"] == "2"
    assert (
        state.tasks[task_id].values[
            next(f.id for f in state.fields.values() if f.name == "Reviewed")
        ]
        is True
    )
    sink.set_rule_field(task_id, "Collector note", None)
    note = next(f for f in state.fields.values() if f.name == "Collector note")
    assert state.display_value(state.tasks[task_id], note) is None


def test_set_rule_field_refuses_unknown_mirrored_and_unfit_fields(
    workspace: tuple[EmulatorState, ClickUpSink],
) -> None:
    state, sink = workspace
    task_id = _task(state, sink)
    with pytest.raises(PermanentError) as unknown:
        sink.set_rule_field(task_id, "Colection stage", "firm")
    assert str(unknown.value) == (
        'the ClickUp list has no custom field named "Colection stage" (a rule sets it; the API '
        "cannot create fields: add it in ClickUp)"
    )
    with pytest.raises(PermanentError) as mirrored:
        sink.set_rule_field(task_id, "Amount due", 5)
    assert str(mirrored.value) == (
        'custom field "Amount due" mirrors clickup.fields.amount_due; a rule may not set it'
    )
    with pytest.raises(PermanentError) as option:
        sink.set_rule_field(task_id, "Collection stage", "gentle")
    assert str(option.value) == (
        "custom field \"Collection stage\": no option 'gentle' (options: soft, firm, legal)"
    )
    with pytest.raises(PermanentError, match="checkbox takes true or false"):
        sink.set_rule_field(task_id, "Reviewed", "yes")


def test_subtasks_are_found_by_their_marker_under_their_parent(
    workspace: tuple[EmulatorState, ClickUpSink],
) -> None:
    state, sink = workspace
    parent = _task(state, sink)
    other = _task(state, sink, key="qbo:9130:1043")
    call = SubtaskSpec(
        name="Call Acme GmbH",
        marker="arbridge subtask 0123456789abcdef",
        assignees=("sam@example.com",),
        due_date=date(2026, 11, 4),
    )
    assert sink.find_subtask(parent, call.marker) is None
    created = sink.create_subtask(parent, call)
    subtask = state.tasks[created]
    assert subtask.parent == parent
    assert subtask.name == "Call Acme GmbH"
    assert subtask.assignees == [81002]
    assert sink.find_subtask(parent, call.marker) == created
    assert sink.find_subtask(other, call.marker) is None
    # The mirror's own listing and key search never see subtasks.
    assert {t.task_id for t in sink.iter_tasks()} == {parent, other}
    assert sink.find_task(KEY) == parent
