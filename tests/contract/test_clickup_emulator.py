"""The ClickUp emulator against ClickUp's documented behaviour and its official OpenAPI document.

Everything goes over real HTTP to an emulator served by ``LoopbackServer``; bulk set-up (250
tasks) goes through ``EmulatorState`` directly, which runs the same rules without the wire.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import socket
import time
from typing import Any

import httpx
import pytest
from arbridge_clickup.emulator import (
    BOT_USER_ID,
    DEMO_LIST_ID,
    DEMO_TEAM_ID,
    DEMO_TOKEN,
    ClickUpError,
    EmulatorState,
    FieldDef,
    Task,
    WebhookDispatcher,
    create_app,
    default_workspace,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from arbridge.testing import LoopbackServer

from .conftest import OpenApi, Receiver, Served

ADA = 81001
SAM = 81002
MISSING = object()
JAN_1_2025 = 1_735_689_600_000
DAY = 86_400_000


class FakeTime:
    """A clock callable for rate-limit windows and task dates."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def field(state: EmulatorState, name: str) -> FieldDef:
    return state.field_by_name(DEMO_LIST_ID, name)


def option_id(state: EmulatorState, name: str, option: str) -> str:
    return field(state, name).option_named(option).id


def value_of(task: dict[str, Any], name: str) -> Any:
    for item in task["custom_fields"]:
        if item["name"] == name:
            return item.get("value", MISSING)
    raise AssertionError(f"task has no field {name}")


