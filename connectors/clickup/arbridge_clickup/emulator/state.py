"""The in-memory ClickUp workspace behind the emulator: its objects and the rules that change them.

Nothing here speaks HTTP. Route handlers in ``app.py`` translate requests into calls on
``EmulatorState`` and ``ClickUpError`` into ClickUp's ``{"err", "ECODE"}`` bodies, so tests can
also drive the same rules directly from Python. Task writes, task queries and the JSON shapes
live in ``tasks.py``, ``query.py`` and ``render.py``; the methods here are their entry points.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from arbridge_clickup.emulator import query as task_query
from arbridge_clickup.emulator import render, tasks
from arbridge_clickup.emulator.errors import ClickUpError, bad_request, not_authorized
from arbridge_clickup.emulator.events import WebhookDelivery, delivery, parse_events, wants
from arbridge_clickup.emulator.fields import build_field, valid_url
from arbridge_clickup.emulator.model import (
    Comment,
    Folder,
    JsonObj,
    Space,
    Status,
    Task,
    TaskList,
    Team,
    Token,
    User,
    Webhook,
    stable_id,
)
from arbridge_clickup.emulator.query import TaskQuery
from arbridge_clickup.emulator.workspace import FieldDef, FieldSpec, is_int

DROPPED = 0  # the status counted for a request whose connection was dropped unanswered
COMMENT_PAGE_SIZE = 25
_SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"  # noqa: S105 - not a secret


class EmulatorState:
    """One in-memory ClickUp: its hierarchy, tasks, comments, webhooks and request counters.

    Every mutation holds ``lock``, so tests may read from another thread while a server runs.
    ``clock`` (epoch seconds) stamps dates; ``seed`` makes generated ids and secrets repeatable.
    """

    def __init__(self, *, clock: Callable[[], float] = time.time, seed: int = 0) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.users: dict[int, User] = {}
        self.teams: dict[str, Team] = {}
        self.spaces: dict[str, Space] = {}
        self.folders: dict[str, Folder] = {}
        self.lists: dict[str, TaskList] = {}
        self.fields: dict[str, FieldDef] = {}
        self.tokens: dict[str, Token] = {}
        self.tasks: dict[str, Task] = {}
        self.comments: dict[str, Comment] = {}
        self.webhooks: dict[str, Webhook] = {}
        self.outbox: deque[WebhookDelivery] = deque()
        self.request_counts: Counter[str] = Counter()
        self.status_counts: Counter[int] = Counter()
        self._outbox_listeners: list[Callable[[], None]] = []
        self._rng = random.Random(seed)
        self._task_seq = 0
        self._comment_seq = 0
        self._history_seq = 0
        self._custom_seq: Counter[str] = Counter()

    # -- building the hierarchy (fixtures) --

    def add_user(self, user: User) -> User:
        self.users[user.id] = user
        return user

    def add_team(
        self,
        team_id: str,
        name: str,
        member_ids: Iterable[int],
        *,
        custom_id_prefix: str | None = None,
    ) -> Team:
        team = Team(team_id, name, list(member_ids), custom_id_prefix=custom_id_prefix)
        self.teams[team_id] = team
        return team

    def add_space(self, space_id: str, team_id: str, name: str) -> Space:
        space = Space(space_id, name, team_id)
        self.spaces[space_id] = space
        return space

    def add_folder(self, folder_id: str, space_id: str, name: str) -> Folder:
        folder = Folder(folder_id, name, space_id)
        self.folders[folder_id] = folder
        return folder

    def add_list(
        self,
        list_id: str,
        folder_id: str,
        name: str,
        *,
        statuses: Sequence[tuple[str, str, str]],
        fields: Sequence[FieldSpec] = (),
    ) -> TaskList:
        """Add a list with ``(name, type, color)`` statuses and custom fields."""
        folder = self.folders[folder_id]
        space = self.spaces[folder.space_id]
        sts = [
            Status(st_name, st_type, color, i, f"sc{list_id}_{stable_id(list_id, st_name)[:8]}")
            for i, (st_name, st_type, color) in enumerate(statuses)
        ]
        field_ids = []
        for i, spec in enumerate(fields):
            fdef = build_field(list_id, i, spec)
            self.fields[fdef.id] = fdef
            field_ids.append(fdef.id)
        lst = TaskList(list_id, name, folder_id, space.id, space.team_id, sts, field_ids)
        lst.orderindex = len(self.lists)
        self.lists[list_id] = lst
        return lst

    def add_token(self, value: str, user_id: int, team_ids: Iterable[str]) -> Token:
        token = Token(value, user_id, frozenset(team_ids))
        self.tokens[value] = token
        return token

    # -- lookups --

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def authenticate(self, header: str | None) -> Token:
        if not header or not header.strip():
            raise ClickUpError(401, "Authorization header required", "OAUTH_017")
        value = header.strip()
        if value.lower().startswith("bearer "):
            value = value[7:].strip()
        token = self.tokens.get(value)
        if token is None:
            raise ClickUpError(401, "Token invalid", "OAUTH_019")
        return token

    def team_for(self, token: Token, team_id: str) -> Team:
        team = self.teams.get(team_id)
        if team is None or team_id not in token.team_ids:
            raise not_authorized()
        return team

    def list_for(self, token: Token, list_id: str) -> TaskList:
        lst = self.lists.get(list_id)
        if lst is None or lst.team_id not in token.team_ids:
            raise not_authorized()
        return lst

    def task_for(
        self,
        token: Token,
        task_id: str,
        *,
        custom_task_ids: bool = False,
        team_id: str | None = None,
    ) -> Task:
        """Resolve a task id, or a custom task id when ``custom_task_ids`` is set."""
        if custom_task_ids:
            if not team_id:
                raise bad_request("team_id is required when custom_task_ids is true", "ITEM_068")
            self.team_for(token, team_id)
            for candidate in self.tasks.values():
                if candidate.team_id == team_id and candidate.custom_id == task_id:
                    return candidate
            raise not_authorized()
        task = self.tasks.get(task_id)
        if task is None or task.team_id not in token.team_ids:
            raise not_authorized()
        return task

    def user(self, user_id: int) -> User:
        return self.users[user_id]

    def field_by_name(self, list_id: str, name: str) -> FieldDef:
        for fid in self.lists[list_id].field_ids:
            if self.fields[fid].name == name:
                return self.fields[fid]
        raise KeyError(f"list {list_id} has no field {name!r}")

    def tasks_in_list(self, list_id: str) -> list[Task]:
        with self.lock:
            return sorted(
                (t for t in self.tasks.values() if t.list_id == list_id), key=lambda t: t.seq
            )

    def comments_on(self, task_id: str) -> list[Comment]:
        """Comments on a task, newest first (the API's order)."""
        with self.lock:
            found = [c for c in self.comments.values() if c.task_id == task_id]
        return sorted(found, key=lambda c: (c.date, c.seq), reverse=True)

    def display_value(self, task: Task, fdef: FieldDef) -> str | None:
        """A field value as a person reads it (option names, ISO dates); for the board."""
        return render.display_value(self, task, fdef)

    # -- tasks --

    def create_task(self, list_id: str, body: Mapping[str, Any], *, user_id: int) -> Task:
        """Create a task from a CreateTaskrequest body; validates everything before storing."""
        return tasks.create_task(self, list_id, body, user_id=user_id)

    def update_task(self, task: Task, body: Mapping[str, Any], *, user_id: int) -> Task:
        """Apply an UpdateTaskrequest. Custom fields in the body are ignored, as in ClickUp."""
        return tasks.update_task(self, task, body, user_id=user_id)

    def delete_task(self, task: Task, *, user_id: int) -> None:
        tasks.delete_task(self, task, user_id=user_id)

    def set_field(
        self, task: Task, field_id: str, body: Mapping[str, Any], *, user_id: int
    ) -> None:
        """Set Custom Field Value: validate per type, store, bump date_updated."""
        tasks.set_field(self, task, field_id, body, user_id=user_id)

    def add_tag(self, task: Task, tag_name: str, *, user_id: int) -> None:
        tasks.add_tag(self, task, tag_name, user_id=user_id)

    def clear_field(self, task: Task, field_id: str, *, user_id: int) -> None:
        tasks.clear_field(self, task, field_id, user_id=user_id)

    def query_tasks(self, lists: Sequence[TaskList], query: TaskQuery) -> tuple[list[Task], bool]:
        """One page of tasks from ``lists`` matching ``query``, and whether it is the last."""
        return task_query.find_tasks(self, lists, query)

    def check_filters(self, lists: Sequence[TaskList], query: TaskQuery) -> None:
        """Reject filters on fields the lists do not have, before any task is read."""
        task_query.check_filters(lists, query)

    def next_task_ids(self, team_id: str) -> tuple[int, str | None]:
        """Claim the next task number and, if the team numbers its tasks, its custom id."""
        self._task_seq += 1
        team = self.teams[team_id]
        if team.custom_id_prefix is None:
            return self._task_seq, None
        self._custom_seq[team.id] += 1
        return self._task_seq, f"{team.custom_id_prefix}-{self._custom_seq[team.id]}"

    # -- comments --

    def add_comment(self, task: Task, body: Mapping[str, Any], *, user_id: int) -> Comment:
        with self.lock:
            text = body.get("comment_text")
            rich = body.get("comment")
            if text is None and isinstance(rich, list):
                # The rich-text form ClickUp documents as an alternative to comment_text.
                text = "".join(str(part.get("text", "")) for part in rich if isinstance(part, dict))
            if not isinstance(text, str):
                raise bad_request("Comment text is required", "COMM_002")
            if not isinstance(body.get("notify_all"), bool):
                raise bad_request("notify_all is required", "COMM_003")
            assignee = body.get("assignee")
            members = self.teams[task.team_id].member_ids
            if assignee is not None and (not is_int(assignee) or assignee not in members):
                raise bad_request("Assignee is not a member of the workspace", "COMM_004")
            self._comment_seq += 1
            comment = Comment(
                id=str(90_000_000_000 + self._comment_seq),
                seq=self._comment_seq,
                task_id=task.id,
                text=text,
                user_id=user_id,
                date=self.now_ms(),
                hist_id=stable_id("comment-history", self._comment_seq),
                assignee_id=assignee,
                assigned_by_id=user_id if assignee is not None else None,
            )
            self.comments[comment.id] = comment
            item = self.history_item(task, user_id, "comment", None, comment.id)
            item["comment"] = self.comment_json(comment)
            self.emit("taskCommentPosted", task, [item])
            return comment

    def comments_page(
        self, task: Task, *, start: int | None = None, start_id: str | None = None
    ) -> list[Comment]:
        """Up to 25 comments, newest first, older than the (start, start_id) comment if given."""
        ordered = self.comments_on(task.id)
        if start is not None:
            anchor = self.comments.get(start_id or "")
            if anchor is not None and anchor.task_id == task.id:
                key = (anchor.date, anchor.seq)
                ordered = [c for c in ordered if (c.date, c.seq) < key]
            else:
                ordered = [c for c in ordered if c.date < start]
        return ordered[:COMMENT_PAGE_SIZE]

    # -- webhooks --

    def create_webhook(self, team: Team, body: Mapping[str, Any], *, user_id: int) -> Webhook:
        with self.lock:
            endpoint = body.get("endpoint")
            if not isinstance(endpoint, str) or not valid_url(endpoint):
                raise bad_request("Webhook endpoint must be a valid URL", "HOOK_001")
            events = parse_events(body.get("events"))
            hook = Webhook(
                id=str(uuid.UUID(int=self._rng.getrandbits(128), version=4)),
                team_id=team.id,
                user_id=user_id,
                endpoint=endpoint,
                events=events,
                secret="".join(self._rng.choices(_SECRET_ALPHABET, k=64)),
                client_id="".join(self._rng.choices(_SECRET_ALPHABET, k=32)),
            )
            for key in ("space_id", "folder_id", "list_id", "task_id"):
                value = body.get(key)
                if value is not None:
                    if not isinstance(value, str | int) or isinstance(value, bool):
                        raise bad_request(f"{key} must be an id", "HOOK_003")
                    setattr(hook, key, str(value))
            self.webhooks[hook.id] = hook
            return hook

    def webhook_for(self, token: Token, webhook_id: str) -> Webhook:
        hook = self.webhooks.get(webhook_id)
        if hook is None:
            raise ClickUpError(404, "Webhook not found", "HOOK_004")
        if hook.team_id not in token.team_ids:
            raise not_authorized()
        return hook

    def update_webhook(self, hook: Webhook, body: Mapping[str, Any]) -> Webhook:
        with self.lock:
            endpoint = body.get("endpoint", hook.endpoint)
            if not isinstance(endpoint, str) or not valid_url(endpoint):
                raise bad_request("Webhook endpoint must be a valid URL", "HOOK_001")
            events = hook.events
            if "events" in body:
                raw = body["events"]
                events = parse_events([raw] if isinstance(raw, str) else raw)
            status = body.get("status", hook.status)
            if status not in ("active", "suspended"):
                raise bad_request("status must be active or suspended", "HOOK_005")
            hook.endpoint, hook.events = endpoint, events
            if status == "active" and hook.status != "active":
                hook.fail_count = 0
            hook.status = status
            return hook

    def delete_webhook(self, hook: Webhook) -> None:
        with self.lock:
            self.webhooks.pop(hook.id, None)

    def record_delivery(self, webhook_id: str, *, ok: bool, gone: bool = False) -> None:
        """Update webhook health after a delivery (including its retries) finished."""
        with self.lock:
            hook = self.webhooks.get(webhook_id)
            if hook is None or hook.status == "suspended":
                return
            if ok:
                hook.status, hook.fail_count = "active", 0
            elif gone:
                hook.status = "suspended"
            else:
                hook.fail_count += 1
                hook.status = "suspended" if hook.fail_count >= 100 else "failing"

    def add_outbox_listener(self, listener: Callable[[], None]) -> None:
        """``listener`` is called (without arguments) whenever deliveries are queued."""
        self._outbox_listeners.append(listener)

    def take_deliveries(self) -> list[WebhookDelivery]:
        with self.lock:
            taken = list(self.outbox)
            self.outbox.clear()
            return taken

    # -- maintenance --

    def reset(self, *, webhooks: bool = False) -> None:
        """Forget tasks, comments, queued deliveries and, if asked, webhooks.

        Id counters keep counting, so a client holding an old task id never finds a new task.
        """
        with self.lock:
            self.tasks.clear()
            self.comments.clear()
            self.outbox.clear()
            if webhooks:
                self.webhooks.clear()

    def count_request(self, route: str) -> None:
        with self.lock:
            self.request_counts[route] += 1

    def count_status(self, status: int) -> None:
        with self.lock:
            self.status_counts[status] += 1

    def stats(self) -> JsonObj:
        with self.lock:
            return {
                "requests": dict(sorted(self.request_counts.items())),
                "total": sum(self.request_counts.values()),
                "http_429": self.status_counts[429],
                "dropped": self.status_counts[DROPPED],
                "statuses": {
                    str(k): v for k, v in sorted(self.status_counts.items()) if k != DROPPED
                },
            }

    def reset_stats(self) -> None:
        with self.lock:
            self.request_counts.clear()
            self.status_counts.clear()

    # -- ClickUp JSON shapes --

    def task_json(self, task: Task, *, markdown: bool = False) -> JsonObj:
        return render.task_json(self, task, markdown=markdown)

    def list_json(self, lst: TaskList) -> JsonObj:
        return render.list_json(self, lst)

    def fields_json(self, lst: TaskList) -> JsonObj:
        return render.fields_json(self, lst)

    def teams_json(self, token: Token) -> JsonObj:
        return render.teams_json(self, token)

    def comment_json(self, comment: Comment) -> JsonObj:
        return render.comment_json(self, comment)

    def webhook_json(self, hook: Webhook) -> JsonObj:
        return render.webhook_json(hook)

    # -- history and webhook events --

    def history_item(
        self,
        task: Task,
        user_id: int,
        field_name: str,
        before: Any,
        after: Any,
        *,
        data: JsonObj | None = None,
    ) -> JsonObj:
        """A task history item as webhook payloads carry it; ids keep increasing across tasks."""
        self._history_seq += 1
        return {
            "id": str(2_800_000_000_000_000_000 + self._history_seq),
            "type": 1,
            "date": str(self.now_ms()),
            "field": field_name,
            "parent_id": task.list_id,
            "data": data or {},
            "source": None,
            "user": self.users[user_id].as_json(),
            "before": before,
            "after": after,
        }

    def emit(self, event: str, task: Task, items: list[JsonObj]) -> None:
        """Queue ``event`` for every webhook that wants it, then wake the outbox listeners."""
        queued = False
        for hook in self.webhooks.values():
            if wants(hook, event, task, self.lists):
                self.outbox.append(delivery(hook, event, task, items))
                queued = True
        if queued:
            for listener in list(self._outbox_listeners):
                listener()
