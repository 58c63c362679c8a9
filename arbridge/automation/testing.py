"""Rule tests: YAML cases beside the rules (``dunning.tests.yaml`` next to ``dunning.yaml``).

Each case gives a time, a trigger, a few facts (the rest default to an open USD 1,000.00 invoice
due on the case's day) and what should fire. Day counts and customer totals are derived from the
given facts unless a case sets them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator

from arbridge.automation.engine import Evaluation, evaluate
from arbridge.automation.expect import match_intents
from arbridge.automation.facts import FACTS, NAMESPACES, FactSet
from arbridge.automation.history import MemoryHistory, Record
from arbridge.automation.loader import TEST_SUFFIX, LoadResult, load_rules, pydantic_problems
from arbridge.automation.policy import Event, ScheduleTick, Trigger
from arbridge.automation.problems import Problem, did_you_mean
from arbridge.automation.schema_base import EVENT_TYPES, Model, fail
from arbridge.automation.yamlpos import load_yaml
from arbridge.errors import CaseError, YamlError
from arbridge.model.calendar import BusinessCalendar
from arbridge.model.invoice import AgingBucket

FactsBlock = dict[str, dict[str, Any]]


class HistoryItem(Model):
    rule: str
    invoice: str | None = None
    group: str | None = Field(None, description="A customer key: the rule's group history.")
    count: Annotated[int, Field(ge=1)] = 1
    last_fired_at: datetime | date | None = None
    version: str | None = None


class Expect(Model):
    fires: list[str]
    intents: list[dict[str, Any]] | None = None
    deferred: list[str] | None = None


class Case(Model):
    name: str
    at: datetime | date
    trigger: str = "schedule"
    facts: FactsBlock = Field(default_factory=dict)
    invoices: list[FactsBlock] | None = None
    history: list[HistoryItem] = Field(default_factory=list)
    expect: Expect

    @field_validator("trigger")
    @classmethod
    def _known_trigger(cls, value: str) -> str:
        if value != "schedule" and value not in EVENT_TYPES:
            choices = ("schedule", *EVENT_TYPES)
            raise fail(f"unknown trigger {value!r}{did_you_mean(value, choices)}")
        return value


class RuleTestFile(Model):
    rules: list[str] | None = None
    timezone: str = "UTC"
    holidays: str | None = None
    vars: dict[str, dict[str, Any]] = Field(default_factory=dict)
    defaults: FactsBlock = Field(default_factory=dict)
    cases: list[Case] = Field(min_length=1)


@dataclass(frozen=True)
class CaseResult:
    file: str
    name: str
    line: int
    failures: tuple[str, ...] = ()
    trace: str = ""

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass
class RuleTestReport:
    results: list[CaseResult] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and all(r.passed for r in self.results)


def find_test_files(paths: Iterable[str | Path]) -> list[Path]:
    """Test files for the given rule files, directories or test files."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(path.glob(f"*{TEST_SUFFIX}")))
        elif path.name.endswith(TEST_SUFFIX):
            found.append(path)
        else:
            sibling = path.with_name(path.name.rsplit(".", 1)[0] + TEST_SUFFIX)
            if sibling.is_file():
                found.append(sibling)
    return list(dict.fromkeys(found))


def run_rule_tests(paths: Iterable[str | Path]) -> RuleTestReport:
    report = RuleTestReport()
    for path in find_test_files(paths):
        _run_file(path, report)
    return report


