"""The objects of an emulated ClickUp workspace: people, hierarchy, tasks, comments, webhooks.

Custom field definitions live in ``workspace.py``; the rules that change these objects live in
``state.py`` and ``tasks.py``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

JsonObj = dict[str, Any]

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

_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def stable_id(*parts: object) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, "/".join(str(p) for p in parts)))


def task_id_for(seq: int) -> str:
    """Short lowercase base-36 ids like ClickUp's ("86b1a2c3d")."""
    digits = ""
    n = seq
    while n:
        n, rem = divmod(n, 36)
        digits = _BASE36[rem] + digits
    return "86" + digits.rjust(7, "0")


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
