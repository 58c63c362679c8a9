"""Noticing that rule files changed: a cheap check for the daemon loop, and a watcher thread.

The check compares each configured file's size and modification time; only when those move is
the content hashed, so saving a file unchanged (or touching it) does not reload anything.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import structlog
import watchfiles

log = structlog.get_logger(__name__)

Stat = tuple[int, int] | None  # (mtime_ns, size), None when the file is missing


def _stat(path: Path) -> Stat:
    try:
        info = path.stat()
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size)


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


@dataclass
class PackFiles:
    """The rule files a runner loaded, as they were when it loaded them."""

    paths: tuple[Path, ...]
    stats: dict[Path, Stat] = field(default_factory=dict)
    digests: dict[Path, str | None] = field(default_factory=dict)

    @classmethod
    def snapshot(cls, paths: Sequence[Path]) -> PackFiles:
        files = cls(tuple(paths))
        for path in files.paths:
            files.stats[path] = _stat(path)
            files.digests[path] = _digest(path)
        return files

    def changed(self) -> bool:
        """Whether any file's content differs from the snapshot (a missing file counts)."""
        moved = [p for p in self.paths if _stat(p) != self.stats.get(p)]
        if not moved:
            return False
        for path in moved:
            self.stats[path] = _stat(path)
        return any(_digest(p) != self.digests.get(p) for p in moved)


def watch(
    directory: Path,
    on_change: Callable[[], object],
    stop: threading.Event,
    *,
    debounce_ms: int = 500,
) -> None:
    """Call ``on_change`` after files under ``directory`` change, until ``stop`` is set.
    Blocking: run it in a thread. ``on_change`` decides whether anything relevant changed
    (see ``RulesRunner.reload_if_changed``); an error in it is logged, not raised."""
    for _ in watchfiles.watch(
        directory, stop_event=stop, debounce=debounce_ms, raise_interrupt=False
    ):
        try:
            on_change()
        except Exception:
            log.exception("rule reload failed")


def start_watcher(
    directory: Path, on_change: Callable[[], object], stop: threading.Event
) -> threading.Thread:
    """``watch`` in a daemon thread, started."""
    thread = threading.Thread(
        target=watch, args=(directory, on_change, stop), name="rules-watcher", daemon=True
    )
    thread.start()
    return thread
