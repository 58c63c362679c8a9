"""ClickUp webhooks in: signature checks, stable event ids, and reading a collector's change."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from arbridge_clickup.emulator import (
    DEMO_LIST_ID,
    DEMO_TEAM_ID,
    DEMO_TOKEN,
    EmulatorApp,
    EmulatorState,
    create_app,
    default_workspace,
    sign_body,
)
from arbridge_clickup.inbound import ClickUpInbound, build_inbound, event_id, verify_webhook
from arbridge_clickup.plugin import connector
from arbridge_clickup.sink import ClickUpSink

from arbridge.errors import AuthError, WebhookRejected
from arbridge.model.task import TaskSpec
from arbridge.ports.connector import TaskChanges
from arbridge.ports.source import InboundEvent
from arbridge.settings import Settings
from arbridge.testing.loopback import LoopbackServer

SECRET = "O94IM25S7PXBPYTMNXLLET230SRP0S89COR7B1YOJ2ZIE8WQNK5UUKEF26W0Z5GA"
KEY = "stripe:acct_1:in_1"


_USER = {
    "id": 183,
    "username": "John",
    "email": "john@company.com",
    "color": "#7b68ee",
    "initials": "J",
    "profilePicture": None,
}
# ClickUp's documented taskCreated payload (https://developer.clickup.com/docs/webhooktaskpayloads).
TASK_CREATED: dict[str, Any] = {
    "event": "taskCreated",
    "history_items": [
        {
            "id": "2800763136717140857",
            "type": 1,
            "date": "1642734631523",
            "field": "status",
            "parent_id": "162641062",
            "data": {"status_type": "open"},
            "source": None,
            "user": _USER,
            "before": {"status": None, "color": "#000000", "type": "removed", "orderindex": -1},
            "after": {"status": "to do", "color": "#f9d900", "orderindex": 0, "type": "open"},
        },
        {
            "id": "2800763136700363640",
            "type": 1,
            "date": "1642734631523",
            "field": "task_creation",
            "parent_id": "162641062",
            "data": {},
            "source": None,
            "user": _USER,
            "before": None,
            "after": None,
        },
    ],
    "task_id": "1vj37mc",
    "webhook_id": "7fa3ec74-69a8-4530-a251-8a13730bd204",
}


def task_created() -> dict[str, Any]:
    return copy.deepcopy(TASK_CREATED)


def status_payload() -> dict[str, Any]:
    """The documented taskCreated payload's status item, as the taskStatusUpdated it comes with."""
    payload = task_created()
    payload["event"] = "taskStatusUpdated"
    payload["history_items"] = payload["history_items"][:1]
    return payload


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {"content-type": "application/json", "x-signature": sign_body(secret, body)}


# --- verify_webhook ---------------------------------------------------------------------------


def test_a_signed_status_delivery_is_one_event_keyed_by_webhook_and_history_items() -> None:
    payload = status_payload()
    body = json.dumps(payload).encode()
    (event,) = verify_webhook(SECRET, signed(body), body)
    assert event.provider == "clickup"
    assert event.kind == "taskStatusUpdated"
    assert event.event_id.startswith(payload["webhook_id"] + ":")
    assert event.occurred_at == datetime(2022, 1, 21, 3, 10, 31, 523000, tzinfo=UTC)
    assert event.payload == payload


def test_events_arbridge_does_not_use_are_verified_and_yield_nothing() -> None:
    body = json.dumps(task_created()).encode()
    assert verify_webhook(SECRET, signed(body), body) == []
    with pytest.raises(WebhookRejected) as rejected:
        verify_webhook(SECRET, signed(body, "another secret"), body)
    assert rejected.value.status == 401


def test_a_retried_delivery_has_the_same_event_id_and_another_change_another() -> None:
    payload = status_payload()
    body = json.dumps(payload).encode()
    reformatted = json.dumps(payload, indent=2, sort_keys=True).encode()
    first = verify_webhook(SECRET, signed(body), body)[0].event_id
    again = verify_webhook(SECRET, signed(reformatted), reformatted)[0].event_id
    assert first == again
    other = dict(
        payload, history_items=[dict(payload["history_items"][0], id="2800763136717140858")]
    )
    other_body = json.dumps(other).encode()
    assert verify_webhook(SECRET, signed(other_body), other_body)[0].event_id != first
    items = task_created()["history_items"]
    assert event_id("w", items) == event_id("w", list(reversed(items)))
    assert event_id("w", items) != event_id("v", items)


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing X-Signature header"),
        ({"x-signature": ""}, "missing X-Signature header"),
        ({"x-signature": "f7bc83f430538424b13298e6aa6"}, "X-Signature does not match the body"),
        ({"x-signature": "é" * 64}, "X-Signature does not match the body"),
    ],
)
def test_a_missing_or_forged_signature_is_refused_with_401(
    headers: dict[str, str], reason: str
) -> None:
    body = json.dumps(status_payload()).encode()
    with pytest.raises(WebhookRejected) as rejected:
        verify_webhook(SECRET, headers, body)
    assert (rejected.value.status, rejected.value.reason) == (401, reason)
    assert SECRET not in str(rejected.value)


