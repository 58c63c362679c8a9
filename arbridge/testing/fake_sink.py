"""An in-memory TaskSink for tests and benchmarks of the engine without HTTP."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace

from arbridge.connector import RemoteTask, TaskChanges
from arbridge.model.task import TaskSpec


class FakeSink:
    """Behaves like a task tool that accepts everything, counting one request per call."""

    def __init__(self, owned: frozenset[str]) -> None:
        self.owned = owned
        self.tasks: dict[str, RemoteTask] = {}
        self.descriptions: dict[str, str] = {}
        self.comments: dict[str, list[str]] = {}
        self.requests: Counter[str] = Counter()
        self._ids = itertools.count(1)
        # Called before each request with its name; may raise to inject a failure.
        self.before_request: Callable[[str], None] | None = None

    def _request(self, name: str) -> None:
        if self.before_request is not None:
            self.before_request(name)
        self.requests[name] += 1

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    def owned_facts(self) -> frozenset[str]:
        return self.owned

    def create_task(self, spec: TaskSpec) -> str:
        self._request("create_task")
        task_id = f"t{next(self._ids)}"
        self.tasks[task_id] = RemoteTask(
            task_id=task_id,
            key=spec.fields.get("arbridge_key"),
            name=spec.name,
            status=spec.status,
            due_date=None if spec.due_date is None else spec.due_date.isoformat(),
            fields={k: v for k, v in spec.fields.items() if k in self.owned},
        )
        self.descriptions[task_id] = spec.description
        return task_id

    def find_task(self, key: str) -> str | None:
        self._request("find_task")
        for task in self.tasks.values():
            if task.key == key:
                return task.task_id
        return None

    def update_task(self, task_id: str, changes: TaskChanges) -> None:
        self._request("update_task")
        task = self.tasks[task_id]
        due = task.due_date
        if changes.due_date is not None:
            due = changes.due_date
        if changes.clear_due_date:
            due = None
        self.tasks[task_id] = replace(
            task,
            name=changes.name if changes.name is not None else task.name,
            status=changes.status if changes.status is not None else task.status,
            due_date=due,
        )
        if changes.description is not None:
            self.descriptions[task_id] = changes.description

    def set_field(self, task_id: str, fact: str, value: str | None) -> None:
        self._request("set_field")
        task = self.tasks[task_id]
        fields = {**task.fields, fact: value}
        key = value if fact == "arbridge_key" else task.key
        self.tasks[task_id] = replace(task, fields=fields, key=key)

    def post_comment(self, task_id: str, text: str) -> str:
        self._request("post_comment")
        self.comments.setdefault(task_id, []).append(text)
        return f"c{next(self._ids)}"

    def find_comment(self, task_id: str, marker: str) -> str | None:
        self._request("find_comment")
        for index, text in enumerate(self.comments.get(task_id, [])):
            if marker in text:
                return f"{task_id}-c{index}"
        return None

    def iter_tasks(self) -> Iterator[RemoteTask]:
        self._request("iter_tasks")
        yield from list(self.tasks.values())

    def close(self) -> None:
        return None