def create(api: httpx.Client, **body: Any) -> dict[str, Any]:
    response = api.post(f"/list/{DEMO_LIST_ID}/task", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def seed_task(state: EmulatorState, name: str, **body: Any) -> Task:
    return state.create_task(DEMO_LIST_ID, {"name": name, **body}, user_id=BOT_USER_ID)


def list_tasks(api: httpx.Client, **params: Any) -> dict[str, Any]:
    response = api.get(f"/list/{DEMO_LIST_ID}/task", params=params)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def names(page: dict[str, Any]) -> set[str]:
    return {t["name"] for t in page["tasks"]}


# --- auth ---------------------------------------------------------------------------------


def test_missing_authorization_header_is_oauth_017(emulator: Served, openapi: OpenApi) -> None:
    response = httpx.get(f"{emulator.api_url}/team")
    assert response.status_code == 401
    assert response.json() == {"err": "Authorization header required", "ECODE": "OAUTH_017"}
    openapi.validate(response.json(), "POST", "/v2/task/{task_id}/field/{field_id}", "400")


def test_unknown_token_is_oauth_019(emulator: Served) -> None:
    response = httpx.get(f"{emulator.api_url}/team", headers={"Authorization": "pk_nope"})
    assert response.status_code == 401
    assert response.json() == {"err": "Token invalid", "ECODE": "OAUTH_019"}


def test_bearer_token_is_accepted(emulator: Served) -> None:
    response = httpx.get(
        f"{emulator.api_url}/team", headers={"Authorization": f"Bearer {DEMO_TOKEN}"}
    )
    assert response.status_code == 200
    assert [t["id"] for t in response.json()["teams"]] == [DEMO_TEAM_ID]


def test_objects_of_another_team_or_unknown_ids_are_oauth_027(
    emulator: Served, api: httpx.Client
) -> None:
    state = emulator.state
    state.add_team("9100", "Other", [SAM])
    state.add_space("9101", "9100", "Other space")
    state.add_folder("9102", "9101", "Other folder")
    state.add_list("910100", "9102", "Other list", statuses=[("to do", "open", "#ddd")])
    state.add_token("pk_other_team", SAM, ["9100"])
    foreign = state.create_task("910100", {"name": "not yours"}, user_id=SAM)
    expected = {"err": "Team not authorized", "ECODE": "OAUTH_027"}
    for path in ("/list/910100", f"/task/{foreign.id}", "/team/9100/task", "/task/doesnotexist"):
        response = api.get(path)
        assert (response.status_code, response.json()) == (401, expected), path
    other = httpx.get(
        f"{emulator.api_url}/list/{DEMO_LIST_ID}", headers={"Authorization": "pk_other_team"}
    )
    assert (other.status_code, other.json()) == (401, expected)


# --- team, list, fields -------------------------------------------------------------------


def test_team_lists_the_demo_members(api: httpx.Client, openapi: OpenApi) -> None:
    body = api.get("/team").json()
    openapi.validate(body, "GET", "/v2/team")
    members = {m["user"]["id"]: m["user"] for m in body["teams"][0]["members"]}
    assert members[BOT_USER_ID]["username"] == "arbridge-bot"
    assert members[BOT_USER_ID]["email"] == "bot@example.com"
    assert {u["username"] for u in members.values()} == {
        "arbridge-bot",
        "Ada Collector",
        "Sam Senior",
        "Mia Manager",
    }


def test_list_carries_the_receivable_statuses(api: httpx.Client, openapi: OpenApi) -> None:
    body = api.get(f"/list/{DEMO_LIST_ID}").json()
    openapi.validate(body, "GET", "/v2/list/{list_id}")
    assert body["name"] == "Receivables"
    assert body["override_statuses"] is True
    assert [(s["status"], s["type"], s["orderindex"]) for s in body["statuses"]] == [
        ("draft", "open", 0),
        ("open", "custom", 1),
        ("overdue", "custom", 2),
        ("partially paid", "custom", 3),
        ("promise to pay", "custom", 4),
        ("disputed", "custom", 5),
        ("escalated", "custom", 6),
        ("paid", "closed", 7),
        ("void", "closed", 8),
        ("uncollectible", "closed", 9),
    ]


def test_fields_are_typed_with_stable_option_uuids(api: httpx.Client, openapi: OpenApi) -> None:
    body = api.get(f"/list/{DEMO_LIST_ID}/field").json()
    openapi.validate(body, "GET", "/v2/list/{list_id}/field")
    types = {f["name"]: f["type"] for f in body["fields"]}
    assert len(types) == 20
    assert types["Invoice status"] == "drop_down"
    assert types["Invoice total"] == "number"
    assert types["Due date"] == "date"
    assert types["Invoice link"] == "url"
    assert types["Days overdue"] == "formula"
    aging = next(f for f in body["fields"] if f["name"] == "Aging")
    options = aging["type_config"]["options"]
    assert [(o["name"], o["orderindex"]) for o in options] == [
        ("current", 0),
        ("1-30", 1),
        ("31-60", 2),
        ("61-90", 3),
        ("90+", 4),
    ]
    again = default_workspace().fields_json(default_workspace().lists[DEMO_LIST_ID])["fields"]
    assert [f["id"] for f in again] == [f["id"] for f in body["fields"]]
    assert next(f for f in again if f["name"] == "Aging")["type_config"]["options"] == options


# --- creating tasks -----------------------------------------------------------------------


def test_create_task_reads_custom_fields_back_in_clickup_format(
    emulator: Served, api: httpx.Client
) -> None:
    state = emulator.state
    task = create(
        api,
        name="INV-1001 Acme",
        status="open",
        priority=2,
        due_date=JAN_1_2025,
        due_date_time=False,
        assignees=[ADA],
        tags=["Quickbooks"],
        custom_fields=[
            {"id": field(state, "Invoice number").id, "value": "1001"},
            {"id": field(state, "Source").id, "value": option_id(state, "Source", "stripe")},
            {"id": field(state, "Aging").id, "value": 3},
            {"id": field(state, "Invoice total").id, "value": 1200.5},
            {"id": field(state, "Amount due").id, "value": 1200.0},
            {"id": field(state, "Due date").id, "value": JAN_1_2025},
            {"id": field(state, "Invoice link").id, "value": "https://qbo.example/inv/1001"},
            {"id": field(state, "Risk score").id, "value": None},
        ],
    )
    assert task["name"] == "INV-1001 Acme"
    assert task["status"]["status"] == "open"
    assert task["status"]["type"] == "custom"
    assert task["priority"] == {
        "id": "2",
        "priority": "high",
        "color": "#ffcc00",
        "orderindex": "2",
    }
    assert task["due_date"] == str(JAN_1_2025)
    assert task["date_created"].isdigit()
    assert task["date_updated"] == task["date_created"]
    assert task["date_closed"] is None
    assert [a["id"] for a in task["assignees"]] == [ADA]
    assert [t["name"] for t in task["tags"]] == ["quickbooks"]
    assert task["list"]["id"] == DEMO_LIST_ID
    assert task["folder"]["id"] == "9002"
    assert task["space"]["id"] == "9001"
    assert task["team_id"] == DEMO_TEAM_ID
    assert task["url"] == f"https://app.clickup.com/t/{task['id']}"
    assert re.fullmatch(r"AR-\d+", task["custom_id"])
    assert task["creator"]["id"] == BOT_USER_ID
    # Numbers read back as strings, drop-downs as the option's orderindex, dates as ms strings.
    assert value_of(task, "Invoice number") == "1001"
    assert value_of(task, "Source") == 1
    assert value_of(task, "Aging") == 3
    assert value_of(task, "Invoice total") == "1200.5"
    assert value_of(task, "Amount due") == "1200"
    assert value_of(task, "Due date") == str(JAN_1_2025)
    assert value_of(task, "Invoice link") == "https://qbo.example/inv/1001"
    assert value_of(task, "Risk score") is MISSING
    assert value_of(task, "Customer") is MISSING
    assert len(task["custom_fields"]) == 20
    fetched = api.get(f"/task/{task['id']}").json()
    assert fetched["custom_fields"] == task["custom_fields"]


def test_formula_field_is_computed_and_read_only(emulator: Served, api: httpx.Client) -> None:
    state = emulator.state
    now = FakeTime(JAN_1_2025 / 1000 + 10 * DAY / 1000 + 3600)
    state.clock = now
    task = create(
        api, name="late", custom_fields=[{"id": field(state, "Due date").id, "value": JAN_1_2025}]
    )
    assert value_of(task, "Days overdue") == "10"
    response = api.post(
        f"/task/{task['id']}/field/{field(state, 'Days overdue').id}", json={"value": 3}
    )
    assert response.status_code == 400


def test_create_response_matches_the_spec(api: httpx.Client, openapi: OpenApi) -> None:
    plain = create(api, name="plain", description="hello", priority=None)
    openapi.validate(plain, "POST", "/v2/list/{list_id}/task")
    openapi.validate(plain, "GET", "/v2/task/{task_id}")
    staffed = create(api, name="staffed", assignees=[ADA], tags=["vip"], priority=1)
    # Create Task's schema types assignees/tags as strings; Get Task types the same objects.
    assert openapi.errors(staffed, "POST", "/v2/list/{list_id}/task")
    openapi.validate(staffed, "POST", "/v2/list/{list_id}/task", errata=True)
    openapi.validate(api.get(f"/task/{staffed['id']}").json(), "GET", "/v2/task/{task_id}")


def test_markdown_content_wins_over_description(api: httpx.Client) -> None:
    task = create(api, name="md", description="plain", markdown_content="**bold**")
    assert task["description"] == "**bold**"
    assert task["markdown_description"] == "**bold**"
    plain = api.get(f"/task/{task['id']}").json()
    assert "markdown_description" not in plain
    with_md = api.get(f"/task/{task['id']}", params={"include_markdown_description": "true"})
    assert with_md.json()["markdown_description"] == "**bold**"


@pytest.mark.parametrize(
    ("body", "err"),
    [
        ({"status": "nonexistent"}, "Status does not exist"),
        ({"priority": 5}, "Priority invalid"),
        ({"assignees": [424242]}, "User 424242 is not a member of the workspace"),
        ({"due_date": "tomorrow"}, "due_date must be a Unix time in milliseconds"),
        ({"name": ""}, "Task name invalid"),
    ],
)
def test_invalid_create_is_400_and_creates_nothing(
    emulator: Served, api: httpx.Client, body: dict[str, Any], err: str
) -> None:
    response = api.post(f"/list/{DEMO_LIST_ID}/task", json={"name": "x", **body})
    assert response.status_code == 400
    assert response.json()["err"] == err
    assert emulator.state.tasks_in_list(DEMO_LIST_ID) == []


def test_invalid_custom_field_rejects_the_whole_create(
    emulator: Served, api: httpx.Client, openapi: OpenApi
) -> None:
    state = emulator.state
    response = api.post(
        f"/list/{DEMO_LIST_ID}/task",
        json={
            "name": "half valid",
            "custom_fields": [
                {"id": field(state, "Customer").id, "value": "Acme"},
                {"id": field(state, "Source").id, "value": "stripe"},
            ],
        },
    )
    assert response.status_code == 400
    assert response.json() == {"err": "Value must be an option index or uuid", "ECODE": "FIELD_011"}
    openapi.validate(response.json(), "POST", "/v2/task/{task_id}/field/{field_id}", "400")
    assert emulator.state.tasks == {}


def test_create_without_a_body_is_400(api: httpx.Client) -> None:
    response = api.post(f"/list/{DEMO_LIST_ID}/task", content=b"not json")
    assert response.status_code == 400
    assert set(response.json()) == {"err", "ECODE"}


# --- updating and deleting ----------------------------------------------------------------


def test_update_applies_documented_semantics(
    emulator: Served, api: httpx.Client, openapi: OpenApi
) -> None:
    task = create(
        api, name="upd", description="old", due_date=JAN_1_2025, assignees=[ADA], priority=3
    )
    response = api.put(
        f"/task/{task['id']}",
        json={
            "name": "renamed",
            "status": "Overdue",
            "priority": 1,
            "due_date": None,
            "description": " ",
            "assignees": {"add": [SAM], "rem": [ADA]},
        },
    )
    assert response.status_code == 200
    updated = response.json()
    openapi.validate(updated, "PUT", "/v2/task/{task_id}", errata=True)
    assert updated["name"] == "renamed"
    assert updated["status"]["status"] == "overdue"
    assert updated["priority"]["priority"] == "urgent"
    assert updated["due_date"] is None
    assert updated["description"] == ""
    assert [a["id"] for a in updated["assignees"]] == [SAM]
    assert int(updated["date_updated"]) >= int(task["date_updated"])
    cleared = api.put(f"/task/{task['id']}", json={"priority": None}).json()
    assert cleared["priority"] is None


def test_update_ignores_custom_fields_and_validates_status(
    emulator: Served, api: httpx.Client
) -> None:
    state = emulator.state
    task = create(api, name="cf")
    body = {"custom_fields": [{"id": field(state, "Customer").id, "value": "Acme"}]}
    ignored = api.put(f"/task/{task['id']}", json=body).json()
    assert value_of(ignored, "Customer") is MISSING
    bad = api.put(f"/task/{task['id']}", json={"status": "archived-ish"})
    assert bad.status_code == 400
    assert bad.json()["err"] == "Status does not exist"


def test_closing_and_reopening_sets_and_clears_date_closed(api: httpx.Client) -> None:
    task = create(api, name="close me")
    closed = api.put(f"/task/{task['id']}", json={"status": "paid"}).json()
    assert closed["date_closed"] is not None
    assert closed["status"]["type"] == "closed"
    reopened = api.put(f"/task/{task['id']}", json={"status": "open"}).json()
    assert reopened["date_closed"] is None


def test_delete_task(emulator: Served, api: httpx.Client) -> None:
    task = create(api, name="doomed")
    assert api.delete(f"/task/{task['id']}").status_code == 204
    assert api.get(f"/task/{task['id']}").status_code == 401
    assert task["id"] not in emulator.state.tasks


def test_custom_task_ids_need_the_team_id(api: httpx.Client) -> None:
    task = create(api, name="by custom id")
    custom = task["custom_id"]
    missing_team = api.get(f"/task/{custom}", params={"custom_task_ids": "true"})
    assert missing_team.status_code == 400
    found = api.get(f"/task/{custom}", params={"custom_task_ids": "true", "team_id": DEMO_TEAM_ID})
    assert found.status_code == 200
    assert found.json()["id"] == task["id"]
    renamed = api.put(
        f"/task/{custom}",
        params={"custom_task_ids": "true", "team_id": DEMO_TEAM_ID},
        json={"name": "renamed by custom id"},
    )
    assert renamed.json()["name"] == "renamed by custom id"


# --- setting and clearing custom fields ---------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "read_back"),
    [
        ("Customer", "Acme & Co", "Acme & Co"),
        ("Invoice checks", "line one\nline two", "line one\nline two"),
        ("Amount due", 12.0, "12"),
        ("Risk score", 0.375, "0.375"),
        ("Issue date", JAN_1_2025, str(JAN_1_2025)),
        ("Invoice link", "https://example.com/i/1?x=1", "https://example.com/i/1?x=1"),
        ("Aging", 4, 4),
        ("Invoice status", "uuid:paid", 3),
    ],
)
def test_set_field_reads_back_in_read_format(
    emulator: Served, api: httpx.Client, name: str, value: Any, read_back: Any
) -> None:
    state = emulator.state
    if isinstance(value, str) and value.startswith("uuid:"):
        value = option_id(state, name, value.removeprefix("uuid:"))
    task = create(api, name="fields")
    response = api.post(f"/task/{task['id']}/field/{field(state, name).id}", json={"value": value})
    assert (response.status_code, response.json()) == (200, {})
    assert value_of(api.get(f"/task/{task['id']}").json(), name) == read_back


