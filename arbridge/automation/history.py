"""Past firings, as the engine asks for them; the daemon stores them, tests keep them in memory.

What to record for each ``Firing`` of an evaluation: one row under ``(rule_id, invoice_key)``
and, when ``group_key`` is set, one row per group under ``(rule_id, group_key)``; each row with
the rule version, occurrence key and time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """Summary of a rule's firings under one key (an invoice key or a group key)."""

    count: int
    last_fired_at: datetime
    version: str


class History(Protocol):
    def get(self, rule_id: str, key: str, version: str | None = None) -> HistoryEntry | None:
        """Firings of ``rule_id`` under ``key``; with ``version``, only firings of that version
        count (asked for ``refire`` rules, so an edited rule starts afresh). None if none."""
        ...


@dataclass(frozen=True, slots=True)
class Record:
    rule_id: str
    key: str
    version: str
    occurrence_key: str
    fired_at: datetime


class FiringLike(Protocol):
    @property
    def rule_id(self) -> str: ...
    @property
    def rule_version(self) -> str: ...
    @property
    def invoice_key(self) -> str: ...
    @property
    def occurrence_key(self) -> str: ...
    @property
    def group_key(self) -> str | None: ...
    @property
    def group_occurrence_key(self) -> str | None: ...
    @property
    def fired_at(self) -> datetime: ...


class MemoryHistory:
    """An in-memory ``History`` (simulations, rule tests); also shows what to store."""

    def __init__(self, records: Iterable[Record] = ()) -> None:
        self._rows: dict[tuple[str, str], list[Record]] = defaultdict(list)
        self._occurrences: set[str] = set()
        self._subjects: dict[str, set[str]] = defaultdict(set)
        for record in records:
            self.add(record)

    def add(self, record: Record) -> None:
        # Occurrence keys are unique: applying the same firing twice records it once.
        marker = f"{record.key}|{record.occurrence_key}"
        if marker in self._occurrences:
            return
        self._occurrences.add(marker)
        self._rows[(record.rule_id, record.key)].append(record)
        self._subjects[record.rule_id].add(record.key)

    def record(self, firings: Iterable[FiringLike]) -> None:
        for firing in firings:
            self.add(
                Record(
                    firing.rule_id,
                    firing.invoice_key,
                    firing.rule_version,
                    firing.occurrence_key,
                    firing.fired_at,
                )
            )
            if firing.group_key is not None and firing.group_occurrence_key is not None:
                self.add(
                    Record(
                        firing.rule_id,
                        firing.group_key,
                        firing.rule_version,
                        firing.group_occurrence_key,
                        firing.fired_at,
                    )
                )

    def get(self, rule_id: str, key: str, version: str | None = None) -> HistoryEntry | None:
        rows = self._rows.get((rule_id, key))
        if rows and version is not None:
            rows = [r for r in rows if r.version == version]
        if not rows:
            return None
        last = max(rows, key=lambda r: r.fired_at)
        return HistoryEntry(count=len(rows), last_fired_at=last.fired_at, version=last.version)

    def subjects(self, rule_id: str) -> frozenset[str] | set[str]:
        """Every key ``rule_id`` has fired under (do not change it): a tick asks ``get`` only
        for those."""
        return self._subjects.get(rule_id) or frozenset()

    def records(self) -> list[Record]:
        return sorted((r for rows in self._rows.values() for r in rows), key=lambda r: r.fired_at)
