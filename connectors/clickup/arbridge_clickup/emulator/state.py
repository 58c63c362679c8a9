"""The in-memory ClickUp workspace behind the emulator: data, rules and ClickUp's JSON shapes.

Nothing here speaks HTTP. Route handlers in ``app.py`` translate requests into calls on
``EmulatorState`` and ``ClickUpError`` into ClickUp's ``{"err", "ECODE"}`` bodies, so tests can
also drive the same rules directly from Python.

ECODEs confirmed against the live API by the sources in ``shared/contracts/NOTES.md`` are
OAUTH_017/019/027, FIELD_011, FIELD_017 and APP_002; the others are this emulator's choice.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import random
import re
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import urlsplit

JsonObj = dict[str, Any]

PAGE_SIZE = 100
DROPPED = 0  # the status counted for a request whose connection was dropped unanswered
COMMENT_PAGE_SIZE = 25
CLOSED_TYPES = frozenset({"closed", "done"})
# A fixed namespace so field and option ids are the same on every run.
ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:arbridge:clickup-emulator")
FIXTURE_EPOCH_MS = 1_735_689_600_000  # 2025-01-01T00:00:00Z, creation time of fixture objects

PRIORITIES: dict[int, tuple[str, str]] = {
    1: ("urgent", "#f50000"),
    2: ("high", "#ffcc00"),
    3: ("normal", "#6fddff"),
    4: ("low", "#d8d8d8"),
}

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

TEXT_TYPES = frozenset({"short_text", "text", "phone"})
NUMBER_TYPES = frozenset({"number", "currency"})
READ_ONLY_TYPES = frozenset({"formula", "automatic_progress", "rollup"})
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ClickUpError(Exception):
    """An API error as ClickUp reports it: an HTTP status plus ``{"err", "ECODE"}``."""

    def __init__(self, status: int, err: str, ecode: str) -> None:
        super().__init__(f"{status} {ecode}: {err}")
        self.status = status
        self.err = err
        self.ecode = ecode

    def body(self) -> dict[str, str]:
        return {"err": self.err, "ECODE": self.ecode}


def _bad(err: str, ecode: str) -> ClickUpError:
    return ClickUpError(400, err, ecode)


def not_authorized() -> ClickUpError:
    # The live API answers an unknown list or task id exactly like a foreign one.
    return ClickUpError(401, "Team not authorized", "OAUTH_027")


def sign_body(secret: str, body: bytes) -> str:
    """ClickUp's ``X-Signature``: hex HMAC-SHA256 of the exact body bytes, keyed by the secret."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def js_number(value: float) -> str:
    """Render a number the way ClickUp's JavaScript backend stringifies it (8.0 -> "8")."""
    if isinstance(value, int):
        return str(value)
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return repr(value)


def _uuid(*parts: object) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, "/".join(str(p) for p in parts)))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


# --- workspace objects --------------------------------------------------------------------------


@dataclass(frozen=True)
class User:
    id: int
    username: str
    email: str
    color: str = "#7b68ee"
    profile_picture: str = ""

    @property
    def initials(self) -> str:
        return "".join(word[0] for word in self.username.split()[:2]).upper()

    def as_json(self) -> JsonObj:
        return {
            "id": self.id,
            "username": self.username,
            "email": self.email,
            "color": self.color,
            "initials": self.initials,
            "profilePicture": self.profile_picture,
        }


@dataclass(frozen=True)
class Status:
    name: str
    type: str
    color: str
    orderindex: int
    id: str

    @property
    def closed(self) -> bool:
        return self.type in CLOSED_TYPES

    def as_json(self) -> JsonObj:
        return {
            "id": self.id,
            "status": self.name,
            "color": self.color,
            "orderindex": self.orderindex,
            "type": self.type,
        }


@dataclass(frozen=True)
class FieldOption:
    id: str
    name: str
    color: str | None
    orderindex: int


class FieldSpec(NamedTuple):
    """How a fixture declares a custom field; ids are derived from the names."""

    name: str
    type: str
    options: Sequence[str] = ()
    type_config: Mapping[str, Any] = {}
    formula: Callable[[EmulatorState, Task], Any] | None = None


@dataclass
class FieldDef:
    id: str
    name: str
    type: str
    type_config: JsonObj
    options: tuple[FieldOption, ...]
    date_created: int
    required: bool = False
    hide_from_guests: bool = False
    formula: Callable[[EmulatorState, Task], Any] | None = None

    def option(self, ref: Any) -> FieldOption | None:
        """An option by UUID or by orderindex, the two forms ClickUp accepts for a drop-down."""
        for opt in self.options:
            if (isinstance(ref, str) and opt.id == ref) or (_is_int(ref) and opt.orderindex == ref):
                return opt
        return None

    def option_named(self, name: str) -> FieldOption:
        for opt in self.options:
            if opt.name == name:
                return opt
        raise KeyError(f"{self.name} has no option {name!r}")

    def as_json(self) -> JsonObj:
        config = dict(self.type_config)
        if self.type in ("drop_down", "labels"):
            name_key = "label" if self.type == "labels" else "name"
            config["options"] = [
                {"id": o.id, name_key: o.name, "color": o.color, "orderindex": o.orderindex}
                for o in self.options
            ]
        return {
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "type_config": config,
            "date_created": str(self.date_created),
            "hide_from_guests": self.hide_from_guests,
            "required": self.required,
        }


@dataclass
class Team:
    id: str
    name: str
    member_ids: list[int]
    color: str = "#7b68ee"
    avatar: str = ""
    custom_id_prefix: str | None = None