@pytest.mark.parametrize(
    ("name", "value", "err", "ecode"),
    [
        ("Source", "stripe", "Value must be an option index or uuid", "FIELD_011"),
        ("Source", 7, "Value must be an option index or uuid", "FIELD_011"),
        ("Customer", 1042, "Value is not a valid string", "FIELD_005"),
        ("Invoice checks", ["a"], "Value is not a valid string", "FIELD_005"),
        ("Amount due", "12.50", "Value is not a valid number", "FIELD_008"),
        ("Amount due", True, "Value is not a valid number", "FIELD_008"),
        ("Due date", "2025-01-01", "Value is not a valid date", "FIELD_017"),
        ("Due date", 1.5, "Value is not a valid date", "FIELD_017"),
        ("Invoice link", "not a url", "Value is not a valid url", "FIELD_006"),
        ("Days overdue", 3, "Cannot set the value of a formula field", "FIELD_026"),
    ],
)
def test_set_field_rejects_values_of_the_wrong_type(
    emulator: Served,
    api: httpx.Client,
    openapi: OpenApi,
    name: str,
    value: Any,
    err: str,
    ecode: str,
) -> None:
    state = emulator.state
    task = create(api, name="strict")
    response = api.post(f"/task/{task['id']}/field/{field(state, name).id}", json={"value": value})
    assert response.status_code == 400
    assert response.json() == {"err": err, "ECODE": ecode}
    openapi.validate(response.json(), "POST", "/v2/task/{task_id}/field/{field_id}", "400")
    assert value_of(api.get(f"/task/{task['id']}").json(), name) is MISSING


