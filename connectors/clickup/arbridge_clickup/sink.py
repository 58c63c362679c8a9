"""ClickUp as arbridge's task sink: one list, one task per invoice, facts in custom fields."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from arbridge.api import (
    ConfigError,
    PermanentError,
    RemoteTask,
    RuleFieldValue,
    SubtaskSpec,
    TaskChanges,
    TaskSpec,
)
from arbridge_clickup.client import ClickUpClient
from arbridge_clickup.schema import KEY_FACT, FieldDef, ListSchema
from arbridge_clickup.values import (
    ValueConversionError,
    date_from_ms,
    date_to_ms,
    from_clickup,
    rule_value_to_clickup,
)
from arbridge_clickup.values import to_clickup as value_to_clickup

log = logging.getLogger(__name__)

PAGE_SIZE = 100


def resolve_members(client: ClickUpClient, team_id: str | None) -> dict[str, int]:
    """Assignee e-mail (case-folded) -> ClickUp user id, from the workspace's members.

    Without a ``team_id`` the members of every workspace the token sees are merged.
    """
    body = client.request("GET", "/team") or {}
    teams: list[dict[str, Any]] = body.get("teams") or []
    if team_id is not None:
        chosen = [t for t in teams if str(t.get("id")) == team_id]
        if not chosen:
            seen = ", ".join(f'"{t.get("id")}" ({t.get("name")})' for t in teams) or "(none)"
            raise ConfigError(
                [
                    f'clickup.team_id: the token has no access to workspace "{team_id}"; '
                    f"its workspaces are: {seen}"
                ]
            )
        teams = chosen
    members: dict[str, int] = {}
    for team in teams:
        for member in team.get("members") or []:
            user = member.get("user") or {}
            email, user_id = user.get("email"), user.get("id")
            if email and user_id is not None:
                members[str(email).casefold()] = int(user_id)
    return members


class ClickUpSink:
    """Implements ``arbridge.ports.connector.TaskSink`` against one ClickUp list."""

    def __init__(
        self,
        client: ClickUpClient,
        schema: ListSchema,
        timezone: ZoneInfo,
        members: Mapping[str, int],
    ) -> None:
        self._client = client
        self._schema = schema
        self._zone = timezone
        self._members = {email.casefold(): user for email, user in members.items()}
        self._list = schema.list_id
        self._rule_fields: dict[str, dict[str, Any]] | None = None

    def owned_facts(self) -> frozenset[str]:
        return self._schema.owned_facts()

    def create_task(self, spec: TaskSpec) -> str:
        body: dict[str, Any] = {
            "name": spec.name,
            "markdown_content": spec.description,
            "status": self._status(spec.status),
        }
        if spec.due_date is not None:
            body.update(self._due_date(spec.due_date))
        if spec.priority is not None:
            body["priority"] = spec.priority
        assignees = self._user_ids(spec.assignees)
        if assignees:
            body["assignees"] = assignees
        values = {f: v for f, v in spec.fields.items() if f in self.owned_facts()}
        # The key is what find_task searches by after a crash, whatever the fields say.
        values[KEY_FACT] = spec.key
        # All fields in the create body: one request instead of one per field.
        body["custom_fields"] = [
            {"id": self._field(fact).id, "value": self._write_value(fact, value)}
            for fact, value in values.items()
            if value is not None
        ]
        task = self._client.request("POST", f"/list/{self._list}/task", json=body)
        return str(task["id"])

    def find_task(self, key: str) -> str | None:
        key_field = self._field(KEY_FACT)
        query = json.dumps([{"field_id": key_field.id, "operator": "==", "value": key}])
        for task in self._pages({"custom_fields": query}):
            found = _raw_value(task, key_field.id, default=key)
            # "==" is an exact match; the check guards against a server that treats it fuzzily.
            if found == key:
                return str(task["id"])
        return None

    def update_task(self, task_id: str, changes: TaskChanges) -> None:
        body: dict[str, Any] = {}
        if changes.name is not None:
            body["name"] = changes.name
        if changes.description is not None:
            body["markdown_content"] = changes.description
        if changes.status is not None:
            body["status"] = self._status(changes.status)
        if changes.due_date is not None:
            body.update(self._due_date(date.fromisoformat(changes.due_date)))
        elif changes.clear_due_date:
            body["due_date"] = None
        if changes.priority is not None:
            body["priority"] = changes.priority
        elif changes.clear_priority:
            body["priority"] = None
        add = self._user_ids(changes.assignees_add)
        rem = self._user_ids(changes.assignees_remove)
        if add or rem:
            body["assignees"] = {"add": add, "rem": rem}
        if not body:
            return
        self._client.request("PUT", f"/task/{task_id}", json=body)

    def set_field(self, task_id: str, fact: str, value: str | None) -> None:
        field = self._field(fact)
        path = f"/task/{task_id}/field/{field.id}"
        if value is None:
            self._client.request("DELETE", path)
            return
        # Setting a value twice leaves the same state, so a retry after a timeout is safe.
        body = {"value": self._write_value(fact, value)}
        self._client.request("POST", path, json=body, idempotent=True)

    def post_comment(self, task_id: str, text: str) -> str:
        body = {"comment_text": text, "notify_all": False}
        reply = self._client.request("POST", f"/task/{task_id}/comment", json=body)
        return str(reply["id"])

    def find_comment(self, task_id: str, marker: str) -> str | None:
        # A comment being retried was posted moments ago: the newest page (25) is enough.
        body = self._client.request("GET", f"/task/{task_id}/comment") or {}
        for comment in body.get("comments") or []:
            if marker in str(comment.get("comment_text") or ""):
                return str(comment.get("id"))
        return None

    def add_tag(self, task_id: str, tag: str) -> None:
        path = f"/task/{task_id}/tag/{quote(tag, safe='')}"
        # A task's tags are a set: sending the same tag again is harmless, so a retry is safe.
        self._client.request("POST", path, json={}, idempotent=True)

    def set_rule_field(self, task_id: str, name: str, value: RuleFieldValue) -> None:
        field = self._rule_field(name)
        path = f"/task/{task_id}/field/{field['id']}"
        if value is None:
            self._client.request("DELETE", path)
            return
        try:
            body = {"value": rule_value_to_clickup(field, value, self._zone)}
        except ValueConversionError as exc:
            raise PermanentError(f'custom field "{field.get("name")}": {exc}') from None
        self._client.request("POST", path, json=body, idempotent=True)

    def create_subtask(self, task_id: str, subtask: SubtaskSpec) -> str:
        body: dict[str, Any] = {
            "name": subtask.name,
            "parent": task_id,
            # The marker in the key field is what find_subtask searches by after a crash.
            "custom_fields": [{"id": self._field(KEY_FACT).id, "value": subtask.marker}],
        }
        if subtask.due_date is not None:
            body.update(self._due_date(subtask.due_date))
        assignees = self._user_ids(subtask.assignees)
        if assignees:
            body["assignees"] = assignees
        task = self._client.request("POST", f"/list/{self._list}/task", json=body)
        return str(task["id"])

    def find_subtask(self, task_id: str, marker: str) -> str | None:
        key_field = self._field(KEY_FACT)
        query = json.dumps([{"field_id": key_field.id, "operator": "==", "value": marker}])
        for task in self._pages({"custom_fields": query, "subtasks": True}):
            if str(task.get("parent")) == task_id and _raw_value(task, key_field.id) == marker:
                return str(task["id"])
        return None

    def iter_tasks(self) -> Iterator[RemoteTask]:
        for task in self._pages({}):
            yield self._remote(task)

    def close(self) -> None:
        self._client.close()

    def _pages(self, params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        seen: set[str] = set()
        page = 0
        while True:
            query = {**params, "include_closed": True, "page": page}
            body = self._client.request("GET", f"/list/{self._list}/task", params=query) or {}
            tasks: list[dict[str, Any]] = body.get("tasks") or []
            fresh = [t for t in tasks if str(t.get("id")) not in seen]
            yield from fresh
            seen.update(str(t.get("id")) for t in fresh)
            last = body.get("last_page")
            if last is True or not fresh or (last is None and len(tasks) < PAGE_SIZE):
                return
            page += 1

    def _remote(self, task: Mapping[str, Any]) -> RemoteTask:
        values = {
            fact: self._read_value(task, field) for fact, field in self._schema.fields.items()
        }
        status = (task.get("status") or {}).get("status")
        return RemoteTask(
            task_id=str(task["id"]),
            key=self._read_value(task, self._field(KEY_FACT)),
            name=str(task.get("name", "")),
            status=self._schema.status_key(str(status)) if status is not None else None,
            due_date=date_from_ms(task.get("due_date"), self._zone),
            fields=values,
        )

    def _read_value(self, task: Mapping[str, Any], field: FieldDef) -> str | None:
        raw = _raw_value(task, field.id)
        try:
            return from_clickup(field, raw, self._zone)
        except ValueConversionError as exc:
            # Someone changed the field in ClickUp; report it as unset so it is rewritten.
            log.warning("task %s: field %s: %s", task.get("id"), field.fact, exc)
            return None

    def _write_value(self, fact: str, value: str) -> Any:
        try:
            return value_to_clickup(self._field(fact), value, self._zone)
        except ValueConversionError as exc:
            raise PermanentError(f"clickup.fields.{fact}: {exc}") from None

    def _rule_field(self, name: str) -> dict[str, Any]:
        """The list's custom field called ``name``, read once (rules name fields, not facts)."""
        if self._rule_fields is None:
            body = self._client.request("GET", f"/list/{self._list}/field") or {}
            self._rule_fields = {}
            for raw in body.get("fields") or []:
                self._rule_fields.setdefault(str(raw.get("name", "")).strip().casefold(), raw)
        found = self._rule_fields.get(name.strip().casefold())
        if found is None:
            raise PermanentError(
                f'the ClickUp list has no custom field named "{name}" (a rule sets it; the API '
                "cannot create fields: add it in ClickUp)"
            )
        mirrored = self._schema.fact_of_field(str(found.get("id")))
        if mirrored is not None:
            raise PermanentError(
                f'custom field "{name}" mirrors clickup.fields.{mirrored}; a rule may not set it'
            )
        return found

    def _field(self, fact: str) -> FieldDef:
        try:
            return self._schema.fields[fact]
        except KeyError:
            raise PermanentError(
                f"fact {fact!r} is not mapped to a custom field (see clickup.fields)"
            ) from None

    def _status(self, key: str) -> str:
        try:
            return self._schema.status_name(key)
        except KeyError:
            raise PermanentError(
                f"task status {key!r} has no list status (see clickup.statuses)"
            ) from None

    def _due_date(self, day: date) -> dict[str, Any]:
        return {"due_date": date_to_ms(day, self._zone), "due_date_time": False}

    def _user_ids(self, emails: Iterable[str]) -> list[int]:
        ids = []
        for email in emails:
            user = self._members.get(email.casefold())
            if user is None:
                # A missing assignee should not stop the invoice from being mirrored.
                log.warning("no ClickUp member with e-mail %s; not assigning", email)
                continue
            ids.append(user)
        return ids


def _raw_value(task: Mapping[str, Any], field_id: str, default: Any = None) -> Any:
    """A custom field's read value on a task; ``default`` when the task lists no such field."""
    for field in task.get("custom_fields") or []:
        if field.get("id") == field_id:
            return field.get("value")
    return default