@dataclass
class Space:
    id: str
    name: str
    team_id: str


@dataclass
class Folder:
    id: str
    name: str
    space_id: str


@dataclass
class TaskList:
    id: str
    name: str
    folder_id: str
    space_id: str
    team_id: str
    statuses: list[Status]
    field_ids: list[str]
    orderindex: int = 0
    content: str = ""

    def status(self, name: str) -> Status | None:
        wanted = name.strip().lower()
        for st in self.statuses:
            if st.name.lower() == wanted:
                return st
        return None


@dataclass(frozen=True)
class Token:
    value: str
    user_id: int
    team_ids: frozenset[str]


@dataclass
class Task:
    id: str
    seq: int
    list_id: str
    team_id: str
    name: str
    status: str
    creator_id: int
    date_created: int
    date_updated: int
    custom_id: str | None = None
    description: str = ""
    markdown: str = ""
    priority: int | None = None
    due_date: int | None = None
    due_date_time: bool = False
    start_date: int | None = None
    points: float | None = None
    assignees: list[int] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    parent: str | None = None
    archived: bool = False
    date_closed: int | None = None
    date_done: int | None = None
    values: dict[str, Any] = field(default_factory=dict)  # field id -> value as written


@dataclass
class Comment:
    id: str
    seq: int
    task_id: str
    text: str
    user_id: int
    date: int
    hist_id: str
    assignee_id: int | None = None
    assigned_by_id: int | None = None
    resolved: bool = False


@dataclass
class Webhook:
    id: str
    team_id: str
    user_id: int
    endpoint: str
    events: list[str]
    secret: str
    client_id: str
    space_id: str | None = None
    folder_id: str | None = None
    list_id: str | None = None
    task_id: str | None = None
    status: str = "active"
    fail_count: int = 0


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


# --- field values ---------------------------------------------------------------------------


def validate_value(fdef: FieldDef, value: Any) -> Any:
    """Check a value written to a field and return it in the form the emulator stores.

    Raises ClickUpError(400) with ClickUp-style messages. ``None`` is not accepted here; callers
    treat a null value as "leave unset".
    """
    kind = fdef.type
    if kind in READ_ONLY_TYPES:
        raise _bad(f"Cannot set the value of a {kind} field", "FIELD_026")
    if kind in TEXT_TYPES:
        if not isinstance(value, str):
            raise _bad("Value is not a valid string", "FIELD_005")
        return value
    if kind == "url":
        if not isinstance(value, str) or not _valid_url(value):
            raise _bad("Value is not a valid url", "FIELD_006")
        return value
    if kind == "email":
        if not isinstance(value, str) or not _EMAIL.match(value):
            raise _bad("Value is not a valid email", "FIELD_007")
        return value
    if kind in NUMBER_TYPES:
        if not _is_number(value):
            raise _bad("Value is not a valid number", "FIELD_008")
        return value
    if kind == "date":
        if not _is_int(value) or value < 0:
            raise _bad("Value is not a valid date", "FIELD_017")
        return value
    if kind == "drop_down":
        opt = fdef.option(value)
        if opt is None:
            raise _bad("Value must be an option index or uuid", "FIELD_011")
        return opt.id
    if kind == "labels":
        if not isinstance(value, list) or not all(
            isinstance(v, str) and fdef.option(v) for v in value
        ):
            raise _bad("Value must be an array of label option uuids", "FIELD_012")
        return list(dict.fromkeys(value))
    if kind == "checkbox":
        if isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return value == "true"
        raise _bad("Value is not a valid boolean", "FIELD_013")
    if kind == "emoji":
        count = int(fdef.type_config.get("count", 5))
        if not _is_int(value) or not 0 <= value <= count:
            raise _bad(f"Value must be an integer between 0 and {count}", "FIELD_014")
        return value
    raise _bad(f"Setting {kind} fields is not supported by this emulator", "FIELD_099")


def _valid_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in value


def read_value(fdef: FieldDef, stored: Any) -> Any:
    """A stored value in ClickUp's read format, which differs from what was written."""
    if fdef.type in NUMBER_TYPES:
        return js_number(stored)
    if fdef.type == "date":
        return str(stored)
    if fdef.type == "drop_down":
        opt = fdef.option(stored)
        return None if opt is None else opt.orderindex
    return stored


# --- task queries ---------------------------------------------------------------------------

FILTER_OPERATORS = frozenset(
    {
        "=",
        "==",
        "<",
        "<=",
        ">",
        ">=",
        "!=",
        "!==",
        "IS NULL",
        "IS NOT NULL",
        "RANGE",
        "ANY",
        "ALL",
        "NOT ANY",
        "NOT ALL",
    }
)
_DATE_BOUNDS = ("due_date", "date_created", "date_updated", "date_done")


@dataclass(frozen=True)
class FieldFilter:
    field_id: str
    operator: str
    value: Any


def _bad_param(name: str) -> ClickUpError:
    return _bad(f"Invalid value for query parameter {name}", "INPUT_003")


