"""Webhook events: which exist, which a webhook receives, and the signed body it is sent.

Queuing and history items belong to ``state.py``; the HTTP sender is in ``webhooks.py``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from arbridge_clickup.emulator.errors import bad_request
from arbridge_clickup.emulator.model import JsonObj, Task, TaskList, Webhook

TASK_EVENTS = (
    "taskCreated",
    "taskUpdated",
    "taskDeleted",
    "taskPriorityUpdated",
    "taskStatusUpdated",
    "taskAssigneeUpdated",
    "taskDueDateUpdated",
    "taskTagUpdated",
    "taskMoved",
    "taskCommentPosted",
    "taskCommentUpdated",
    "taskTimeEstimateUpdated",
    "taskTimeTrackedUpdated",
)
OTHER_EVENTS = tuple(
    f"{kind}{change}"
    for kind in ("list", "folder", "space", "goal", "keyResult")
    for change in ("Created", "Updated", "Deleted")
)
WEBHOOK_EVENTS = frozenset(TASK_EVENTS + OTHER_EVENTS)


def sign_body(secret: str, body: bytes) -> str:
    """ClickUp's ``X-Signature``: hex HMAC-SHA256 of the exact body bytes, keyed by the secret."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class WebhookDelivery:
    """One signed event ready to POST; ``body`` is exactly the bytes that were signed."""

    webhook_id: str
    endpoint: str
    event: str
    task_id: str | None
    body: bytes
    signature: str

    def payload(self) -> JsonObj:
        result: JsonObj = json.loads(self.body)
        return result


def parse_events(value: Any) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(e, str) for e in value):
        raise bad_request("events must be a non-empty list", "HOOK_002")
    for event in value:
        if event != "*" and event not in WEBHOOK_EVENTS:
            raise bad_request(f"Unknown webhook event {event}", "HOOK_002")
    return list(dict.fromkeys(value))


def wants(hook: Webhook, event: str, task: Task, lists: Mapping[str, TaskList]) -> bool:
    """Whether ``hook`` subscribes to ``event`` on ``task``, judged by where the task sits."""
    if hook.status == "suspended" or hook.team_id != task.team_id:
        return False
    if "*" not in hook.events and event not in hook.events:
        return False
    lst = lists[task.list_id]
    return (
        (hook.task_id is None or hook.task_id == task.id)
        and (hook.list_id is None or hook.list_id == lst.id)
        and (hook.folder_id is None or hook.folder_id == lst.folder_id)
        and (hook.space_id is None or hook.space_id == lst.space_id)
    )


def delivery(hook: Webhook, event: str, task: Task, items: list[JsonObj]) -> WebhookDelivery:
    payload = {
        "event": event,
        "history_items": items,
        "task_id": task.id,
        "webhook_id": hook.id,
    }
    body = json.dumps(payload, separators=(",", ":")).encode()
    return WebhookDelivery(
        hook.id, hook.endpoint, event, task.id, body, sign_body(hook.secret, body)
    )