def test_a_body_changed_after_signing_is_refused_and_upper_case_hex_is_accepted() -> None:
    body = json.dumps(status_payload()).encode()
    headers = signed(body)
    with pytest.raises(WebhookRejected) as rejected:
        verify_webhook(SECRET, headers, body.replace(b"to do", b"to da"))
    assert rejected.value.status == 401
    upper = {"x-signature": headers["x-signature"].upper()}
    assert len(verify_webhook(SECRET, upper, body)) == 1


def test_without_a_configured_secret_every_delivery_is_refused() -> None:
    body = json.dumps(status_payload()).encode()
    with pytest.raises(WebhookRejected) as rejected:
        verify_webhook("", signed(body), body)
    assert rejected.value.status == 401


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "body is not JSON"),
        (b"\xff\xfe", "body is not JSON"),
        (b"[1, 2]", "body is not a JSON object"),
        (b'{"event": "taskStatusUpdated"}', "not a ClickUp webhook: event or webhook_id missing"),
        (
            b'{"event": "taskStatusUpdated", "webhook_id": "w", "history_items": []}',
            "taskStatusUpdated without a task_id",
        ),
        (
            b'{"event": "taskStatusUpdated", "webhook_id": "w", "task_id": "t", '
            b'"history_items": {"id": "1"}}',
            "taskStatusUpdated: history_items must be a list of items with ids",
        ),
        (
            b'{"event": "taskCommentPosted", "webhook_id": "w", "task_id": "t", '
            b'"history_items": [{"field": "comment"}]}',
            "taskCommentPosted: history_items must be a list of items with ids",
        ),
    ],
)
def test_a_signed_body_of_the_wrong_shape_is_refused_with_400(body: bytes, reason: str) -> None:
    with pytest.raises(WebhookRejected) as rejected:
        verify_webhook(SECRET, signed(body), body)
    assert (rejected.value.status, rejected.value.reason) == (400, reason)


def test_the_connector_entry_point_verifies_like_the_module() -> None:
    body = json.dumps(status_payload()).encode()
    assert connector.verify_webhook(SECRET, signed(body), body) == verify_webhook(
        SECRET, signed(body), body
    )


# --- reading changes against the emulator -----------------------------------------------------


@dataclass
class Workspace:
    state: EmulatorState
    app: EmulatorApp
    settings: Settings
    sink: ClickUpSink
    inbound: ClickUpInbound
    secret: str
    task_id: str

    def events(self) -> list[InboundEvent]:
        """What the queued deliveries verify to, in order."""
        found: list[InboundEvent] = []
        for delivery in self.state.take_deliveries():
            headers = {"x-signature": delivery.signature}
            found.extend(verify_webhook(self.secret, headers, delivery.body))
        return found

    def task_reads(self) -> int:
        reads: int = self.state.stats()["requests"].get("GET /task/{task_id}", 0)
        return reads


def clickup_settings(base_url: str, **overrides: Any) -> Settings:
    section = {
        "token": DEMO_TOKEN,
        "base_url": f"{base_url}/api/v2",
        "list_id": DEMO_LIST_ID,
        "team_id": DEMO_TEAM_ID,
        **overrides,
    }
    return Settings.model_validate({"clickup": section})


@pytest.fixture
def workspace() -> Iterator[Workspace]:
    state = default_workspace()
    app = create_app(state, rate_limit=None, webhooks=False)
    with LoopbackServer(app) as server:
        settings = clickup_settings(server.base_url)
        sink = connector.build_sink(settings, secrets=[])
        inbound = build_inbound(settings, secrets=[])
        spec = TaskSpec(key=KEY, name="INV-1 · Acme", description="d", status="open")
        task_id = sink.create_task(spec)
        hook = state.create_webhook(
            state.teams[DEMO_TEAM_ID],
            {"endpoint": "https://arbridge.example.com/webhooks/clickup", "events": ["*"]},
            user_id=81000,
        )
        yield Workspace(state, app, settings, sink, inbound, hook.secret, task_id)
        inbound.close()
        sink.close()


def test_the_emulator_answers_get_user_with_the_tokens_own_user(workspace: Workspace) -> None:
    base = workspace.settings.clickup.base_url
    bot = httpx.get(f"{base}/user", headers={"Authorization": DEMO_TOKEN}).json()["user"]
    ada = httpx.get(f"{base}/user", headers={"Authorization": "pk_ada_token"}).json()["user"]
    assert (bot["id"], bot["email"]) == (81000, "bot@example.com")
    assert (ada["id"], ada["username"], ada["initials"]) == (81001, "Ada Collector", "AC")
    assert workspace.inbound.own_user_id == 81000