def _run_file(path: Path, report: RuleTestReport) -> None:
    try:
        doc = load_yaml(path)
    except YamlError as exc:
        report.problems.append(Problem(exc.path, exc.line, exc.col, exc.message))
        return
    try:
        spec = RuleTestFile.model_validate(doc.data if doc.data is not None else {})
    except ValidationError as exc:
        report.problems.extend(pydantic_problems(exc, doc, (), doc.data, None))
        return
    try:
        tz = ZoneInfo(spec.timezone)
        calendar = BusinessCalendar(spec.holidays)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        line, col = doc.where(("timezone",))
        report.problems.append(Problem(str(path), line, col, f"bad timezone or holidays: {exc}"))
        return
    stem = path.name.removesuffix(TEST_SUFFIX)
    rule_paths = (
        [path.parent / r for r in spec.rules] if spec.rules else [path.with_name(stem + ".yaml")]
    )
    loaded = load_rules(rule_paths, vars_by_pack=spec.vars)
    if loaded.problems:
        report.problems.extend(loaded.problems)
        return
    try:
        _flatten({}, spec.defaults, ("defaults",))
    except CaseError as exc:
        line, col = doc.where(exc.loc, key=exc.key)
        report.problems.append(Problem(str(path), line, col, exc.message))
        return
    for index, case in enumerate(spec.cases):
        line, _ = doc.where(("cases", index))
        try:
            evaluation = _evaluate(case, spec, loaded, tz, calendar)
        except CaseError as exc:
            at_line, col = doc.where(("cases", index, *exc.loc), key=exc.key)
            report.problems.append(Problem(str(path), at_line, col, f"{case.name}: {exc.message}"))
            continue
        failures = _check(case, evaluation)
        trace = evaluation.trace.render() if failures else ""
        report.results.append(CaseResult(str(path), case.name, line, tuple(failures), trace))


def _evaluate(
    case: Case, spec: RuleTestFile, loaded: LoadResult, tz: ZoneInfo, calendar: BusinessCalendar
) -> Evaluation:
    at = case.at
    if not isinstance(at, datetime):
        at = datetime.combine(at, time(9, 0))
    now = at if at.tzinfo else at.replace(tzinfo=tz)
    today = now.astimezone(tz).date()
    blocks = case.invoices if case.invoices is not None else [case.facts]
    locs = [
        ("invoices", n) if case.invoices is not None else ("facts",) for n in range(len(blocks))
    ]
    raw = [_flatten(spec.defaults, block, loc) for block, loc in zip(blocks, locs, strict=True)]
    try:
        facts = case_facts(raw, today, calendar)
    except ValueError as exc:
        raise CaseError(locs[0][:1], str(exc)) from None
    keys = list(facts)
    trigger: Trigger = (
        ScheduleTick() if case.trigger == "schedule" else Event(case.trigger, keys[0])
    )
    history = MemoryHistory()
    for n, item in enumerate(case.history):
        rule = loaded.rules.get(item.rule)
        if rule is None:
            raise CaseError(("history", n, "rule"), f"unknown rule {item.rule!r}")
        key = f"customer:{item.group}" if item.group else item.invoice or keys[0]
        fired = item.last_fired_at or now - timedelta(days=1)
        if not isinstance(fired, datetime):
            fired = datetime.combine(fired, time(9, 0))
        fired = fired if fired.tzinfo else fired.replace(tzinfo=tz)
        for count in range(item.count):
            version = item.version or rule.version
            history.add(Record(rule.id, key, version, f"{rule.id}:{key}:given{count}", fired))
    return evaluate(loaded.rules, trigger, facts, history, now, calendar, tz)