def _parse_bool(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0", ""):
        return False
    raise _bad_param(name)


def _parse_int(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise _bad_param(name) from None


@dataclass(frozen=True)
class TaskQuery:
    """The filters and paging of Get Tasks / Get Filtered Team Tasks."""

    page: int = 0
    order_by: str = "created"
    reverse: bool = False
    include_closed: bool = False
    subtasks: bool = False
    archived: bool = False
    include_markdown: bool = False
    statuses: tuple[str, ...] = ()
    assignees: tuple[int, ...] = ()
    tags: tuple[str, ...] = ()
    list_ids: tuple[str, ...] = ()
    folder_ids: tuple[str, ...] = ()
    space_ids: tuple[str, ...] = ()
    bounds: tuple[tuple[str, int], ...] = ()
    custom_fields: tuple[FieldFilter, ...] = ()

    @classmethod
    def from_params(cls, params: Mapping[str, Sequence[str]]) -> TaskQuery:
        """Parse query parameters; array filters are accepted with or without ``[]``."""

        def many(name: str) -> list[str]:
            return [*params.get(f"{name}[]", ()), *params.get(name, ())]

        def one(name: str) -> str | None:
            values = params.get(name)
            return values[-1] if values else None

        def flag(name: str) -> bool:
            raw = one(name)
            return False if raw is None else _parse_bool(name, raw)

        page_raw = one("page")
        page = 0 if page_raw is None else _parse_int("page", page_raw)
        if page < 0:
            raise _bad_param("page")
        order_by = one("order_by") or "created"
        if order_by not in ("id", "created", "updated", "due_date"):
            raise _bad_param("order_by")
        bounds: list[tuple[str, int]] = []
        for base in _DATE_BOUNDS:
            for suffix in ("gt", "lt"):
                name = f"{base}_{suffix}"
                raw = one(name)
                if raw is not None:
                    bounds.append((name, _parse_int(name, raw)))
        assignees = []
        for raw in many("assignees"):
            assignees.append(_parse_int("assignees", raw))
        filters: list[FieldFilter] = []
        for raw in params.get("custom_fields", ()):
            filters.extend(_parse_field_filters(raw))
        return cls(
            page=page,
            order_by=order_by,
            reverse=flag("reverse"),
            include_closed=flag("include_closed"),
            subtasks=flag("subtasks"),
            archived=flag("archived"),
            include_markdown=flag("include_markdown_description"),
            statuses=tuple(s.lower() for s in many("statuses")),
            assignees=tuple(assignees),
            tags=tuple(t.lower() for t in many("tags")),
            list_ids=tuple(many("list_ids")),
            folder_ids=tuple(many("project_ids")),
            space_ids=tuple(many("space_ids")),
            bounds=tuple(bounds),
            custom_fields=tuple(filters),
        )


def _parse_field_filters(raw: str) -> list[FieldFilter]:
    try:
        decoded = json.loads(raw)
    except json.JSONDecodeError:
        raise _bad("custom_fields must be a JSON array", "FILTER_001") from None
    if isinstance(decoded, dict):
        decoded = [decoded]
    if not isinstance(decoded, list):
        raise _bad("custom_fields must be a JSON array", "FILTER_001")
    filters = []
    for item in decoded:
        if not isinstance(item, dict) or not isinstance(item.get("field_id"), str):
            raise _bad("Each custom field filter needs a field_id", "FILTER_002")
        operator = str(item.get("operator", "=")).upper()
        if operator not in FILTER_OPERATORS:
            raise _bad(f"Unknown custom field filter operator {operator}", "FILTER_003")
        if operator not in ("IS NULL", "IS NOT NULL") and "value" not in item:
            raise _bad(f"Operator {operator} needs a value", "FILTER_004")
        filters.append(FieldFilter(item["field_id"], operator, item.get("value")))
    return filters


def _as_float(value: Any) -> float:
    if _is_number(value):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise _bad("Custom field filter value is not a number", "FILTER_005")


# --- the workspace --------------------------------------------------------------------------


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
            Status(st_name, st_type, color, i, f"sc{list_id}_{_uuid(list_id, st_name)[:8]}")
            for i, (st_name, st_type, color) in enumerate(statuses)
        ]
        field_ids = []
        for i, spec in enumerate(fields):
            fid = _uuid("field", list_id, spec.name)
            options = tuple(
                FieldOption(_uuid(fid, "option", opt), opt, _PALETTE[j % len(_PALETTE)], j)
                for j, opt in enumerate(spec.options)
            )
            self.fields[fid] = FieldDef(
                id=fid,
                name=spec.name,
                type=spec.type,
                type_config=dict(spec.type_config),
                options=options,
                date_created=FIXTURE_EPOCH_MS + i,
                formula=spec.formula,
            )
            field_ids.append(fid)
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
                raise _bad("team_id is required when custom_task_ids is true", "ITEM_068")
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
        value = self._read(task, fdef)
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

    # -- tasks --

    def create_task(self, list_id: str, body: Mapping[str, Any], *, user_id: int) -> Task:
        """Create a task from a CreateTaskrequest body; validates everything before storing."""
        with self.lock:
            lst = self.lists[list_id]
            name = body.get("name")
            if not isinstance(name, str) or not name.strip():
                raise _bad("Task name invalid", "INPUT_005")
            status = lst.statuses[0]
            if body.get("status") is not None:
                status = self._status(lst, body["status"])
            priority = self._priority(body.get("priority"))
            due_date = self._ms(body.get("due_date"), "due_date")
            start_date = self._ms(body.get("start_date"), "start_date")
            assignees = self._members(lst.team_id, body.get("assignees", []))
            tags = self._tags(body.get("tags", []))
            values = self._initial_values(lst, body.get("custom_fields", []))
            parent = self._parent(lst, body.get("parent"))
            points = body.get("points")
            if points is not None and not _is_number(points):
                raise _bad("Points must be a number", "INPUT_012")
            description, markdown = self._description(body)
            now = self.now_ms()
            self._task_seq += 1
            team = self.teams[lst.team_id]
            task = Task(
                id=_task_id(self._task_seq),
                seq=self._task_seq,
                list_id=lst.id,
                team_id=lst.team_id,
                name=name,
                status=status.name,
                creator_id=user_id,
                date_created=now,
                date_updated=now,
                custom_id=self._next_custom_id(team),
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
            self.tasks[task.id] = task
            status_item = self._history(
                task,
                user_id,
                "status",
                before={"status": None, "color": "#000000", "type": "removed", "orderindex": -1},
                after=self._status_json(status),
                data={"status_type": status.type},
            )
            creation_item = self._history(task, user_id, "task_creation", None, None)
            self._emit("taskCreated", task, [status_item, creation_item])
            self._emit("taskStatusUpdated", task, [status_item])
            return task

    def update_task(self, task: Task, body: Mapping[str, Any], *, user_id: int) -> Task:
        """Apply an UpdateTaskrequest. Custom fields in the body are ignored, as in ClickUp."""
        with self.lock:
            lst = self.lists[task.list_id]
            changes: dict[str, Any] = {}
            if "name" in body:
                name = body["name"]
                if not isinstance(name, str) or not name.strip():
                    raise _bad("Task name invalid", "INPUT_005")
                changes["name"] = name
            if "status" in body and body["status"] is not None:
                changes["status"] = self._status(lst, body["status"])
            if "priority" in body:
                changes["priority"] = self._priority(body["priority"])
            if "due_date" in body:
                changes["due_date"] = self._ms(body["due_date"], "due_date")
            if "start_date" in body:
                changes["start_date"] = self._ms(body["start_date"], "start_date")
            add: list[int] = []
            rem: list[int] = []
            if "assignees" in body:
                add, rem = self._assignee_delta(lst.team_id, body["assignees"])
            if "archived" in body and not isinstance(body["archived"], bool):
                raise _bad("archived must be a boolean", "INPUT_013")
            if "description" in body or "markdown_content" in body:
                if "description" in body and not isinstance(body["description"], str):
                    raise _bad("Description must be a string", "INPUT_006")
                changes["content"] = self._description(body)
            self._apply_update(task, body, changes, add, rem, user_id)
            return task

    def _apply_update(
        self,
        task: Task,
        body: Mapping[str, Any],
        changes: dict[str, Any],
        add: list[int],
        rem: list[int],
        user_id: int,
    ) -> None:
        now = self.now_ms()
        events: list[tuple[str, JsonObj]] = []
        if "name" in changes and changes["name"] != task.name:
            events.append(
                ("taskUpdated", self._history(task, user_id, "name", task.name, changes["name"]))
            )
            task.name = changes["name"]
        if "content" in changes:
            description, markdown = changes["content"]
            if (description, markdown) != (task.description, task.markdown):
                item = self._history(task, user_id, "content", task.description, description)
                events.append(("taskUpdated", item))
                task.description, task.markdown = description, markdown
        if "status" in changes and changes["status"].name != task.status:
            old = self.lists[task.list_id].status(task.status)
            new: Status = changes["status"]
            item = self._history(
                task,
                user_id,
                "status",
                self._status_json(old) if old else None,
                self._status_json(new),
                data={"status_type": new.type},
            )
            events.append(("taskStatusUpdated", item))
            task.status = new.name
            if new.closed and task.date_closed is None:
                task.date_closed = task.date_done = now
            elif not new.closed:
                task.date_closed = task.date_done = None
        if "priority" in changes and changes["priority"] != task.priority:
            item = self._history(
                task,
                user_id,
                "priority",
                _priority_json(task.priority),
                _priority_json(changes["priority"]),
            )
            events.append(("taskPriorityUpdated", item))
            task.priority = changes["priority"]
        if "due_date" in changes and changes["due_date"] != task.due_date:
            item = self._history(
                task, user_id, "due_date", _ms_str(task.due_date), _ms_str(changes["due_date"])
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
                item = self._history(task, user_id, "assignee_add", None, self.users[uid].as_json())
                events.append(("taskAssigneeUpdated", item))
        for uid in rem:
            if uid in task.assignees:
                task.assignees.remove(uid)
                item = self._history(task, user_id, "assignee_rem", self.users[uid].as_json(), None)
                events.append(("taskAssigneeUpdated", item))
        if "archived" in body and body["archived"] != task.archived:
            item = self._history(task, user_id, "archived", task.archived, body["archived"])
            events.append(("taskUpdated", item))
            task.archived = body["archived"]
        task.date_updated = now
        for event, item in events:
            self._emit(event, task, [item])

    def delete_task(self, task: Task, *, user_id: int) -> None:
        with self.lock:
            self.tasks.pop(task.id, None)
            for cid in [c.id for c in self.comments.values() if c.task_id == task.id]:
                del self.comments[cid]
            self._emit("taskDeleted", task, [])

    def set_field(
        self, task: Task, field_id: str, body: Mapping[str, Any], *, user_id: int
    ) -> None:
        """Set Custom Field Value: validate per type, store, bump date_updated."""
        with self.lock:
            fdef = self._field_of(task, field_id)
            if "value" not in body or body["value"] is None:
                raise _bad("Value is required", "FIELD_001")
            stored = validate_value(fdef, body["value"])
            self._change_field(task, fdef, stored, user_id)

    def clear_field(self, task: Task, field_id: str, *, user_id: int) -> None:
        with self.lock:
            fdef = self._field_of(task, field_id)
            if fdef.type in READ_ONLY_TYPES:
                raise _bad(f"Cannot set the value of a {fdef.type} field", "FIELD_026")
            self._change_field(task, fdef, None, user_id)

    def _change_field(self, task: Task, fdef: FieldDef, stored: Any, user_id: int) -> None:
        before = self._read(task, fdef)
        if stored is None:
            task.values.pop(fdef.id, None)
        else:
            task.values[fdef.id] = stored
        after = self._read(task, fdef)
        task.date_updated = self.now_ms()
        if before != after:
            item = self._history(task, user_id, "custom_field", before, after)
            item["custom_field"] = fdef.as_json()
            self._emit("taskUpdated", task, [item])

    def query_tasks(self, lists: Sequence[TaskList], query: TaskQuery) -> tuple[list[Task], bool]:
        """One page of tasks from ``lists`` matching ``query``, and whether it is the last."""
        list_ids = {lst.id for lst in lists}
        with self.lock:
            found = [t for t in self.tasks.values() if t.list_id in list_ids]
            found = [t for t in found if self._task_matches(t, query)]
        found.sort(key=_sort_key(query.order_by), reverse=not query.reverse)
        start = query.page * PAGE_SIZE
        page = found[start : start + PAGE_SIZE]
        return page, start + PAGE_SIZE >= len(found)

    def _task_matches(self, task: Task, query: TaskQuery) -> bool:
        lst = self.lists[task.list_id]
        status = lst.status(task.status)
        if status is not None and status.closed and not query.include_closed:
            return False
        if task.archived != query.archived:
            return False
        if task.parent is not None and not query.subtasks:
            return False
        if query.statuses and task.status.lower() not in query.statuses:
            return False
        if query.assignees and not set(query.assignees) & set(task.assignees):
            return False
        if query.tags and not set(query.tags) & set(task.tags):
            return False
        if query.list_ids and task.list_id not in query.list_ids:
            return False
        if query.folder_ids and lst.folder_id not in query.folder_ids:
            return False
        if query.space_ids and lst.space_id not in query.space_ids:
            return False
        for name, bound in query.bounds:
            attr, _, direction = name.rpartition("_")
            actual = getattr(task, attr)
            if actual is None:
                return False
            if (direction == "gt" and not actual > bound) or (
                direction == "lt" and not actual < bound
            ):
                return False
        return all(self._field_matches(task, flt) for flt in query.custom_fields)

    def check_filters(self, lists: Sequence[TaskList], query: TaskQuery) -> None:
        """Reject filters on fields the lists do not have, before any task is read."""
        known = {fid for lst in lists for fid in lst.field_ids}
        for flt in query.custom_fields:
            if flt.field_id not in known:
                raise _bad("Custom field filter references an unknown field", "FILTER_006")

    def _field_matches(self, task: Task, flt: FieldFilter) -> bool:
        fdef = self.fields.get(flt.field_id)
        if fdef is None:
            return False
        stored = task.values.get(fdef.id)
        if fdef.formula is not None:
            stored = fdef.formula(self, task)
        op = flt.operator
        if op == "IS NULL":
            return stored is None
        if op == "IS NOT NULL":
            return stored is not None
        if stored is None:
            return False  # like SQL, an unset value takes part in no comparison
        if fdef.type == "drop_down":
            return _match_choice(fdef, [stored], op, flt.value)
        if fdef.type == "labels":
            return _match_choice(fdef, list(stored), op, flt.value)
        if fdef.type in NUMBER_TYPES or fdef.type in ("date", "formula"):
            return _match_number(_as_float(stored), op, flt.value)
        return _match_text(str(stored), op, flt.value)

    # -- comments --

    def add_comment(self, task: Task, body: Mapping[str, Any], *, user_id: int) -> Comment:
        with self.lock:
            text = body.get("comment_text")
            rich = body.get("comment")
            if text is None and isinstance(rich, list):
                # The rich-text form ClickUp documents as an alternative to comment_text.
                text = "".join(str(part.get("text", "")) for part in rich if isinstance(part, dict))
            if not isinstance(text, str):
                raise _bad("Comment text is required", "COMM_002")
            if not isinstance(body.get("notify_all"), bool):
                raise _bad("notify_all is required", "COMM_003")
            assignee = body.get("assignee")
            members = self.teams[task.team_id].member_ids
            if assignee is not None and (not _is_int(assignee) or assignee not in members):
                raise _bad("Assignee is not a member of the workspace", "COMM_004")
            self._comment_seq += 1
            comment = Comment(
                id=str(90_000_000_000 + self._comment_seq),
                seq=self._comment_seq,
                task_id=task.id,
                text=text,
                user_id=user_id,
                date=self.now_ms(),
                hist_id=_uuid("comment-history", self._comment_seq),
                assignee_id=assignee,
                assigned_by_id=user_id if assignee is not None else None,
            )
            self.comments[comment.id] = comment
            item = self._history(task, user_id, "comment", None, comment.id)
            item["comment"] = self.comment_json(comment)
            self._emit("taskCommentPosted", task, [item])
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
            if not isinstance(endpoint, str) or not _valid_url(endpoint):
                raise _bad("Webhook endpoint must be a valid URL", "HOOK_001")
            events = self._events(body.get("events"))
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
                        raise _bad(f"{key} must be an id", "HOOK_003")
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
            if not isinstance(endpoint, str) or not _valid_url(endpoint):
                raise _bad("Webhook endpoint must be a valid URL", "HOOK_001")
            events = hook.events
            if "events" in body:
                raw = body["events"]
                events = self._events([raw] if isinstance(raw, str) else raw)
            status = body.get("status", hook.status)
            if status not in ("active", "suspended"):
                raise _bad("status must be active or suspended", "HOOK_005")
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
        lst = self.lists[task.list_id]
        folder = self.folders[lst.folder_id]
        status = lst.status(task.status)
        creator = self.users[task.creator_id]
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
            "date_closed": _ms_str(task.date_closed),
            "date_done": _ms_str(task.date_done),
            "archived": task.archived,
            "creator": {
                "id": creator.id,
                "username": creator.username,
                "color": creator.color,
                "email": creator.email,
                "profilePicture": creator.profile_picture,
            },
            "assignees": [self.users[uid].as_json() for uid in task.assignees],
            "group_assignees": [],
            "watchers": [],
            "checklists": [],
            "tags": [
                {"name": tag, "tag_fg": "#ffffff", "tag_bg": "#7b68ee", "creator": task.creator_id}
                for tag in task.tags
            ],
            "parent": task.parent,
            "top_level_parent": task.parent,
            "priority": _priority_json(task.priority),
            "due_date": _ms_str(task.due_date),
            "start_date": _ms_str(task.start_date),
            "points": task.points,
            "time_estimate": None,
            "time_spent": 0,
            "custom_fields": [self._field_value_json(task, self.fields[f]) for f in lst.field_ids],
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

    def _field_value_json(self, task: Task, fdef: FieldDef) -> JsonObj:
        item = fdef.as_json()
        value = self._read(task, fdef)
        if value is not None:
            item["value"] = value
        return item

    def _read(self, task: Task, fdef: FieldDef) -> Any:
        if fdef.formula is not None:
            return fdef.formula(self, task)
        stored = task.values.get(fdef.id)
        return None if stored is None else read_value(fdef, stored)

    def list_json(self, lst: TaskList) -> JsonObj:
        folder = self.folders[lst.folder_id]
        space = self.spaces[lst.space_id]
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
            "inbound_address": f"a.t.{lst.id}.{_uuid('inbound', lst.id)[:6]}@tasks.clickup.com",
            "archived": False,
            "override_statuses": True,
            "statuses": [st.as_json() for st in lst.statuses],
            "permission_level": "create",
        }

    def fields_json(self, lst: TaskList) -> JsonObj:
        return {"fields": [self.fields[fid].as_json() for fid in lst.field_ids]}

    def teams_json(self, token: Token) -> JsonObj:
        teams = []
        for team_id in sorted(token.team_ids):
            team = self.teams.get(team_id)
            if team is None:
                continue
            members = [{"user": self.users[uid].as_json()} for uid in team.member_ids]
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

    def comment_json(self, comment: Comment) -> JsonObj:
        def person(uid: int | None) -> JsonObj | None:
            return None if uid is None else self.users[uid].as_json()

        return {
            "id": comment.id,
            "comment": [{"text": comment.text}],
            "comment_text": comment.text,
            "user": self.users[comment.user_id].as_json(),
            "resolved": comment.resolved,
            "assignee": person(comment.assignee_id),
            "assigned_by": person(comment.assigned_by_id),
            "reactions": [],
            "date": str(comment.date),
            "reply_count": "0",
        }

    def webhook_json(self, hook: Webhook) -> JsonObj:
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

    # -- validation helpers --

    def _status(self, lst: TaskList, name: Any) -> Status:
        status = lst.status(name) if isinstance(name, str) else None
        if status is None:
            raise _bad("Status does not exist", "ITEM_114")
        return status

    @staticmethod
    def _priority(value: Any) -> int | None:
        if value is None:
            return None
        if not _is_int(value) or value not in PRIORITIES:
            raise _bad("Priority invalid", "INPUT_011")
        return int(value)

    @staticmethod
    def _ms(value: Any, name: str) -> int | None:
        if value is None:
            return None
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if not _is_int(value) or value < 0:
            raise _bad(f"{name} must be a Unix time in milliseconds", "INPUT_008")
        return int(value)

    def _members(self, team_id: str, value: Any) -> list[int]:
        if not isinstance(value, list) or not all(_is_int(v) for v in value):
            raise _bad("Assignees must be a list of user ids", "INPUT_009")
        members = self.teams[team_id].member_ids
        for uid in value:
            if uid not in members:
                raise _bad(f"User {uid} is not a member of the workspace", "INPUT_010")
        return list(dict.fromkeys(value))

    def _assignee_delta(self, team_id: str, value: Any) -> tuple[list[int], list[int]]:
        if not isinstance(value, dict):
            raise _bad("Assignees must be an object with add and rem", "INPUT_009")
        add = self._members(team_id, value.get("add", []))
        rem = value.get("rem", [])
        if not isinstance(rem, list) or not all(_is_int(v) for v in rem):
            raise _bad("Assignees must be a list of user ids", "INPUT_009")
        return add, rem

    @staticmethod
    def _tags(value: Any) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _bad("Tags must be a list of strings", "INPUT_014")
        return list(dict.fromkeys(v.lower() for v in value))

    @staticmethod
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
            raise _bad("Description must be a string", "INPUT_006")
        return description, description

    def _parent(self, lst: TaskList, value: Any) -> str | None:
        if value is None:
            return None
        parent = self.tasks.get(value) if isinstance(value, str) else None
        if parent is None or parent.list_id != lst.id:
            raise _bad("Parent not child of list", "ITEM_137")
        return parent.id

    def _initial_values(self, lst: TaskList, value: Any) -> dict[str, Any]:
        if not isinstance(value, list):
            raise _bad("custom_fields must be a list", "FIELD_003")
        values: dict[str, Any] = {}
        for item in value:
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                raise _bad("Each custom field needs an id", "FIELD_004")
            if item["id"] not in lst.field_ids:
                raise _bad(
                    "Custom field does not exist in the task location hierarchy", "FIELD_115"
                )
            if item.get("value") is None:
                continue
            values[item["id"]] = validate_value(self.fields[item["id"]], item["value"])
        return values

    def _field_of(self, task: Task, field_id: str) -> FieldDef:
        if field_id not in self.lists[task.list_id].field_ids:
            raise _bad("Custom field does not exist in the task location hierarchy", "FIELD_115")
        return self.fields[field_id]

    @staticmethod
    def _events(value: Any) -> list[str]:
        if not isinstance(value, list) or not value or not all(isinstance(e, str) for e in value):
            raise _bad("events must be a non-empty list", "HOOK_002")
        for event in value:
            if event != "*" and event not in WEBHOOK_EVENTS:
                raise _bad(f"Unknown webhook event {event}", "HOOK_002")
        return list(dict.fromkeys(value))

    def _next_custom_id(self, team: Team) -> str | None:
        if team.custom_id_prefix is None:
            return None
        self._custom_seq[team.id] += 1
        return f"{team.custom_id_prefix}-{self._custom_seq[team.id]}"

    # -- webhook events --

    @staticmethod
    def _status_json(status: Status) -> JsonObj:
        return {
            "status": status.name,
            "color": status.color,
            "orderindex": status.orderindex,
            "type": status.type,
        }

    def _history(
        self,
        task: Task,
        user_id: int,
        field_name: str,
        before: Any,
        after: Any,
        *,
        data: JsonObj | None = None,
    ) -> JsonObj:
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

    def _emit(self, event: str, task: Task, items: list[JsonObj]) -> None:
        queued = False
        for hook in self.webhooks.values():
            if not self._wants(hook, event, task):
                continue
            payload = {
                "event": event,
                "history_items": items,
                "task_id": task.id,
                "webhook_id": hook.id,
            }
            body = json.dumps(payload, separators=(",", ":")).encode()
            self.outbox.append(
                WebhookDelivery(
                    hook.id, hook.endpoint, event, task.id, body, sign_body(hook.secret, body)
                )
            )
            queued = True
        if queued:
            for listener in list(self._outbox_listeners):
                listener()

    def _wants(self, hook: Webhook, event: str, task: Task) -> bool:
        if hook.status == "suspended" or hook.team_id != task.team_id:
            return False
        if "*" not in hook.events and event not in hook.events:
            return False
        lst = self.lists[task.list_id]
        return (
            (hook.task_id is None or hook.task_id == task.id)
            and (hook.list_id is None or hook.list_id == lst.id)
            and (hook.folder_id is None or hook.folder_id == lst.folder_id)
            and (hook.space_id is None or hook.space_id == lst.space_id)
        )


_SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"  # noqa: S105 - not a secret
_PALETTE = ("#1bbc9c", "#2ecd6f", "#f9d900", "#ff7800", "#e50000", "#7b68ee", "#81b1ff")
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def _task_id(seq: int) -> str:
    """Short lowercase base-36 ids like ClickUp's ("86b1a2c3d")."""
    digits = ""
    n = seq
    while n:
        n, rem = divmod(n, 36)
        digits = _BASE36[rem] + digits
    return "86" + digits.rjust(7, "0")


def _ms_str(value: int | None) -> str | None:
    return None if value is None else str(value)


def _priority_json(priority: int | None) -> JsonObj | None:
    if priority is None:
        return None
    name, color = PRIORITIES[priority]
    return {"id": str(priority), "priority": name, "color": color, "orderindex": str(priority)}


def _sort_key(order_by: str) -> Callable[[Task], tuple[Any, ...]]:
    if order_by == "id":
        return lambda t: (t.id,)
    if order_by == "updated":
        return lambda t: (t.date_updated, t.seq)
    if order_by == "due_date":
        # Tasks without a due date sort as if due at the end of time.
        return lambda t: (t.due_date is None, t.due_date or 0, t.seq)
    return lambda t: (t.date_created, t.seq)


def _match_number(actual: float, op: str, raw: Any) -> bool:
    if op == "RANGE":
        if isinstance(raw, list) and len(raw) == 2:
            low, high = raw
        elif isinstance(raw, dict) and {"low_value", "high_value"} <= raw.keys():
            low, high = raw["low_value"], raw["high_value"]
        else:
            raise _bad("RANGE needs [low, high] or {low_value, high_value}", "FILTER_007")
        return _as_float(low) <= actual <= _as_float(high)
    if op in ("ANY", "NOT ANY"):
        hit = any(actual == _as_float(v) for v in _listify(raw))
        return hit if op == "ANY" else not hit
    if op in ("ALL", "NOT ALL"):
        raise _bad(f"Operator {op} does not apply to numbers", "FILTER_008")
    return _compare(actual, op, _as_float(raw))


def _match_text(actual: str, op: str, raw: Any) -> bool:
    if op in ("ANY", "NOT ANY"):
        hit = any(actual == str(v) for v in _listify(raw))
        return hit if op == "ANY" else not hit
    if op in ("RANGE", "ALL", "NOT ALL"):
        raise _bad(f"Operator {op} does not apply to text", "FILTER_008")
    wanted = str(raw)
    if op == "=":
        return wanted.lower() in actual.lower()
    if op == "!=":
        return wanted.lower() not in actual.lower()
    return _compare(actual, op, wanted)


def _match_choice(fdef: FieldDef, chosen: list[str], op: str, raw: Any) -> bool:
    wanted = []
    for ref in _listify(raw):
        if isinstance(ref, str) and ref.isdigit():
            ref = int(ref)
        opt = fdef.option(ref)
        if opt is None:
            raise _bad("Value must be an option index or uuid", "FIELD_011")
        wanted.append(opt.id)
    if op in ("=", "==", "ANY"):
        return any(w in chosen for w in wanted)
    if op in ("!=", "!==", "NOT ANY"):
        return not any(w in chosen for w in wanted)
    if op == "ALL":
        return all(w in chosen for w in wanted)
    if op == "NOT ALL":
        return not all(w in chosen for w in wanted)
    raise _bad(f"Operator {op} does not apply to {fdef.type} fields", "FILTER_008")


def _compare(actual: Any, op: str, wanted: Any) -> bool:
    if op in ("=", "=="):
        return bool(actual == wanted)
    if op in ("!=", "!=="):
        return bool(actual != wanted)
    if op == "<":
        return bool(actual < wanted)
    if op == "<=":
        return bool(actual <= wanted)
    if op == ">":
        return bool(actual > wanted)
    if op == ">=":
        return bool(actual >= wanted)
    raise _bad(f"Operator {op} is not supported here", "FILTER_008")


def _listify(raw: Any) -> list[Any]:
    return list(raw) if isinstance(raw, list) else [raw]


# --- the demo fixture -----------------------------------------------------------------------

DEMO_TEAM_ID = "9000"
DEMO_LIST_ID = "900100"
DEMO_TOKEN = "pk_demo_token"  # noqa: S105 - the fixture's well-known token
BOT_USER_ID = 81000

RECEIVABLE_STATUSES: tuple[tuple[str, str, str], ...] = (
    ("draft", "open", "#d3d3d3"),
    ("open", "custom", "#4194f6"),
    ("overdue", "custom", "#e50000"),
    ("partially paid", "custom", "#f9d900"),
    ("promise to pay", "custom", "#81b1ff"),
    ("disputed", "custom", "#ff7800"),
    ("escalated", "custom", "#b660e0"),
    ("paid", "closed", "#6bc950"),
    ("void", "closed", "#667684"),
    ("uncollectible", "closed", "#3e3e3e"),
)

_DAY_MS = 86_400_000


def _days_overdue(state: EmulatorState, task: Task) -> Any:
    """The "Days overdue" formula: whole days past the "Due date" field, never negative."""
    due = task.values.get(state.field_by_name(task.list_id, "Due date").id)
    if due is None:
        return None
    return str(max(0, (state.now_ms() - int(due)) // _DAY_MS))


RECEIVABLE_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("arbridge key", "short_text"),
    FieldSpec("Invoice number", "short_text"),
    FieldSpec("Customer", "short_text"),
    FieldSpec("Source", "drop_down", ("quickbooks", "stripe")),
    FieldSpec(
        "Invoice status",
        "drop_down",
        ("draft", "open", "partially_paid", "paid", "void", "uncollectible", "disputed"),
    ),
    FieldSpec("Currency", "short_text"),
    FieldSpec("Invoice total", "number"),
    FieldSpec("Amount due", "number"),
    FieldSpec("Issue date", "date"),
    FieldSpec("Due date", "date"),
    FieldSpec("Aging", "drop_down", ("current", "1-30", "31-60", "61-90", "90+")),
    FieldSpec("Invoice link", "url"),
    FieldSpec("Risk score", "number"),
    FieldSpec("Predicted pay date", "date"),
    FieldSpec("Reminders sent", "number"),
    FieldSpec("Promise to pay", "date"),
    FieldSpec("Queue rank", "number"),
    FieldSpec("Invoice checks", "text"),
    FieldSpec(
        "Days overdue",
        "formula",
        type_config={"formula": "MAX(0, DAYS(TODAY(), {Due date}))"},
        formula=_days_overdue,
    ),
)

DEMO_USERS = (
    User(BOT_USER_ID, "arbridge-bot", "bot@example.com", "#7b68ee"),
    User(81001, "Ada Collector", "ada@example.com", "#0ab4ff"),
    User(81002, "Sam Senior", "sam@example.com", "#ff7800"),
    User(81003, "Mia Manager", "mia@example.com", "#2ecd6f"),
)
# Extra personal tokens let tests and the demo act as people, so their changes carry their name.
PEOPLE_TOKENS = {"pk_ada_token": 81001, "pk_sam_token": 81002, "pk_mia_token": 81003}


def default_workspace(*, clock: Callable[[], float] = time.time, seed: int = 0) -> EmulatorState:
    """The fixture used by the demo and the tests: team 9000 with the "Receivables" list."""
    state = EmulatorState(clock=clock, seed=seed)
    for user in DEMO_USERS:
        state.add_user(
            User(
                user.id,
                user.username,
                user.email,
                user.color,
                f"https://attachments.example.com/profilePictures/{user.id}.png",
            )
        )
    state.add_team(DEMO_TEAM_ID, "Arbridge Demo", [u.id for u in DEMO_USERS], custom_id_prefix="AR")
    state.add_space("9001", DEMO_TEAM_ID, "Finance")
    state.add_folder("9002", "9001", "Accounts Receivable")
    state.add_list(
        DEMO_LIST_ID,
        "9002",
        "Receivables",
        statuses=RECEIVABLE_STATUSES,
        fields=RECEIVABLE_FIELDS,
    )
    state.add_token(DEMO_TOKEN, BOT_USER_ID, [DEMO_TEAM_ID])
    for token, user_id in PEOPLE_TOKENS.items():
        state.add_token(token, user_id, [DEMO_TEAM_ID])
    return state
