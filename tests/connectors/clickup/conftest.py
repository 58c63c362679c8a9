"""Shared fakes for the ClickUp connector tests: a fake clock, settings and a list's shapes.

Payload shapes follow the examples of ClickUp's OpenAPI document (Get List, Get Accessible
Custom Fields, Get Tasks, Get Authorized Teams).
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import respx
from arbridge_clickup.client import ClickUpClient
from arbridge_clickup.settings import ClickUpSettings

BASE = "https://api.clickup.com/api/v2"
TOKEN = "pk_4242_SUPERSECRETTOKENVALUE"
LIST_ID = "901"
TEAM_ID = "1234"
START = 1_800_000_000.0


class FakeTime:
    """Monotonic and wall clock in one; ``sleep`` only moves the clock."""

    def __init__(self, start: float = START) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        with self._lock:
            return self.now

    def wall(self) -> float:
        return self.monotonic()

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += max(seconds, 0.0)


def make_settings(**overrides: Any) -> ClickUpSettings:
    values: dict[str, Any] = {
        "token": TOKEN,
        "list_id": LIST_ID,
        "team_id": TEAM_ID,
        "max_retries": 3,
        "timeout_s": 5.0,
    }
    values.update(overrides)
    return ClickUpSettings(**values)


def _field(field_id: str, name: str, ftype: str, **type_config: Any) -> dict[str, Any]:
    return {
        "id": field_id,
        "name": name,
        "type": ftype,
        "type_config": type_config,
        "date_created": "1566400407303",
        "hide_from_guests": False,
    }


def _options(*names: str, start: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"option:{name}")),
            "name": name,
            "color": "#b5bcc2",
            "orderindex": start + i,
        }
        for i, name in enumerate(names)
    ]


KEY_FIELD = "5a1e0b1c-0000-4000-8000-000000000001"

# A list that satisfies the default config. Spellings differ in case on purpose.
FIELDS: list[dict[str, Any]] = [
    _field(KEY_FIELD, "Arbridge Key", "short_text"),
    _field("5a1e0b1c-0000-4000-8000-000000000002", "Invoice number", "short_text"),
    _field("5a1e0b1c-0000-4000-8000-000000000003", "Customer", "text"),
    _field(
        "5a1e0b1c-0000-4000-8000-000000000004",
        "Source",
        "drop_down",
        sorting="manual",
        new_drop_down=True,
        options=_options("QuickBooks", "Stripe"),
    ),
    _field(
        "5a1e0b1c-0000-4000-8000-000000000005",
        "Invoice status",
        "drop_down",
        options=_options(
            "draft", "open", "Partially_Paid", "paid", "void", "uncollectible", "disputed"
        ),
    ),
    _field("5a1e0b1c-0000-4000-8000-000000000006", "Currency", "short_text"),
    _field(
        "5a1e0b1c-0000-4000-8000-000000000007",
        "Invoice total",
        "currency",
        precision=2,
        currency_type="USD",
    ),
    _field("5a1e0b1c-0000-4000-8000-000000000008", "Amount due", "number"),
    _field("5a1e0b1c-0000-4000-8000-000000000009", "Issue date", "date"),
    _field("5a1e0b1c-0000-4000-8000-000000000010", "Due date", "date"),
    _field(
        "5a1e0b1c-0000-4000-8000-000000000011",
        "Aging",
        "drop_down",
        options=_options("current", "1-30", "31-60", "61-90", "90+", start=3),
    ),
    _field("5a1e0b1c-0000-4000-8000-000000000012", "Invoice link", "url"),
    _field("5a1e0b1c-0000-4000-8000-000000000013", "Risk score", "number"),
    _field("5a1e0b1c-0000-4000-8000-000000000014", "Predicted pay date", "date"),
    _field("5a1e0b1c-0000-4000-8000-000000000015", "Queue rank", "number"),
    _field("5a1e0b1c-0000-4000-8000-000000000016", "Invoice checks", "text"),
    # Fields arbridge does not own must be left alone.
    _field("d2ab17e0-41d3-4d28-bdbb-f3f0f2c62f8b", "Sprint Goal", "short_text"),
]

STATUS_NAMES = [
    "Draft",
    "Open",
    "Overdue",
    "Partially Paid",
    "Paid",
    "Void",
    "Uncollectible",
    "Disputed",
]


def list_body(statuses: list[str] | None = None) -> dict[str, Any]:
    names = STATUS_NAMES if statuses is None else statuses
    return {
        "id": LIST_ID,
        "name": "Receivables",
        "orderindex": 1,
        "content": "",
        "archived": False,
        "override_statuses": True,
        "statuses": [
            {"status": name, "orderindex": i, "color": "#d3d3d3", "type": "custom"}
            for i, name in enumerate(names)
        ],
        "permission_level": "create",
    }


def fields_body(fields: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"fields": copy.deepcopy(FIELDS if fields is None else fields)}


TEAM_BODY: dict[str, Any] = {
    "teams": [
        {
            "id": TEAM_ID,
            "name": "Acme Workspace",
            "color": "#000000",
            "avatar": "https://clickup.com/avatar.jpg",
            "members": [
                {"user": {"id": 123, "username": "John Doe", "email": "John@Acme.example"}},
                {"user": {"id": 456, "username": "Ann Lee", "email": "ann@acme.example"}},
                {"user": {"id": 789, "username": "No Mail", "color": "#000000"}},
            ],
        }
    ]
}


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


@pytest.fixture
def client(fake_time: FakeTime, api: respx.MockRouter) -> Iterator[ClickUpClient]:
    with ClickUpClient(
        make_settings(),
        sleep=fake_time.sleep,
        monotonic=fake_time.monotonic,
        wall=fake_time.wall,
    ) as made:
        yield made
