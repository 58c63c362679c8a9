"""The subset of Intuit's query language the emulator understands.

``SELECT * | COUNT(*) FROM Entity [WHERE a op v [AND ...]] [ORDERBY f [ASC|DESC]]
[STARTPOSITION n] [MAXRESULTS n]`` with ``= < > <= >= IN LIKE`` (``%`` only), no OR; names and
keywords are case-insensitive; MAXRESULTS defaults to 100 and may not exceed 1000.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from arbridge_quickbooks.emulator.errors import QboFault

DEFAULT_MAX_RESULTS = 100
MAX_RESULTS_CAP = 1000

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:\\.|[^'\\])*')|(?P<op><=|>=|!=|=|<|>|\(|\)|,|\*)"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_.]*(?:\(\*\))?)|(?P<num>-?\d+(?:\.\d+)?))"
)


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    values: tuple[str, ...]


@dataclass
class Query:
    entity: str
    count: bool = False
    where: list[Condition] = field(default_factory=list)
    order_by: str | None = None
    descending: bool = False
    start: int = 1
    max_results: int = DEFAULT_MAX_RESULTS


def _bad(detail: str) -> QboFault:
    return QboFault(400, "4000", "Error parsing query", f"QueryParserError: {detail}")


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise _bad(f"unexpected text at {text[position : position + 20]!r}")
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "str":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        tokens.append((kind, value))
        position = match.end()
    return tokens


def parse(text: str) -> Query:
    tokens = tokenize(text)
    pos = 0

    def peek() -> tuple[str, str] | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> tuple[str, str]:
        nonlocal pos
        if pos >= len(tokens):
            raise _bad("the query ends too early")
        pos += 1
        return tokens[pos - 1]

    def keyword(word: str) -> bool:
        token = peek()
        if token is not None and token[0] == "word" and token[1].lower() == word:
            take()
            return True
        return False

    if not keyword("select"):
        raise _bad("expected SELECT")
    what = take()
    count = what[0] == "word" and what[1].lower() == "count(*)"
    if not count and what != ("op", "*"):
        raise _bad("only SELECT * and SELECT COUNT(*) are supported")
    if not keyword("from"):
        raise _bad("expected FROM")
    query = Query(entity=take()[1], count=count)
    if keyword("where"):
        while True:
            name = take()[1]
            op_token = take()
            op = op_token[1].lower()
            if op == "in":
                if take() != ("op", "("):
                    raise _bad("IN needs a list in parentheses")
                values = []
                while True:
                    values.append(take()[1])
                    sep = take()
                    if sep == ("op", ")"):
                        break
                    if sep != ("op", ","):
                        raise _bad("IN values are separated by commas")
                query.where.append(Condition(name, "in", tuple(values)))
            elif op in ("=", "<", ">", "<=", ">=", "like"):
                query.where.append(Condition(name, op, (take()[1],)))
            else:
                raise _bad(f"unsupported operator {op_token[1]!r}")
            if keyword("or"):
                raise _bad("OR is not supported")
            if not keyword("and"):
                break
    if keyword("orderby"):
        query.order_by = take()[1]
        if keyword("desc"):
            query.descending = True
        else:
            keyword("asc")
    if keyword("startposition"):
        query.start = max(1, int(take()[1]))
    if keyword("maxresults"):
        query.max_results = int(take()[1])
        if query.max_results > MAX_RESULTS_CAP:
            raise _bad(f"MAXRESULTS may not exceed {MAX_RESULTS_CAP}")
    if peek() is not None:
        raise _bad(f"unexpected {peek()[1]!r}")  # type: ignore[index]
    return query


def lookup(obj: dict[str, Any], path: str) -> Any:
    """``MetaData.LastUpdatedTime`` and friends; a reference compares by its ``value``."""
    current: Any = obj
    for part in path.split("."):
        if not isinstance(current, dict):
            return None
        match = next((k for k in current if k.lower() == part.lower()), None)
        current = current.get(match) if match is not None else None
    if isinstance(current, dict) and "value" in current:
        return current["value"]
    return current


def _typed(value: Any, literal: str) -> tuple[Any, Any]:
    """Both sides made comparable: times, numbers, else case-insensitive text."""
    if isinstance(value, bool):
        return str(value).lower(), literal.lower()
    if isinstance(value, int | float | Decimal):
        try:
            return Decimal(str(value)), Decimal(literal)
        except InvalidOperation:
            return str(value), literal
    text = str(value)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}T.*", text) and re.fullmatch(
        r"\d{4}-\d{2}-\d{2}T.*", literal
    ):
        try:
            return datetime.fromisoformat(text), datetime.fromisoformat(literal)
        except ValueError:
            pass
    return text.lower(), literal.lower()


def matches(obj: dict[str, Any], condition: Condition) -> bool:
    value = lookup(obj, condition.field)
    if value is None:
        return False
    if condition.op == "in":
        return any(_typed(value, v)[0] == _typed(value, v)[1] for v in condition.values)
    if condition.op == "like":
        pattern = ".*".join(re.escape(p) for p in condition.values[0].lower().split("%"))
        return re.fullmatch(pattern, str(value).lower(), re.DOTALL) is not None
    left, right = _typed(value, condition.values[0])
    try:
        return bool(
            {
                "=": left == right,
                "<": left < right,
                ">": left > right,
                "<=": left <= right,
                ">=": left >= right,
            }[condition.op]
        )
    except TypeError:
        return False


def _sort_key(obj: dict[str, Any], field_name: str) -> tuple[int, Any]:
    value = lookup(obj, field_name)
    if value is None:
        return (1, "")
    text = str(value)
    if text.isdigit():
        return (0, int(text))
    return (0, text.lower())


def run(query: Query, rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """The page of rows and the total that matched."""
    found = [row for row in rows if all(matches(row, c) for c in query.where)]
    found.sort(key=lambda row: _sort_key(row, query.order_by or "Id"), reverse=query.descending)
    page = found[query.start - 1 : query.start - 1 + query.max_results]
    return page, len(found)
