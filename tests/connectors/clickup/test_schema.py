from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest
import respx
from arbridge_clickup.client import ClickUpClient
from arbridge_clickup.schema import build_list_schema, resolve_list_schema

from arbridge.errors import AuthError, ConfigError
from arbridge.model.task import CHOICES, TASK_STATUSES
from tests.connectors.clickup.conftest import (
    FIELDS,
    KEY_FIELD,
    LIST_ID,
    fields_body,
    list_body,
    make_settings,
)


def mock_list(
    api: respx.MockRouter,
    statuses: list[str] | None = None,
    fields: list[dict[str, Any]] | None = None,
) -> None:
    api.get(f"/list/{LIST_ID}").mock(return_value=httpx.Response(200, json=list_body(statuses)))
    api.get(f"/list/{LIST_ID}/field").mock(
        return_value=httpx.Response(200, json=fields_body(fields))
    )


def by_name(name: str) -> dict[str, Any]:
    return copy.deepcopy(next(f for f in FIELDS if f["name"] == name))


def test_resolves_fields_options_and_statuses(client: ClickUpClient, api: respx.MockRouter) -> None:
    mock_list(api)
    schema = resolve_list_schema(client, make_settings())
    assert schema.list_id == LIST_ID
    assert schema.owned_facts() == frozenset(make_settings().fields)
    key = schema.fields["arbridge_key"]
    assert (key.id, key.name, key.type) == (KEY_FIELD, "Arbridge Key", "short_text")
    assert schema.fields["total"].type == "currency"
    aging = schema.fields["aging"]
    assert aging.name_by_orderindex == {3: "current", 4: "1-30", 5: "31-60", 6: "61-90", 7: "90+"}
    assert set(aging.uuid_by_name) == set(CHOICES["aging"])
    status = schema.fields["invoice_status"]
    # The list's spelling is kept; the match is case-insensitive.
    option = status.option_named("partially_paid")
    assert option is not None
    assert option.name == "Partially_Paid"
    assert status.choice_of(option.name) == "partially_paid"
    assert schema.status_name("partially_paid") == "Partially Paid"
    assert schema.status_key("partially paid") == "partially_paid"
    assert schema.status_key("in review") is None
    assert [schema.status_key(schema.status_name(k)) for k in TASK_STATUSES] == list(TASK_STATUSES)


def test_reports_every_problem_at_once(client: ClickUpClient, api: respx.MockRouter) -> None:
    fields = [copy.deepcopy(f) for f in FIELDS if f["name"] not in ("Customer", "Invoice link")]
    for field in fields:
        if field["name"] == "Arbridge Key":
            field["type"] = "text"
        if field["name"] == "Invoice total":
            field["type"] = "drop_down"
            field["type_config"] = {"options": []}
        if field["name"] == "Issue date":
            field["type"] = "short_text"
        if field["name"] == "Source":
            field["type_config"]["options"] = field["type_config"]["options"][:1]
        if field["name"] == "Aging":
            field["type_config"]["options"] = [
                o for o in field["type_config"]["options"] if o["name"] not in ("61-90", "90+")
            ]
    statuses = ["Draft", "Open", "Overdue", "Partially Paid", "Paid", "Uncollectible"]
    mock_list(api, statuses=statuses, fields=fields)

    with pytest.raises(ConfigError) as caught:
        resolve_list_schema(client, make_settings())

    listed = '"Draft", "Open", "Overdue", "Partially Paid", "Paid", "Uncollectible"'
    assert caught.value.problems == [
        'clickup.fields.arbridge_key: the custom field "Arbridge Key" is a text field; '
        "it must be short_text",
        'clickup.fields.customer: the list has no custom field named "Customer"; create a '
        'short_text field named "Customer" in ClickUp (the API cannot create fields)',
        'clickup.fields.source: the drop-down field "Source" has no option "stripe"; add it in '
        "ClickUp (the API cannot add options)",
        'clickup.fields.total: the custom field "Invoice total" is a drop_down field; '
        "it must be number or currency",
        'clickup.fields.issue_date: the custom field "Issue date" is a short_text field; '
        "it must be date",
        'clickup.fields.aging: the drop-down field "Aging" has no option "61-90"; add it in '
        "ClickUp (the API cannot add options)",
        'clickup.fields.aging: the drop-down field "Aging" has no option "90+"; add it in '
        "ClickUp (the API cannot add options)",
        'clickup.fields.link: the list has no custom field named "Invoice link"; create a url '
        'field named "Invoice link" in ClickUp (the API cannot create fields)',
        f'clickup.statuses.void: the list has no status "void"; its statuses are: {listed}',
        f'clickup.statuses.disputed: the list has no status "disputed"; its statuses are: {listed}',
    ]
    assert str(caught.value) == "\n".join(caught.value.problems)


