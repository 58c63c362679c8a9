"""The polling cursor: the newest event second seen and the ids already handled in it.

``/v1/events`` filters by whole seconds and several events share one (``invoice.paid``,
``invoice.payment_succeeded`` and ``invoice.updated`` usually do), so the cursor keeps the ids
of that second and the next poll asks again from it (``created[gte]``), skipping those ids.
Reading an event twice is harmless anyway: the source re-reads the object it names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class EventCursor:
    created: int  # Unix seconds
    seen: frozenset[str] = frozenset()

    @property
    def at(self) -> datetime:
        return datetime.fromtimestamp(self.created, tz=UTC)

    def encode(self) -> str:
        return json.dumps(
            {"v": 1, "t": self.created, "ids": sorted(self.seen)}, separators=(",", ":")
        )

    @classmethod
    def decode(cls, text: str) -> EventCursor | None:
        """``None`` for a cursor this version cannot read (the caller sweeps instead)."""
        try:
            raw = json.loads(text)
            if not isinstance(raw, dict) or raw.get("v") != 1:
                return None
            created, ids = raw["t"], raw.get("ids", [])
            if not isinstance(created, int) or not all(isinstance(i, str) for i in ids):
                return None
            return cls(created, frozenset(ids))
        except (ValueError, KeyError, TypeError):
            return None

    def advance(self, events: list[tuple[str, int]]) -> EventCursor:
        """The cursor after handling ``events`` (id, created)."""
        if not events:
            return self
        newest = max(created for _, created in events)
        if newest < self.created:
            return self
        ids = {eid for eid, created in events if created == newest}
        if newest == self.created:
            ids |= self.seen
        return EventCursor(newest, frozenset(ids))