def test_clear_field_and_unknown_field(emulator: Served, api: httpx.Client) -> None:
    state = emulator.state
    customer = field(state, "Customer").id
    task = create(api, name="clear", custom_fields=[{"id": customer, "value": "Acme"}])
    assert value_of(task, "Customer") == "Acme"
    response = api.delete(f"/task/{task['id']}/field/{customer}")
    assert (response.status_code, response.json()) == (200, {})
    assert value_of(api.get(f"/task/{task['id']}").json(), "Customer") is MISSING
    unknown = api.post(f"/task/{task['id']}/field/00000000-dead-beef", json={"value": "x"})
    assert unknown.status_code == 400
    assert unknown.json()["ECODE"] == "FIELD_115"


def test_field_validation_without_http(emulator: Served) -> None:
    state = emulator.state
    task = seed_task(state, "direct")
    with pytest.raises(ClickUpError) as caught:
        state.set_field(task, field(state, "Customer").id, {"value": 5}, user_id=BOT_USER_ID)
    assert (caught.value.status, caught.value.ecode) == (400, "FIELD_005")


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15))
@settings(max_examples=200, deadline=None)
def test_numbers_read_back_as_strings_of_the_same_value(number: float) -> None:
    state = default_workspace()
    task = seed_task(state, "n")
    state.set_field(task, field(state, "Amount due").id, {"value": number}, user_id=BOT_USER_ID)
    read = value_of(state.task_json(task), "Amount due")
    assert isinstance(read, str)
    assert float(read) == number
    if number.is_integer():
        assert read == str(int(number))


# --- listing and filtering ----------------------------------------------------------------


def test_250_tasks_page_as_100_100_50(
    emulator: Served, api: httpx.Client, openapi: OpenApi
) -> None:
    for i in range(250):
        seed_task(emulator.state, f"T{i:03d}")
    pages = [list_tasks(api, page=n) for n in range(4)]
    assert [len(p["tasks"]) for p in pages] == [100, 100, 50, 0]
    assert [p["last_page"] for p in pages] == [False, False, True, True]
    seen = [t["id"] for p in pages for t in p["tasks"]]
    assert len(seen) == len(set(seen)) == 250
    openapi.validate(pages[2], "GET", "/v2/list/{list_id}/task")
    # Newest first unless reversed.
    assert pages[0]["tasks"][0]["name"] == "T249"
    assert list_tasks(api, reverse="true")["tasks"][0]["name"] == "T000"


def test_closed_tasks_need_include_closed(emulator: Served, api: httpx.Client) -> None:
    state = emulator.state
    seed_task(state, "open one", status="open")
    seed_task(state, "paid one", status="paid")
    seed_task(state, "void one", status="void")
    assert names(list_tasks(api)) == {"open one"}
    assert names(list_tasks(api, include_closed="true")) == {"open one", "paid one", "void one"}
    only_paid = api.get(
        f"/list/{DEMO_LIST_ID}/task", params=[("statuses[]", "paid"), ("include_closed", "true")]
    ).json()
    assert names(only_paid) == {"paid one"}


def test_custom_fields_filter_exact_and_contains(emulator: Served, api: httpx.Client) -> None:
    state = emulator.state
    key = field(state, "arbridge key").id
    for value in ("qbo:1042", "qbo:10420", "QBO:1042-B"):
        seed_task(state, value, custom_fields=[{"id": key, "value": value}])
    seed_task(state, "no key")

    def matching(op: str, value: Any) -> set[str]:
        filters = json.dumps([{"field_id": key, "operator": op, "value": value}])
        return names(list_tasks(api, custom_fields=filters))

    assert matching("==", "qbo:1042") == {"qbo:1042"}
    assert matching("=", "qbo:1042") == {"qbo:1042", "qbo:10420", "QBO:1042-B"}
    assert matching("!=", "1042") == set()
    filters = json.dumps([{"field_id": key, "operator": "IS NULL"}])
    assert names(list_tasks(api, custom_fields=filters)) == {"no key"}


def test_custom_fields_filter_numbers_dates_and_choices(
    emulator: Served, api: httpx.Client
) -> None:
    state = emulator.state
    due, aging = field(state, "Amount due").id, field(state, "Aging").id
    for amount, bucket in ((50, 0), (150, 1), (250, 4)):
        seed_task(
            state,
            f"due {amount}",
            custom_fields=[{"id": due, "value": amount}, {"id": aging, "value": bucket}],
        )
    seed_task(state, "no amount")

    def matching(*filters: dict[str, Any]) -> set[str]:
        return names(list_tasks(api, custom_fields=json.dumps(list(filters))))

    assert matching({"field_id": due, "operator": ">", "value": 100}) == {"due 150", "due 250"}
    assert matching({"field_id": due, "operator": "<=", "value": "150"}) == {"due 50", "due 150"}
    assert matching({"field_id": due, "operator": "RANGE", "value": [100, 200]}) == {"due 150"}
    assert matching({"field_id": due, "operator": "IS NOT NULL"}) == {
        "due 50",
        "due 150",
        "due 250",
    }
    by_uuid = option_id(state, "Aging", "90+")
    assert matching({"field_id": aging, "operator": "==", "value": by_uuid}) == {"due 250"}
    assert matching({"field_id": aging, "operator": "=", "value": 1}) == {"due 150"}
    assert matching(
        {"field_id": due, "operator": ">=", "value": 50},
        {"field_id": aging, "operator": "!=", "value": 0},
    ) == {"due 150", "due 250"}