def test_missing_choice_field_asks_for_a_drop_down() -> None:
    settings = make_settings(fields={"arbridge_key": "Arbridge key", "source": "Origin"})
    with pytest.raises(ConfigError) as caught:
        build_list_schema(LIST_ID, list_body()["statuses"], FIELDS, settings)
    assert caught.value.problems == [
        'clickup.fields.source: the list has no custom field named "Origin"; create a drop_down '
        'field named "Origin" in ClickUp (the API cannot create fields)'
    ]


def test_alternative_types_are_accepted() -> None:
    fields = [by_name("Arbridge Key"), by_name("Source"), by_name("Invoice link")]
    fields[1]["type"] = "short_text"
    fields[1]["type_config"] = {}
    fields[2]["type"] = "short_text"
    settings = make_settings(
        fields={"arbridge_key": "arbridge key", "source": "source", "link": "INVOICE LINK"}
    )
    schema = build_list_schema(LIST_ID, list_body()["statuses"], fields, settings)
    assert schema.fields["source"].type == "short_text"
    assert schema.fields["link"].name == "Invoice link"
    assert schema.owned_facts() == {"arbridge_key", "source", "link"}


def test_duplicate_names_and_shared_fields_are_problems() -> None:
    twin = by_name("Customer")
    twin["id"] = "another-id"
    twin["name"] = "CUSTOMER"
    settings = make_settings(
        fields={"arbridge_key": "arbridge key", "customer": "Customer", "number": "arbridge key"}
    )
    with pytest.raises(ConfigError) as caught:
        build_list_schema(LIST_ID, list_body()["statuses"], [*FIELDS, twin], settings)
    assert caught.value.problems == [
        'clickup.fields.customer: the list has 2 custom fields named "Customer"; rename all but '
        "one in ClickUp",
        'clickup.fields.number: the custom field "Arbridge Key" is already mapped to '
        "clickup.fields.arbridge_key; each fact needs its own field",
    ]


def test_options_without_orderindex_fall_back_to_position() -> None:
    source = by_name("Source")
    source["type_config"]["options"] = [
        {"id": "opt-1", "label": "quickbooks", "color": None},
        {"id": "opt-2", "label": "stripe", "color": None},
    ]
    settings = make_settings(fields={"arbridge_key": "arbridge key", "source": "Source"})
    schema = build_list_schema(
        LIST_ID, list_body()["statuses"], [by_name("Arbridge Key"), source], settings
    )
    assert schema.fields["source"].name_by_orderindex == {0: "quickbooks", 1: "stripe"}


def test_unknown_list_is_a_config_error(client: ClickUpClient, api: respx.MockRouter) -> None:
    api.get(f"/list/{LIST_ID}").mock(
        return_value=httpx.Response(404, json={"err": "List not found", "ECODE": "LIST_001"})
    )
    with pytest.raises(ConfigError) as caught:
        resolve_list_schema(client, make_settings())
    assert caught.value.problems == [
        f'clickup.list_id: ClickUp has no list "{LIST_ID}" that the token can see'
    ]


def test_refused_token_passes_through_as_auth_error(
    client: ClickUpClient, api: respx.MockRouter
) -> None:
    api.get(f"/list/{LIST_ID}").mock(
        return_value=httpx.Response(401, json={"err": "Token invalid", "ECODE": "OAUTH_025"})
    )
    with pytest.raises(AuthError, match=r"check clickup\.token"):
        resolve_list_schema(client, make_settings())