def test_a_collectors_status_change_is_read_with_key_statuses_and_actor(
    workspace: Workspace,
) -> None:
    workspace.app.collector("ada@example.com").set_status(workspace.task_id, "disputed")
    (event,) = workspace.events()
    change = workspace.inbound.read_change(event)
    assert change is not None
    assert (change.invoice_key, change.kind, change.actor) == (
        KEY,
        "status_changed",
        "ada@example.com",
    )
    assert (change.status, change.previous_status) == ("disputed", "open")
    assert change.task_id == workspace.task_id
    assert change.event_id == event.event_id
    task = workspace.state.tasks[workspace.task_id]
    assert change.changed_at == datetime.fromtimestamp(task.date_updated / 1000, tz=UTC)
    assert change.rule_context() == {
        "event.actor": "ada@example.com",
        "event.previous_task_status": "open",
    }


def test_a_status_arbridge_does_not_map_is_read_as_the_lists_own_name(
    workspace: Workspace,
) -> None:
    workspace.app.collector("sam@example.com").set_status(workspace.task_id, "promise to pay")
    (event,) = workspace.events()
    change = workspace.inbound.read_change(event)
    assert change is not None
    assert (change.status, change.actor) == ("promise to pay", "sam@example.com")


def test_arbridges_own_changes_are_recognised_without_reading_the_task(
    workspace: Workspace,
) -> None:
    workspace.sink.update_task(workspace.task_id, TaskChanges(status="overdue", priority=2))
    workspace.sink.set_field(workspace.task_id, "amount_due", "10")
    workspace.sink.post_comment(workspace.task_id, "Reminder sent")
    events = workspace.events()
    assert {e.kind for e in events} == {"taskStatusUpdated", "taskUpdated", "taskCommentPosted"}
    before = workspace.task_reads()
    assert [workspace.inbound.read_change(e) for e in events] == [None] * len(events)
    assert workspace.task_reads() == before


def test_a_promise_to_pay_date_is_read_from_the_date_field(workspace: Workspace) -> None:
    ada = workspace.app.collector()
    ada.set_promise_date(workspace.task_id, date(2026, 3, 20))
    (event,) = workspace.events()
    change = workspace.inbound.read_change(event)
    assert change is not None
    assert (change.kind, change.promise_to_pay_date) == ("promise_to_pay_set", date(2026, 3, 20))
    ada.set_promise_date(workspace.task_id, None)
    (cleared,) = workspace.events()
    change = workspace.inbound.read_change(cleared)
    assert change is not None
    assert change.promise_to_pay_date is None


def test_a_collector_editing_another_field_is_no_collector_change(workspace: Workspace) -> None:
    amount_due = workspace.state.field_by_name(DEMO_LIST_ID, "Amount due")
    task = workspace.state.tasks[workspace.task_id]
    workspace.state.set_field(task, amount_due.id, {"value": 5}, user_id=81001)
    (event,) = workspace.events()
    assert workspace.inbound.read_change(event) is None


def test_a_comment_is_read_with_its_time(workspace: Workspace) -> None:
    comment_id = workspace.app.collector().comment(workspace.task_id, "Customer will pay Friday")
    (event,) = workspace.events()
    change = workspace.inbound.read_change(event)
    assert change is not None
    posted = workspace.state.comments[comment_id].date
    assert change.kind == "commented"
    assert change.commented_at == datetime.fromtimestamp(posted / 1000, tz=UTC)


def test_a_change_to_a_task_that_is_gone_or_not_arbridges_is_ignored(
    workspace: Workspace,
) -> None:
    stranger = workspace.state.create_task(
        DEMO_LIST_ID, {"name": "Call the bank", "status": "open"}, user_id=81001
    )
    workspace.events()
    ada = workspace.app.collector()
    ada.set_status(stranger.id, "disputed")
    ada.set_status(workspace.task_id, "disputed")
    stranger_event, gone_event = workspace.events()
    assert workspace.inbound.read_change(stranger_event) is None
    workspace.state.delete_task(workspace.state.tasks[workspace.task_id], user_id=81001)
    assert workspace.inbound.read_change(gone_event) is None


def test_a_missing_promise_to_pay_field_is_a_warning_not_a_failure(
    workspace: Workspace, caplog: pytest.LogCaptureFixture
) -> None:
    base = workspace.settings.clickup.base_url.removesuffix("/api/v2")
    for name, said in (("Promised on", "has no custom field"), ("Amount due", "is a number")):
        caplog.clear()
        settings = clickup_settings(base, promise_to_pay_field=name)
        with caplog.at_level(logging.WARNING, logger="arbridge_clickup.inbound"):
            inbound = build_inbound(settings, secrets=[])
        inbound.close()
        assert inbound.promise_field is None
        assert said in caplog.text
        assert "clickup.promise_to_pay_field" in caplog.text
    unused = build_inbound(clickup_settings(base, promise_to_pay_field=None), secrets=[])
    unused.close()
    assert unused.promise_field is None


def test_a_refused_token_is_an_error_to_retry_not_a_gone_task(workspace: Workspace) -> None:
    workspace.app.collector().set_status(workspace.task_id, "disputed")
    (event,) = workspace.events()
    del workspace.state.tokens[DEMO_TOKEN]
    with pytest.raises(AuthError):
        workspace.inbound.read_change(event)
