"""The JSON ClickUp answers with: tasks, lists, fields, teams, comments and webhooks.

Dates are millisecond strings and numbers follow JavaScript's formatting, because clients parse
exactly what the live API sends.
"""

from __future__ import annotations

import time

from arbridge_clickup.emulator.fields import current_value
from arbridge_clickup.emulator.model import (
    PRIORITIES,
    Comment,
    JsonObj,
    Status,
    Task,
    TaskList,
    Token,
    Webhook,
    stable_id,
)
from arbridge_clickup.emulator.workspace import FieldDef, Workspace


def ms_str(value: int | None) -> str | None:
    return None if value is None else str(value)


def priority_json(priority: int | None) -> JsonObj | None:
    if priority is None:
        return None
    name, color = PRIORITIES[priority]
    return {"id": str(priority), "priority": name, "color": color, "orderindex": str(priority)}


def status_change_json(status: Status) -> JsonObj:
    """A status as history items show it before and after a change (without its id)."""
    return {
        "status": status.name,
        "color": status.color,
        "orderindex": status.orderindex,
        "type": status.type,
    }


def task_json(state: Workspace, task: Task, *, markdown: bool = False) -> JsonObj:
    lst = state.lists[task.list_id]
    folder = state.folders[lst.folder_id]
    status = lst.status(task.status)
    creator = state.users[task.creator_id]
    folder_json = {"id": folder.id, "name": folder.name, "hidden": False, "access": True}
    result: JsonObj = {
        "id": task.id,
        "custom_id": task.custom_id,
        "custom_item_id": 0,
        "name": task.name,
        "text_content": task.description,
        "description": task.description,
    }
    if markdown:
        result["markdown_description"] = task.markdown
    result |= {
        "status": status.as_json() if status else None,
        "orderindex": f"{task.seq}.00000000000000000000000000000000",
        "date_created": str(task.date_created),
        "date_updated": str(task.date_updated),
        "date_closed": ms_str(task.date_closed),
        "date_done": ms_str(task.date_done),
        "archived": task.archived,
        "creator": {
            "id": creator.id,
            "username": creator.username,
            "color": creator.color,
            "email": creator.email,
            "profilePicture": creator.profile_picture,
        },
        "assignees": [state.users[uid].as_json() for uid in task.assignees],
        "group_assignees": [],
        "watchers": [],
        "checklists": [],
        "tags": [
            {"name": tag, "tag_fg": "#ffffff", "tag_bg": "#7b68ee", "creator": task.creator_id}
            for tag in task.tags
        ],
        "parent": task.parent,
        "top_level_parent": task.parent,
        "priority": priority_json(task.priority),
        "due_date": ms_str(task.due_date),
        "start_date": ms_str(task.start_date),
        "points": task.points,
        "time_estimate": None,
        "time_spent": 0,
        "custom_fields": [_field_value_json(state, task, state.fields[f]) for f in lst.field_ids],
        "dependencies": [],
        "linked_tasks": [],
        "locations": [],
        "team_id": task.team_id,
        "url": f"https://app.clickup.com/t/{task.id}",
        "sharing": {
            "public": False,
            "public_share_expires_on": None,
            "public_fields": ["assignees", "priority", "due_date", "content", "comments"],
            "token": None,
            "seo_optimized": False,
        },
        "permission_level": "create",
        "list": {"id": lst.id, "name": lst.name, "access": True},
        "project": folder_json,
        "folder": dict(folder_json),
        "space": {"id": lst.space_id},
    }
    return result


def _field_value_json(state: Workspace, task: Task, fdef: FieldDef) -> JsonObj:
    item = fdef.as_json()
    value = current_value(state, task, fdef)
    if value is not None:
        item["value"] = value
    return item


def list_json(state: Workspace, lst: TaskList) -> JsonObj:
    folder = state.folders[lst.folder_id]
    space = state.spaces[lst.space_id]
    return {
        "id": lst.id,
        "name": lst.name,
        "orderindex": lst.orderindex,
        "content": lst.content,
        "assignee": None,
        "task_count": None,
        "due_date_time": False,
        "start_date": None,
        "start_date_time": None,
        "folder": {"id": folder.id, "name": folder.name, "hidden": False, "access": True},
        "space": {"id": space.id, "name": space.name, "access": True},
        "inbound_address": f"a.t.{lst.id}.{stable_id('inbound', lst.id)[:6]}@tasks.clickup.com",
        "archived": False,
        "override_statuses": True,
        "statuses": [st.as_json() for st in lst.statuses],
        "permission_level": "create",
    }


def fields_json(state: Workspace, lst: TaskList) -> JsonObj:
    return {"fields": [state.fields[fid].as_json() for fid in lst.field_ids]}


def teams_json(state: Workspace, token: Token) -> JsonObj:
    teams = []
    for team_id in sorted(token.team_ids):
        team = state.teams.get(team_id)
        if team is None:
            continue
        members = [{"user": state.users[uid].as_json()} for uid in team.member_ids]
        teams.append(
            {
                "id": team.id,
                "name": team.name,
                "color": team.color,
                "avatar": team.avatar,
                "members": members,
            }
        )
    return {"teams": teams}


def comment_json(state: Workspace, comment: Comment) -> JsonObj:
    def person(uid: int | None) -> JsonObj | None:
        return None if uid is None else state.users[uid].as_json()

    return {
        "id": comment.id,
        "comment": [{"text": comment.text}],
        "comment_text": comment.text,
        "user": state.users[comment.user_id].as_json(),
        "resolved": comment.resolved,
        "assignee": person(comment.assignee_id),
        "assigned_by": person(comment.assigned_by_id),
        "reactions": [],
        "date": str(comment.date),
        "reply_count": "0",
    }


def webhook_json(hook: Webhook) -> JsonObj:
    return {
        "id": hook.id,
        "userid": hook.user_id,
        "team_id": int(hook.team_id),
        "endpoint": hook.endpoint,
        "client_id": hook.client_id,
        "events": list(hook.events),
        "task_id": hook.task_id,
        "list_id": hook.list_id,
        "folder_id": hook.folder_id,
        "space_id": hook.space_id,
        "health": {"status": hook.status, "fail_count": hook.fail_count},
        "secret": hook.secret,
    }


def display_value(state: Workspace, task: Task, fdef: FieldDef) -> str | None:
    """A field value as a person reads it (option names, ISO dates); for the board."""
    value = current_value(state, task, fdef)
    if value is None:
        return None
    if fdef.type == "drop_down":
        opt = fdef.option(task.values.get(fdef.id))
        return None if opt is None else opt.name
    if fdef.type == "labels":
        return ", ".join(o.name for o in fdef.options if o.id in value)
    if fdef.type == "date":
        return time.strftime("%Y-%m-%d", time.gmtime(int(value) / 1000))
    return str(value)
