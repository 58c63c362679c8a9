"""An in-memory TaskSink for tests and benchmarks of the engine without HTTP."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace

from arbridge.errors import NotFoundError
from arbridge.model.task import TaskSpec
from arbridge.ports.connector import RemoteTask, RuleFieldValue, SubtaskSpec, TaskChanges


class FakeSink:
    """Behaves like a task tool that accepts everything, counting one request per call."""

    def __init__(self, owned: frozenset[str]) -> None:
        self.owned = owned
        self.tasks: dict[str, RemoteTask] = {}
        self.descriptions: dict[str, str] = {}
        self.comments: dict[str, list[str]] = {}
        self.tags: dict[str, list[str]] = {}
        self.rule_fields: dict[str, dict[str, RuleFieldValue]] = {}
        # Per parent task: (subtask id, spec) in creation order.
        self.subtasks: dict[str, list[tuple[str, SubtaskSpec]]] = {}
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

    def add_tag(self, task_id: str, tag: str) -> None:
        self._request("add_tag")
        self._task(task_id)
        tags = self.tags.setdefault(task_id, [])
        if tag.lower() not in tags:
            tags.append(tag.lower())

    def set_rule_field(self, task_id: str, name: str, value: RuleFieldValue) -> None:
        self._request("set_rule_field")
        self._task(task_id)
        fields = self.rule_fields.setdefault(task_id, {})
        if value is None:
            fields.pop(name, None)
        else:
            fields[name] = value

    def create_subtask(self, task_id: str, subtask: SubtaskSpec) -> str:
        self._request("create_subtask")
        self._task(task_id)
        subtask_id = f"s{next(self._ids)}"
        self.subtasks.setdefault(task_id, []).append((subtask_id, subtask))
        return subtask_id

    def find_subtask(self, task_id: str, marker: str) -> str | None:
        self._request("find_subtask")
        for subtask_id, spec in self.subtasks.get(task_id, []):
            if spec.marker == marker:
                return subtask_id
        return None

    def _task(self, task_id: str) -> RemoteTask:
        task = self.tasks.get(task_id)
        if task is None:
            raise NotFoundError(f"no task {task_id}")
        return task

    def iter_tasks(self) -> Iterator[RemoteTask]:
        self._request("iter_tasks")
        yield from list(self.tasks.values())

    def close(self) -> None:
        return None