def test_bad_custom_fields_filters_are_400(api: httpx.Client) -> None:
    for raw in ("not json", json.dumps([{"field_id": "nope", "operator": "=", "value": 1}])):
        response = api.get(f"/list/{DEMO_LIST_ID}/task", params={"custom_fields": raw})
        assert response.status_code == 400, raw
        assert set(response.json()) == {"err", "ECODE"}


def test_date_updated_gt_and_order_by(emulator: Served, api: httpx.Client) -> None:
    state = emulator.state
    now = FakeTime(1_800_000_000.0)
    state.clock = now
    first = seed_task(state, "first", due_date=JAN_1_2025 + 2 * DAY)
    now.now += 10
    second = seed_task(state, "second", due_date=JAN_1_2025)
    now.now += 10
    state.update_task(first, {"name": "first, touched"}, user_id=BOT_USER_ID)
    changed = list_tasks(api, date_updated_gt=second.date_updated)
    assert names(changed) == {"first, touched"}
    by_updated = list_tasks(api, order_by="updated")
    assert [t["name"] for t in by_updated["tasks"]] == ["first, touched", "second"]
    by_due = list_tasks(api, order_by="due_date", reverse="true")
    assert [t["name"] for t in by_due["tasks"]] == ["second", "first, touched"]


def test_filtered_team_tasks(emulator: Served, api: httpx.Client, openapi: OpenApi) -> None:
    state = emulator.state
    seed_task(state, "in receivables", assignees=[ADA])
    seed_task(state, "closed", status="paid")
    body = api.get(f"/team/{DEMO_TEAM_ID}/task", params=[("list_ids[]", DEMO_LIST_ID)]).json()
    assert names(body) == {"in receivables"}
    assert body["last_page"] is True
    for task in body["tasks"]:
        openapi.validate(task, "GET", "/v2/task/{task_id}")
    elsewhere = api.get(f"/team/{DEMO_TEAM_ID}/task", params=[("list_ids[]", "1")]).json()
    assert elsewhere["tasks"] == []
    by_assignee = api.get(
        f"/team/{DEMO_TEAM_ID}/task", params=[("assignees[]", str(SAM)), ("include_closed", "true")]
    ).json()
    assert by_assignee["tasks"] == []


# --- comments -----------------------------------------------------------------------------


def test_add_tag_matches_the_spec_and_keeps_tags_a_set(api: httpx.Client, openapi: OpenApi) -> None:
    task = create(api, name="tagged", tags=["vip"])
    response = api.post(f"/task/{task['id']}/tag/Needs%20Call")
    assert response.status_code == 200, response.text
    openapi.validate(response.json(), "POST", "/v2/task/{task_id}/tag/{tag_name}")
    assert api.post(f"/task/{task['id']}/tag/needs call").status_code == 200
    read = api.get(f"/task/{task['id']}").json()
    assert [t["name"] for t in read["tags"]] == ["vip", "needs call"]
    openapi.validate(read, "GET", "/v2/task/{task_id}")
    assert api.post("/task/nosuchtask/tag/vip").status_code in (401, 404)


def test_subtasks_have_a_parent_and_are_listed_only_when_asked(
    api: httpx.Client, openapi: OpenApi
) -> None:
    parent = create(api, name="invoice task")
    child = create(api, name="call the customer", parent=parent["id"])
    openapi.validate(child, "POST", "/v2/list/{list_id}/task")
    assert child["parent"] == parent["id"]
    assert names(list_tasks(api)) == {"invoice task"}
    listed = list_tasks(api, subtasks="true")
    assert names(listed) == {"invoice task", "call the customer"}
    openapi.validate(listed, "GET", "/v2/list/{list_id}/task")
    wrong = api.post(f"/list/{DEMO_LIST_ID}/task", json={"name": "x", "parent": "nosuchtask"})
    assert wrong.status_code == 400
    assert wrong.json()["ECODE"] == "ITEM_137"


def test_a_new_tag_is_a_task_tag_updated_event(
    emulator: Served, api: httpx.Client, receiver: Receiver
) -> None:
    emulator.app.dispatcher.pause()
    register(api, receiver.url, ["taskTagUpdated"])
    task = create(api, name="to tag")
    api.post(f"/task/{task['id']}/tag/escalated")
    api.post(f"/task/{task['id']}/tag/escalated")  # already there: no event
    attempts = emulator.app.dispatcher.flush()
    assert [a.delivery.event for a in attempts] == ["taskTagUpdated"]
    item = json.loads(attempts[0].delivery.body)["history_items"][0]
    assert (item["field"], item["after"]) == ("tag", [{"name": "escalated"}])


def test_comment_needs_text_and_notify_all(api: httpx.Client, openapi: OpenApi) -> None:
    task = create(api, name="talk")
    for body in ({"comment_text": "hi"}, {"notify_all": False}, {}):
        response = api.post(f"/task/{task['id']}/comment", json=body)
        assert response.status_code == 400, body
    ok = api.post(f"/task/{task['id']}/comment", json={"comment_text": "hi", "notify_all": False})
    assert ok.status_code == 200
    openapi.validate(ok.json(), "POST", "/v2/task/{task_id}/comment")
    assert set(ok.json()) == {"id", "hist_id", "date"}


