"""The rule engine: YAML collection playbooks -> typed, traced, idempotent intents.

Pure: no I/O beyond reading rule files, no clock. The daemon supplies facts, history and "now",
applies the intents and records the firings.
"""

from arbridge.automation.build import CollectionState, CustomerStats, InsightValues, build_facts
from arbridge.automation.engine import Deferred, Evaluation, Firing, evaluate
from arbridge.automation.facts import FACTS, FactSet, FactSpec, FactType
from arbridge.automation.history import History, HistoryEntry, MemoryHistory
from arbridge.automation.loader import (
    CompiledRule,
    LoadResult,
    RuleSet,
    load_rules,
    load_text,
    pack_paths,
)
from arbridge.automation.policy import Event, ScheduleTick, Trigger
from arbridge.automation.problems import Problem
from arbridge.automation.trace import Outcome, Trace

__all__ = [
    "FACTS",
    "CollectionState",
    "CompiledRule",
    "CustomerStats",
    "Deferred",
    "Evaluation",
    "Event",
    "FactSet",
    "FactSpec",
    "FactType",
    "Firing",
    "History",
    "HistoryEntry",
    "InsightValues",
    "LoadResult",
    "MemoryHistory",
    "Outcome",
    "Problem",
    "RuleSet",
    "ScheduleTick",
    "Trace",
    "Trigger",
    "build_facts",
    "evaluate",
    "load_rules",
    "load_text",
    "pack_paths",
]
