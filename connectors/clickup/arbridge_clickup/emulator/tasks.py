"""Task writes: create, update, delete and custom field values, with ClickUp's body rules.

Every body is validated in full before anything is stored, so a rejected request leaves the task
untouched. Each change that ClickUp records becomes a history item and a webhook event.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from arbridge_clickup.emulator.errors import bad_request
from arbridge_clickup.emulator.fields import (
    READ_ONLY_TYPES,
    current_value,
    is_number,
    validate_value,
)
from arbridge_clickup.emulator.model import (
    PRIORITIES,
    JsonObj,
    Status,
    Task,
    TaskList,
    task_id_for,
)
from arbridge_clickup.emulator.render import ms_str, priority_json, status_change_json
from arbridge_clickup.emulator.workspace import FieldDef, Workspace, is_int


def create_task(state: Workspace, list_id: str, body: Mapping[str, Any], *, user_id: int) -> Task:
    """Create a task from a CreateTaskrequest body; validates everything before storing."""
    with state.lock:
        lst = state.lists[list_id]
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise bad_request("Task name invalid", "INPUT_005")
        status = lst.statuses[0]
        if body.get("status") is not None:
            status = _status(lst, body["status"])
        priority = _priority(body.get("priority"))
        due_date = _ms(body.get("due_date"), "due_date")
        start_date = _ms(body.get("start_date"), "start_date")
        assignees = _members(state, lst.team_id, body.get("assignees", []))
        tags = _tags(body.get("tags", []))
        values = _initial_values(state, lst, body.get("custom_fields", []))
        parent = _parent(state, lst, body.get("parent"))
        points = body.get("points")
        if points is not None and not is_number(points):
            raise bad_request("Points must be a number", "INPUT_012")
        description, markdown = _description(body)
        now = state.now_ms()
        seq, custom_id = state.next_task_ids(lst.team_id)
        task = Task(
            id=task_id_for(seq),
            seq=seq,
            list_id=lst.id,
            team_id=lst.team_id,
            name=name,
            status=status.name,
            creator_id=user_id,
            date_created=now,
            date_updated=now,
            custom_id=custom_id,
            description=description,
            markdown=markdown,
            priority=priority,
            due_date=due_date,
            due_date_time=bool(body.get("due_date_time", False)),
            start_date=start_date,
            points=points,
            assignees=assignees,
            tags=tags,
            parent=parent,
            archived=bool(body.get("archived", False)),
            values=values,
        )
        if status.closed:
            task.date_closed = task.date_done = now
        state.tasks[task.id] = task
        status_item = state.history_item(
            task,
            user_id,
            "status",
            before={"status": None, "color": "#000000", "type": "removed", "orderindex": -1},
            after=status_change_json(status),
            data={"status_type": status.type},
        )
        creation_item = state.history_item(task, user_id, "task_creation", None, None)
        state.emit("taskCreated", task, [status_item, creation_item])
        state.emit("taskStatusUpdated", task, [status_item])
        return task


def update_task(state: Workspace, task: Task, body: Mapping[str, Any], *, user_id: int) -> Task:
    """Apply an UpdateTaskrequest. Custom fields in the body are ignored, as in ClickUp."""
    with state.lock:
        lst = state.lists[task.list_id]
        changes: dict[str, Any] = {}
        if "name" in body:
            name = body["name"]
            if not isinstance(name, str) or not name.strip():
                raise bad_request("Task name invalid", "INPUT_005")
            changes["name"] = name
        if "status" in body and body["status"] is not None:
            changes["status"] = _status(lst, body["status"])
        if "priority" in body:
            changes["priority"] = _priority(body["priority"])
        if "due_date" in body:
            changes["due_date"] = _ms(body["due_date"], "due_date")
        if "start_date" in body:
            changes["start_date"] = _ms(body["start_date"], "start_date")
        add: list[int] = []
        rem: list[int] = []
        if "assignees" in body:
            add, rem = _assignee_delta(state, lst.team_id, body["assignees"])
        if "archived" in body and not isinstance(body["archived"], bool):
            raise bad_request("archived must be a boolean", "INPUT_013")
        if "description" in body or "markdown_content" in body:
            if "description" in body and not isinstance(body["description"], str):
                raise bad_request("Description must be a string", "INPUT_006")
            changes["content"] = _description(body)
        _apply_update(state, task, body, changes, add, rem, user_id)
        return task


def _apply_update(
    state: Workspace,
    task: Task,
    body: Mapping[str, Any],
    changes: dict[str, Any],
    add: list[int],
    rem: list[int],
    user_id: int,
) -> None:
    now = state.now_ms()
    events: list[tuple[str, JsonObj]] = []
    if "name" in changes and changes["name"] != task.name:
        events.append(
            ("taskUpdated", state.history_item(task, user_id, "name", task.name, changes["name"]))
        )
        task.name = changes["name"]
    if "content" in changes:
        description, markdown = changes["content"]
        if (description, markdown) != (task.description, task.markdown):
            item = state.history_item(task, user_id, "content", task.description, description)
            events.append(("taskUpdated", item))
            task.description, task.markdown = description, markdown
    if "status" in changes and changes["status"].name != task.status:
        old = state.lists[task.list_id].status(task.status)
        new: Status = changes["status"]
        item = state.history_item(
            task,
            user_id,
            "status",
            status_change_json(old) if old else None,
            status_change_json(new),
            data={"status_type": new.type},
        )
        events.append(("taskStatusUpdated", item))
        task.status = new.name
        if new.closed and task.date_closed is None:
            task.date_closed = task.date_done = now
        elif not new.closed:
            task.date_closed = task.date_done = None
    if "priority" in changes and changes["priority"] != task.priority:
        item = state.history_item(
            task,
            user_id,
            "priority",
            priority_json(task.priority),
            priority_json(changes["priority"]),
        )
        events.append(("taskPriorityUpdated", item))
        task.priority = changes["priority"]
    if "due_date" in changes and changes["due_date"] != task.due_date:
        item = state.history_item(
            task, user_id, "due_date", ms_str(task.due_date), ms_str(changes["due_date"])
        )
        events.append(("taskDueDateUpdated", item))
        task.due_date = changes["due_date"]
    if "due_date_time" in body:
        task.due_date_time = bool(body["due_date_time"])
    if "start_date" in changes:
        task.start_date = changes["start_date"]
    for uid in add:
        if uid not in task.assignees:
            task.assignees.append(uid)
            item = state.history_item(
                task, user_id, "assignee_add", None, state.users[uid].as_json()
            )
            events.append(("taskAssigneeUpdated", item))
    for uid in rem:
        if uid in task.assignees:
            task.assignees.remove(uid)
            item = state.history_item(
                task, user_id, "assignee_rem", state.users[uid].as_json(), None
            )
            events.append(("taskAssigneeUpdated", item))
    if "archived" in body and body["archived"] != task.archived:
        item = state.history_item(task, user_id, "archived", task.archived, body["archived"])
        events.append(("taskUpdated", item))
        task.archived = body["archived"]
    task.date_updated = now
    for event, item in events:
        state.emit(event, task, [item])


def delete_task(state: Workspace, task: Task, *, user_id: int) -> None:
    with state.lock:
        state.tasks.pop(task.id, None)
        for cid in [c.id for c in state.comments.values() if c.task_id == task.id]:
            del state.comments[cid]
        state.emit("taskDeleted", task, [])


def set_field(
    state: Workspace, task: Task, field_id: str, body: Mapping[str, Any], *, user_id: int
) -> None:
    """Set Custom Field Value: validate per type, store, bump date_updated."""
    with state.lock:
        fdef = _field_of(state, task, field_id)
        if "value" not in body or body["value"] is None:
            raise bad_request("Value is required", "FIELD_001")
        stored = validate_value(fdef, body["value"])
        _change_field(state, task, fdef, stored, user_id)


def add_tag(state: Workspace, task: Task, tag_name: str, *, user_id: int) -> None:
    """Add Tag To Task: tag names are kept lowercase, once each; adding one again is a no-op."""
    with state.lock:
        name = tag_name.strip().lower()
        if not name:
            raise bad_request("Tag name invalid", "TAGS_001")
        if name in task.tags:
            return
        before = [{"name": t} for t in task.tags]
        task.tags.append(name)
        task.date_updated = state.now_ms()
        after = [{"name": t} for t in task.tags]
        item = state.history_item(task, user_id, "tag", before, after)
        state.emit("taskTagUpdated", task, [item])


def clear_field(state: Workspace, task: Task, field_id: str, *, user_id: int) -> None:
    with state.lock:
        fdef = _field_of(state, task, field_id)
        if fdef.type in READ_ONLY_TYPES:
            raise bad_request(f"Cannot set the value of a {fdef.type} field", "FIELD_026")
        _change_field(state, task, fdef, None, user_id)


def _change_field(state: Workspace, task: Task, fdef: FieldDef, stored: Any, user_id: int) -> None:
    before = current_value(state, task, fdef)
    if stored is None:
        task.values.pop(fdef.id, None)
    else:
        task.values[fdef.id] = stored
    after = current_value(state, task, fdef)
    task.date_updated = state.now_ms()
    if before != after:
        item = state.history_item(task, user_id, "custom_field", before, after)
        item["custom_field"] = fdef.as_json()
        state.emit("taskUpdated", task, [item])


def _status(lst: TaskList, name: Any) -> Status:
    status = lst.status(name) if isinstance(name, str) else None
    if status is None:
        raise bad_request("Status does not exist", "ITEM_114")
    return status


def _priority(value: Any) -> int | None:
    if value is None:
        return None
    if not is_int(value) or value not in PRIORITIES:
        raise bad_request("Priority invalid", "INPUT_011")
    return int(value)


def _ms(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not is_int(value) or value < 0:
        raise bad_request(f"{name} must be a Unix time in milliseconds", "INPUT_008")
    return int(value)


def _members(state: Workspace, team_id: str, value: Any) -> list[int]:
    if not isinstance(value, list) or not all(is_int(v) for v in value):
        raise bad_request("Assignees must be a list of user ids", "INPUT_009")
    members = state.teams[team_id].member_ids
    for uid in value:
        if uid not in members:
            raise bad_request(f"User {uid} is not a member of the workspace", "INPUT_010")
    return list(dict.fromkeys(value))


def _assignee_delta(state: Workspace, team_id: str, value: Any) -> tuple[list[int], list[int]]:
    if not isinstance(value, dict):
        raise bad_request("Assignees must be an object with add and rem", "INPUT_009")
    add = _members(state, team_id, value.get("add", []))
    rem = value.get("rem", [])
    if not isinstance(rem, list) or not all(is_int(v) for v in rem):
        raise bad_request("Assignees must be a list of user ids", "INPUT_009")
    return add, rem


def _tags(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad_request("Tags must be a list of strings", "INPUT_014")
    return list(dict.fromkeys(v.lower() for v in value))


def _description(body: Mapping[str, Any]) -> tuple[str, str]:
    """(plain description, markdown); markdown_content wins and ``" "`` clears."""
    markdown = body.get("markdown_content")
    if isinstance(markdown, str):
        text = "" if markdown == " " else markdown
        return text, text
    description = body.get("description")
    if description is None or description == " ":
        return "", ""
    if not isinstance(description, str):
        raise bad_request("Description must be a string", "INPUT_006")
    return description, description


def _parent(state: Workspace, lst: TaskList, value: Any) -> str | None:
    if value is None:
        return None
    parent = state.tasks.get(value) if isinstance(value, str) else None
    if parent is None or parent.list_id != lst.id:
        raise bad_request("Parent not child of list", "ITEM_137")
    return parent.id


def _initial_values(state: Workspace, lst: TaskList, value: Any) -> dict[str, Any]:
    if not isinstance(value, list):
        raise bad_request("custom_fields must be a list", "FIELD_003")
    values: dict[str, Any] = {}
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise bad_request("Each custom field needs an id", "FIELD_004")
        if item["id"] not in lst.field_ids:
            raise bad_request(
                "Custom field does not exist in the task location hierarchy", "FIELD_115"
            )
        if item.get("value") is None:
            continue
        values[item["id"]] = validate_value(state.fields[item["id"]], item["value"])
    return values


def _field_of(state: Workspace, task: Task, field_id: str) -> FieldDef:
    if field_id not in state.lists[task.list_id].field_ids:
        raise bad_request("Custom field does not exist in the task location hierarchy", "FIELD_115")
    return state.fields[field_id]
