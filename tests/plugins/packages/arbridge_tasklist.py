"""A task sink connector in one file: tasks kept in memory, for the plug-in test.

Found through its entry point alone; the sinks it built are kept in ``BUILT`` so the test can
look at the tasks.
"""

from __future__ import annotations

from typing import Any

from arbridge.api import FACTS, ConnectorSettings, Settings
from arbridge.testing.fake_sink import FakeSink

BUILT: list[FakeSink] = []


class TaskListSettings(ConnectorSettings):
    """``tasklist:`` in the config; nothing to set but its name."""

    board: str = "receivables"


class TaskListConnector:
    name = "tasklist"
    settings_section = TaskListSettings

    def build_sink(self, settings: Settings, *, secrets: list[str]) -> FakeSink:
        sink = FakeSink(frozenset(FACTS))
        BUILT.append(sink)
        return sink

    def emulator(self, *, rate_limit: int | None, seed: int = 0) -> Any:
        raise NotImplementedError("the list lives in memory")


connector = TaskListConnector()