def _flatten(defaults: FactsBlock, block: FactsBlock, loc: tuple[str | int, ...]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for source in (defaults, block):
        for namespace, items in source.items():
            if namespace not in NAMESPACES:
                message = f"unknown fact group {namespace!r}{did_you_mean(namespace, NAMESPACES)}"
                raise CaseError((*loc, namespace), message, key=True)
            for name, value in items.items():
                fact = f"{namespace}.{name}"
                if fact not in FACTS:
                    message = f"unknown fact {fact!r}{did_you_mean(fact, FACTS)}"
                    raise CaseError((*loc, namespace, name), message, key=True)
                values[fact] = value
    return values


def case_facts(
    invoices: list[dict[str, Any]], today: date, calendar: BusinessCalendar
) -> dict[str, FactSet]:
    """Complete fact sets from partial ones; derived facts fill what is not given."""
    filled = [_invoice_defaults(n, given, today, calendar) for n, given in enumerate(invoices)]
    result: dict[str, FactSet] = {}
    for values in filled:
        siblings = [
            v for v in filled if v["customer.key"] == values["customer.key"] and _receivable(v)
        ]
        summaries = [
            {k.removeprefix("invoice."): x for k, x in v.items() if k.startswith("invoice.")}
            for v in siblings
        ]
        same = [v for v in siblings if v["invoice.currency"] == values["invoice.currency"]]
        values.setdefault(
            "customer.total_outstanding", sum(_dec(v["invoice.balance"]) for v in same)
        )
        values.setdefault("customer.open_invoice_count", len(siblings))
        values.setdefault(
            "customer.overdue_count", sum(1 for v in siblings if v["invoice.overdue"])
        )
        key = str(values["invoice.key"])
        if key in result:
            raise ValueError(f"two invoices share the key {key!r}")
        result[key] = FactSet.create(values, summaries)
    return result


def _dec(value: Any) -> Decimal:
    return Decimal(str(value))


def _receivable(values: Mapping[str, Any]) -> bool:
    status = values["invoice.status"]
    return status in ("open", "partially_paid", "disputed") and _dec(values["invoice.balance"]) > 0


def _invoice_defaults(
    index: int, given: dict[str, Any], today: date, calendar: BusinessCalendar
) -> dict[str, Any]:
    v = dict(given)
    number = v.setdefault("invoice.number", f"INV-{index + 1}")
    v.setdefault("invoice.key", f"test:{number}")
    v.setdefault("invoice.amount", "1000.00")
    v.setdefault("invoice.amount_paid", "0")
    v.setdefault("invoice.balance", str(_dec(v["invoice.amount"]) - _dec(v["invoice.amount_paid"])))
    v.setdefault("invoice.currency", "USD")
    v.setdefault("invoice.status", "open")
    # Any source name will do: rule tests run without connectors.
    v.setdefault("invoice.source", "books")
    due = v.setdefault("invoice.due_date", today)
    if isinstance(due, str):
        due = date.fromisoformat(due)
    v.setdefault("invoice.issue_date", (due or today) - timedelta(days=30))
    owed = _receivable(v)
    overdue = max(0, (today - due).days) if owed and due else 0
    business = calendar.business_days_between(due, today) if owed and due and today > due else 0
    v.setdefault("invoice.days_overdue", overdue)
    v.setdefault("invoice.overdue", overdue > 0)
    v.setdefault("invoice.days_until_due", (due - today).days if due else None)
    v.setdefault(
        "invoice.business_days_until_due",
        calendar.business_days_between(today, due) if due else None,
    )
    v.setdefault("invoice.business_days_overdue", business)
    v.setdefault("invoice.aging_bucket", AgingBucket.for_days_overdue(overdue).value)
    v.setdefault("invoice.reminders_sent", 0)
    v.setdefault("invoice.customer_replied_since_last_reminder", False)
    v.setdefault("invoice.disputed", v["invoice.status"] == "disputed")
    v.setdefault("invoice.tags", [])
    v.setdefault("invoice.checks", [])
    v.setdefault("invoice.assignees", [])
    v.setdefault("customer.key", "test:customer")
    v.setdefault("customer.name", "Acme Ltd")
    v.setdefault("customer.tags", [])
    v.setdefault("customer.key_account", False)
    return v


def _check(case: Case, evaluation: Evaluation) -> list[str]:
    failures: list[str] = []
    fired = list(dict.fromkeys(f.rule_id for f in evaluation.firings))
    if fired != case.expect.fires:
        failures.append(f"expected fires {case.expect.fires}, got {fired}")
    if case.expect.intents is not None:
        actual = [x for f in evaluation.firings for x in f.intents]
        failures.extend(match_intents(case.expect.intents, actual))
    if case.expect.deferred is not None:
        deferred = list(dict.fromkeys(d.rule_id for d in evaluation.deferred))
        if deferred != case.expect.deferred:
            failures.append(f"expected deferred {case.expect.deferred}, got {deferred}")
    return failures
