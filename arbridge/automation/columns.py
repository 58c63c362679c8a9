"""Facts of a whole book by column, to test a rule's conditions against every invoice at once.

A tick asks each rule's conditions of every open invoice: 5 million questions for 100,000
invoices and 50 rules. Most facts take few distinct values (a status, a days-overdue count, a
segment), so each fact test is answered once per distinct value, with the rule's compiled
predicate, and spread to the invoices by array indexing. The answers are the predicate's, so
they agree with the traced ``conditions.evaluate`` on every input.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from operator import itemgetter
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from arbridge.automation.conditions import Compiled, FactTest, Group, predicate
from arbridge.automation.facts import FactSet, FactValue

Mask = npt.NDArray[np.bool_]


class Columns:
    """Column views of ``facts`` (in the given order), built per fact on first use."""

    def __init__(self, facts: Sequence[FactSet]) -> None:
        self.facts = facts
        self.size = len(facts)
        self._columns: dict[str, tuple[npt.NDArray[np.intp], list[FactValue]]] = {}

    def prepare(self, names: Iterable[str]) -> None:
        """Build the columns of ``names`` in one pass over the facts: a pass per fact costs a
        walk over every invoice's facts each time."""
        wanted = sorted(set(names) - set(self._columns))
        if not wanted:
            return
        try:
            rows = list(map(itemgetter(*wanted, *wanted[:1]), (f.values for f in self.facts)))
        except KeyError:  # facts built without ``FactSet.create``: leave it to ``column``
            return
        for name, values in zip(wanted, zip(*rows, strict=False), strict=False):
            self._code(name, list(values))

    def column(self, name: str) -> tuple[npt.NDArray[np.intp], list[FactValue]]:
        """Per invoice, the index of its value in the list of the fact's distinct values."""
        found = self._columns.get(name)
        if found is None:
            found = self._code(name, [f.values.get(name) for f in self.facts])
        return found

    def _code(
        self, name: str, values: list[FactValue]
    ) -> tuple[npt.NDArray[np.intp], list[FactValue]]:
        distinct = list(dict.fromkeys(values))
        index = {value: n for n, value in enumerate(distinct)}
        codes = np.fromiter(map(index.__getitem__, values), dtype=np.intp, count=len(values))
        found = self._columns[name] = (codes, distinct)
        return found

    def mask(self, condition: Compiled | None, today: date, tz: ZoneInfo) -> Mask:
        """Per invoice, whether ``condition`` holds."""
        if condition is None:
            return np.ones(self.size, dtype=np.bool_)
        if isinstance(condition, FactTest):
            return self._test(condition, today, tz)
        assert isinstance(condition, Group)
        parts = [self.mask(child, today, tz) for child in condition.children]
        if condition.kind == "not":
            return ~parts[0]
        if condition.kind == "all":
            result = np.ones(self.size, dtype=np.bool_)
            for part in parts:
                result &= part
        else:
            result = np.zeros(self.size, dtype=np.bool_)
            for part in parts:
                result |= part
        return result

    def _test(self, test: FactTest, today: date, tz: ZoneInfo) -> Mask:
        name = test.spec.name
        codes, distinct = self.column(name)
        holds = predicate(test, today, tz)
        table = np.fromiter(
            (holds({name: value}) for value in distinct), dtype=np.bool_, count=len(distinct)
        )
        result: Mask = table[codes]
        return result


def fact_names(condition: Compiled | None) -> Iterator[str]:
    """The facts ``condition`` reads."""
    if isinstance(condition, FactTest):
        yield condition.spec.name
    elif isinstance(condition, Group):
        for child in condition.children:
            yield from fact_names(child)
