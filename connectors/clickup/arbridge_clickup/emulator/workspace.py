"""What the task, query and render functions see of the emulated workspace.

``EmulatorState`` owns the objects and delegates task writes, queries and JSON shapes to
``tasks.py``, ``query.py`` and ``render.py``. Those functions take a :class:`Workspace` (the
protocol ``EmulatorState`` satisfies) instead of the class itself, so the state module can
import them without them importing it back. Field definitions live here because a formula
field computes its value from the workspace.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from arbridge_clickup.emulator.model import (
    Comment,
    Folder,
    JsonObj,
    Space,
    Task,
    TaskList,
    Team,
    User,
)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


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
    formula: Callable[[Workspace, Task], Any] | None = None


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
    formula: Callable[[Workspace, Task], Any] | None = None

    def option(self, ref: Any) -> FieldOption | None:
        """An option by UUID or by orderindex, the two forms ClickUp accepts for a drop-down."""
        for opt in self.options:
            if (isinstance(ref, str) and opt.id == ref) or (is_int(ref) and opt.orderindex == ref):
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


class Workspace(Protocol):
    """The objects and the few services a task function needs from ``EmulatorState``."""

    lock: threading.RLock
    users: dict[int, User]
    teams: dict[str, Team]
    spaces: dict[str, Space]
    folders: dict[str, Folder]
    lists: dict[str, TaskList]
    fields: dict[str, FieldDef]
    tasks: dict[str, Task]
    comments: dict[str, Comment]

    def now_ms(self) -> int: ...

    def field_by_name(self, list_id: str, name: str) -> FieldDef: ...

    def next_task_ids(self, team_id: str) -> tuple[int, str | None]: ...

    def history_item(
        self,
        task: Task,
        user_id: int,
        field_name: str,
        before: Any,
        after: Any,
        *,
        data: JsonObj | None = None,
    ) -> JsonObj: ...

    def emit(self, event: str, task: Task, items: list[JsonObj]) -> None: ...