def test_comments_page_newest_first_with_start_and_start_id(
    emulator: Served, api: httpx.Client, openapi: OpenApi
) -> None:
    state = emulator.state
    now = FakeTime()
    state.clock = now
    task = create(api, name="chatty")
    for i in range(30):
        now.now += 1
        body = {"comment_text": f"c{i}", "notify_all": False}
        if i == 29:
            body["assignee"] = ADA
        assert api.post(f"/task/{task['id']}/comment", json=body).status_code == 200
    first = api.get(f"/task/{task['id']}/comment").json()
    texts = [c["comment_text"] for c in first["comments"]]
    assert texts == [f"c{i}" for i in range(29, 4, -1)]
    assert first["comments"][0]["assignee"]["id"] == ADA
    assert first["comments"][0]["user"]["id"] == BOT_USER_ID
    openapi.validate({"comments": first["comments"][:1]}, "GET", "/v2/task/{task_id}/comment")
    # Unassigned comments carry null assignees, which the published schema does not allow.
    openapi.validate(first, "GET", "/v2/task/{task_id}/comment", errata=True)
    last = first["comments"][-1]
    second = api.get(
        f"/task/{task['id']}/comment", params={"start": last["date"], "start_id": last["id"]}
    ).json()
    assert [c["comment_text"] for c in second["comments"]] == ["c4", "c3", "c2", "c1", "c0"]


# --- rate limiting and faults -------------------------------------------------------------


def test_rate_limit_answers_429_with_headers_until_the_window_resets(
    emulator: Served, api: httpx.Client, openapi: OpenApi
) -> None:
    now = FakeTime(1_800_000_000.25)
    emulator.app.limiter.limit = 3
    emulator.app.limiter.clock = now
    remaining = []
    for _ in range(3):
        response = api.get("/team")
        assert response.status_code == 200
        assert response.headers["X-RateLimit-Limit"] == "3"
        assert response.headers["X-RateLimit-Reset"] == "1800000061"
        remaining.append(response.headers["X-RateLimit-Remaining"])
    assert remaining == ["2", "1", "0"]
    throttled = api.get("/team")
    assert throttled.status_code == 429
    assert throttled.json() == {"err": "Rate limit reached", "ECODE": "APP_002"}
    openapi.validate(throttled.json(), "POST", "/v2/task/{task_id}/field/{field_id}", "400")
    assert throttled.headers["X-RateLimit-Remaining"] == "0"
    assert throttled.headers["X-RateLimit-Reset"] == "1800000061"
    other_token = httpx.get(f"{emulator.api_url}/team", headers={"Authorization": "pk_ada_token"})
    assert other_token.status_code == 200
    now.now += 61
    assert api.get("/team").status_code == 200
    assert emulator.state.stats()["http_429"] == 1


def test_rate_limit_headers_can_be_limited_to_429(emulator: Served, api: httpx.Client) -> None:
    emulator.app.limiter.limit = 1
    emulator.app.limiter.header_mode = "on_429"
    emulator.app.limiter.clock = FakeTime()
    ok = api.get("/team")
    assert ok.status_code == 200
    assert "X-RateLimit-Limit" not in ok.headers
    throttled = api.get("/team")
    assert throttled.status_code == 429
    assert throttled.headers["X-RateLimit-Limit"] == "1"


def test_forced_429_burst_set_over_http(
    emulator: Served, api: httpx.Client, control: httpx.Client
) -> None:
    settings_ = control.post("/_emulator/faults", json={"force_429": 2}).json()
    assert settings_["force_429"] == 2
    assert [api.get("/team").status_code for _ in range(3)] == [429, 429, 200]


def test_error_rate_is_seeded_and_reproducible(
    emulator: Served, api: httpx.Client, control: httpx.Client
) -> None:
    def run() -> list[int]:
        control.post("/_emulator/faults", json={"error_rate": 0.5, "seed": 7})
        return [api.get("/team").status_code for _ in range(20)]

    first, second = run(), run()
    assert first == second
    assert set(first) == {200, 500}
    control.post("/_emulator/faults", json={"error_rate": 1.0})
    failed = api.get("/team")
    assert failed.status_code == 500
    assert failed.json()["err"] == "Internal error"


def test_dropped_connection_gives_the_client_no_response(
    emulator: Served, api: httpx.Client, control: httpx.Client
) -> None:
    control.post("/_emulator/faults", json={"drop_rate": 1.0})
    with pytest.raises(httpx.RemoteProtocolError):
        api.get("/team")
    control.post("/_emulator/faults", json={"drop_rate": 0.0})
    assert api.get("/team").status_code == 200
    stats = emulator.state.stats()
    assert stats["requests"]["GET /team"] == 2
    assert (stats["dropped"], stats["statuses"]) == (1, {"200": 1})


def test_latency_is_added(emulator: Served, api: httpx.Client) -> None:
    emulator.app.faults.configure({"latency": 0.2})
    started = time.monotonic()
    assert api.get("/team").status_code == 200
    assert time.monotonic() - started >= 0.2


def test_fault_knobs_are_validated(control: httpx.Client) -> None:
    for body in ({"error_rate": 2}, {"bogus": 1}, {"rate_limit": 0}, {"force_429": -1}):
        assert control.post("/_emulator/faults", json=body).status_code == 400, body
    current = control.post("/_emulator/faults", json={"rate_limit": 50}).json()
    assert current["rate_limit"] == 50
    assert control.get("/_emulator/faults").json()["rate_limit"] == 50


# --- stats, reset, board ------------------------------------------------------------------


def test_stats_count_by_route_template_including_429s(
    emulator: Served, api: httpx.Client, control: httpx.Client
) -> None:
    first = create(api, name="a")
    create(api, name="b")
    api.get(f"/task/{first['id']}")
    emulator.app.faults.configure({"force_429": 1})
    assert api.get(f"/task/{first['id']}").status_code == 429
    stats = control.get("/_emulator/stats").json()
    assert stats["requests"] == {"POST /list/{list_id}/task": 2, "GET /task/{task_id}": 2}
    assert stats["total"] == 4
    assert stats["http_429"] == 1
    reset = control.post("/_emulator/stats/reset").json()
    assert (reset["total"], reset["requests"]) == (0, {})


