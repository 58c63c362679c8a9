"""Load-time problems, each pinned to ``file:line:col``, and "did you mean" suggestions."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a rule file. ``rule_id`` is None when the whole file is at fault."""

    path: str
    line: int
    col: int
    message: str
    rule_id: str | None = None

    def __str__(self) -> str:
        prefix = f"rule {self.rule_id}: " if self.rule_id else ""
        return f"{self.path}:{self.line}:{self.col}: {prefix}{self.message}"


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest candidate, or an empty string."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def format_path(parts: Iterable[str | int]) -> str:
    """``("conditions", "all", 0, "gte")`` as ``conditions.all[0].gte``."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text
