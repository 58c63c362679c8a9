"""An in-memory CredentialStore for tests, able to fail on purpose around a save."""

from __future__ import annotations

import copy
from typing import Any


class CrashInjected(Exception):
    """Raised by :class:`MemoryCredentialStore` where a test asked the process to "die"."""


class MemoryCredentialStore:
    """Keeps values in a dict. ``crash_before_save`` / ``crash_after_save`` make the next save
    raise ``CrashInjected`` before or after the value is kept, as a process killed at that
    point would."""

    def __init__(self) -> None:
        self.values: dict[str, dict[str, Any]] = {}
        self.saves = 0
        self.crash_before_save = False
        self.crash_after_save = False

    def load(self, name: str) -> dict[str, Any] | None:
        value = self.values.get(name)
        return copy.deepcopy(value) if value is not None else None

    def save(self, name: str, value: dict[str, Any]) -> None:
        if self.crash_before_save:
            self.crash_before_save = False
            raise CrashInjected(f"crash before saving {name}")
        self.values[name] = copy.deepcopy(value)
        self.saves += 1
        if self.crash_after_save:
            self.crash_after_save = False
            raise CrashInjected(f"crash after saving {name}")