def test_reset_empties_tasks_and_comments(
    emulator: Served, api: httpx.Client, control: httpx.Client
) -> None:
    task = create(api, name="gone soon")
    api.post(f"/task/{task['id']}/comment", json={"comment_text": "x", "notify_all": True})
    assert control.post("/_emulator/reset").status_code == 200
    assert emulator.state.tasks == {}
    assert emulator.state.comments == {}
    assert list_tasks(api)["tasks"] == []


def test_board_groups_by_status_and_escapes(
    emulator: Served, api: httpx.Client, control: httpx.Client
) -> None:
    state = emulator.state
    create(
        api,
        name="<script>alert('x')</script>",
        status="disputed",
        due_date=JAN_1_2025 + DAY // 2,
        custom_fields=[
            {"id": field(state, "Customer").id, "value": "<b>Evil & Co</b>"},
            {"id": field(state, "Aging").id, "value": 2},
        ],
    )
    create(api, name="settled", status="paid")
    redirect = control.get("/", follow_redirects=False)
    assert redirect.status_code in (302, 307)
    assert redirect.headers["location"].endswith("/_emulator/board")
    page = control.get("/_emulator/board")
    assert page.status_code == 200
    html = page.text
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "&lt;b&gt;Evil &amp; Co&lt;/b&gt;" in html
    assert "<b>Evil" not in html
    assert "Due 2025-01-01" in html
    assert "31-60" in html
    assert "http-equiv='refresh'" in html
    disputed = html.index("disputed (1)")
    assert disputed < html.index("&lt;script&gt;") < html.index("escalated (0)")
    assert html.index("paid (1)") < html.index("settled")


# --- webhooks -----------------------------------------------------------------------------


def register(api: httpx.Client, endpoint: str, events: list[str] | None = None) -> dict[str, Any]:
    response = api.post(
        f"/team/{DEMO_TEAM_ID}/webhook", json={"endpoint": endpoint, "events": events or ["*"]}
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_webhook_crud_matches_the_spec(api: httpx.Client, openapi: OpenApi) -> None:
    created = register(api, "https://hooks.example/clickup", ["taskCreated", "taskUpdated"])
    openapi.validate(created, "POST", "/v2/team/{team_id}/webhook")
    hook = created["webhook"]
    assert created["id"] == hook["id"]
    assert len(hook["secret"]) == 64
    assert hook["health"] == {"status": "active", "fail_count": 0}
    assert hook["userid"] == BOT_USER_ID
    listed = api.get(f"/team/{DEMO_TEAM_ID}/webhook").json()
    openapi.validate(listed, "GET", "/v2/team/{team_id}/webhook")
    assert [h["secret"] for h in listed["webhooks"]] == [hook["secret"]]
    updated = api.put(
        f"/webhook/{hook['id']}",
        json={"endpoint": "https://hooks.example/v2", "events": "*", "status": "active"},
    )
    openapi.validate(updated.json(), "PUT", "/v2/webhook/{webhook_id}")
    assert updated.json()["webhook"]["events"] == ["*"]
    assert api.delete(f"/webhook/{hook['id']}").json() == {}
    assert api.get(f"/team/{DEMO_TEAM_ID}/webhook").json() == {"webhooks": []}
    bad = api.post(f"/team/{DEMO_TEAM_ID}/webhook", json={"endpoint": "x", "events": ["*"]})
    assert bad.status_code == 400


def test_webhook_deliveries_are_signed_and_carry_the_acting_user(
    emulator: Served, api: httpx.Client, receiver: Receiver
) -> None:
    hook = register(api, receiver.url)["webhook"]
    task = create(api, name="hooked")
    arrived = receiver.wait_for(2)
    for delivery in arrived:
        expected = hmac.new(hook["secret"].encode(), delivery.body, hashlib.sha256).hexdigest()
        assert delivery.headers["x-signature"] == expected
    events = [d.json() for d in arrived]
    assert sorted(e["event"] for e in events) == ["taskCreated", "taskStatusUpdated"]
    created = next(e for e in events if e["event"] == "taskCreated")
    assert created["task_id"] == task["id"]
    assert created["webhook_id"] == hook["id"]
    assert {i["field"] for i in created["history_items"]} == {"status", "task_creation"}
    assert {i["user"]["id"] for i in created["history_items"]} == {BOT_USER_ID}
    status_item = next(i for i in created["history_items"] if i["field"] == "status")
    assert status_item["after"]["status"] == "draft"
    assert status_item["parent_id"] == DEMO_LIST_ID
    ada = httpx.put(
        f"{emulator.api_url}/task/{task['id']}",
        headers={"Authorization": "pk_ada_token"},
        json={"status": "disputed"},
    )
    assert ada.status_code == 200
    change = receiver.wait_for(3)[2].json()
    assert change["event"] == "taskStatusUpdated"
    assert change["history_items"][0]["user"]["id"] == ADA
    assert change["history_items"][0]["before"]["status"] == "draft"
    assert change["history_items"][0]["after"]["status"] == "disputed"


def test_webhook_events_filter_and_field_and_comment_events(
    emulator: Served, api: httpx.Client, receiver: Receiver
) -> None:
    emulator.app.dispatcher.pause()
    register(api, receiver.url, ["taskUpdated", "taskCommentPosted"])
    task = create(api, name="quiet create")
    customer = field(emulator.state, "Customer").id
    api.post(f"/task/{task['id']}/field/{customer}", json={"value": "Acme"})
    api.post(f"/task/{task['id']}/comment", json={"comment_text": "ping", "notify_all": False})
    attempts = emulator.app.dispatcher.flush()
    assert [a.delivery.event for a in attempts] == ["taskUpdated", "taskCommentPosted"]
    field_item = json.loads(attempts[0].delivery.body)["history_items"][0]
    assert (field_item["field"], field_item["after"]) == ("custom_field", "Acme")
    assert field_item["custom_field"]["id"] == customer
    assert [d.json()["event"] for d in receiver.received] == ["taskUpdated", "taskCommentPosted"]


def test_webhook_test_hook_duplicates_and_reorders(
    api: httpx.Client, control: httpx.Client, receiver: Receiver
) -> None:
    assert control.post("/_emulator/webhooks/pause").json() == {"paused": True, "pending": 0}
    register(api, receiver.url, ["taskUpdated"])
    task = create(api, name="v1")
    api.put(f"/task/{task['id']}", json={"name": "v2"})
    api.put(f"/task/{task['id']}", json={"name": "v3"})
    assert control.post("/_emulator/webhooks/pause").json()["pending"] == 2
    assert receiver.received == []
    flushed = control.post(
        "/_emulator/webhooks/flush", params={"reverse": "true", "duplicate": "true"}
    )
    assert flushed.json() == {"attempts": 4, "ok": 4}
    afters = [d.json()["history_items"][0]["after"] for d in receiver.received]
    assert afters == ["v3", "v3", "v2", "v2"]
    assert control.post("/_emulator/webhooks/resume").json() == {"paused": False, "pending": 0}
    api.put(f"/task/{task['id']}", json={"name": "v4"})
    assert receiver.wait_for(5)[4].json()["history_items"][0]["after"] == "v4"


def test_webhook_failures_are_retried_then_counted(
    emulator: Served, api: httpx.Client, receiver: Receiver
) -> None:
    dispatcher = emulator.app.dispatcher
    dispatcher.pause()
    hook_id = register(api, receiver.url, ["taskCreated"])["id"]
    receiver.default_status = 500
    create(api, name="fails")
    attempts = dispatcher.flush()
    assert [a.status for a in attempts] == [500] * 6
    listed = api.get(f"/team/{DEMO_TEAM_ID}/webhook").json()["webhooks"][0]
    assert listed["health"] == {"status": "failing", "fail_count": 1}
    receiver.statuses.extend([500, 502])
    receiver.default_status = 200
    create(api, name="recovers")
    assert [a.status for a in dispatcher.flush()] == [500, 502, 200]
    assert emulator.state.webhooks[hook_id].fail_count == 0
    assert emulator.state.webhooks[hook_id].status == "active"


def test_webhook_410_suspends_at_once(
    emulator: Served, api: httpx.Client, receiver: Receiver
) -> None:
    dispatcher = emulator.app.dispatcher
    dispatcher.pause()
    hook_id = register(api, receiver.url, ["taskCreated"])["id"]
    receiver.default_status = 410
    create(api, name="gone")
    assert [a.status for a in dispatcher.flush()] == [410]
    assert emulator.state.webhooks[hook_id].status == "suspended"
    create(api, name="not sent")
    assert dispatcher.pending() == []
    assert len(receiver.received) == 1


def test_slow_receivers_fail_and_100_failures_suspend(receiver: Receiver) -> None:
    state = default_workspace()
    hook = state.create_webhook(
        state.teams[DEMO_TEAM_ID], {"endpoint": receiver.url, "events": ["*"]}, user_id=BOT_USER_ID
    )
    dispatcher = WebhookDispatcher(state, enabled=False, timeout=0.1, max_retries=1)
    receiver.delay = 0.3
    seed_task(state, "slow")
    attempts = dispatcher.flush()
    assert [(a.status, a.ok) for a in attempts] == [(None, False)] * 4
    assert (hook.status, hook.fail_count) == ("failing", 2)
    receiver.wait_for(4)  # let the abandoned requests finish here, not in the next test
    for _ in range(97):
        state.record_delivery(hook.id, ok=False)
    assert (hook.status, hook.fail_count) == ("failing", 99)
    state.record_delivery(hook.id, ok=False)
    assert (hook.status, hook.fail_count) == ("suspended", 100)
    dispatcher.close()


def test_no_webhooks_means_no_outbound_traffic(emulator: Served, api: httpx.Client) -> None:
    task = create(api, name="silent")
    api.put(f"/task/{task['id']}", json={"status": "open"})
    assert list(emulator.state.outbox) == []
    assert emulator.app.dispatcher.attempts == []


def test_disabled_dispatcher_keeps_events_queued(receiver: Receiver) -> None:
    app = create_app(default_workspace(), rate_limit=None, webhooks=False)
    state = app.emulator
    state.create_webhook(
        state.teams[DEMO_TEAM_ID], {"endpoint": receiver.url, "events": ["*"]}, user_id=BOT_USER_ID
    )
    seed_task(state, "queued")
    assert [d.event for d in app.dispatcher.pending()] == ["taskCreated", "taskStatusUpdated"]
    assert receiver.received == []
    assert all(a.ok for a in app.dispatcher.flush())
    assert len(receiver.received) == 2
    app.dispatcher.close()


# --- end to end and the loopback server ---------------------------------------------------


def test_end_to_end_over_a_fresh_loopback_server() -> None:
    state = default_workspace()
    with (
        LoopbackServer(create_app(state)) as server,
        httpx.Client(
            base_url=server.base_url + "/api/v2", headers={"Authorization": DEMO_TOKEN}
        ) as client,
    ):
        assert server.base_url.startswith("http://127.0.0.1:")
        fields = {f["name"]: f for f in client.get(f"/list/{DEMO_LIST_ID}/field").json()["fields"]}
        created = client.post(
            f"/list/{DEMO_LIST_ID}/task",
            json={
                "name": "INV-7",
                "status": "open",
                "custom_fields": [{"id": fields["arbridge key"]["id"], "value": "qbo:7"}],
            },
        )
        assert created.status_code == 200
        assert created.headers["X-RateLimit-Limit"] == "100"
        assert created.headers["X-RateLimit-Remaining"] == "98"
        task_id = created.json()["id"]
        total = fields["Invoice total"]["id"]
        assert client.post(f"/task/{task_id}/field/{total}", json={"value": 99.5}).json() == {}
        found = client.get(
            f"/list/{DEMO_LIST_ID}/task",
            params={
                "custom_fields": json.dumps(
                    [{"field_id": fields["arbridge key"]["id"], "operator": "==", "value": "qbo:7"}]
                )
            },
        ).json()
        assert [t["id"] for t in found["tasks"]] == [task_id]
        assert value_of(found["tasks"][0], "Invoice total") == "99.5"
        stats = httpx.get(server.base_url + "/_emulator/stats").json()
        assert stats["total"] == 4
        port = server.port
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
