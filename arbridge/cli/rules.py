"""``arbridge rules ...`` and ``arbridge schema rules``, mounted by ``arbridge.cli.main``::

    app.add_typer(rules_app, name="rules")
    app.add_typer(schema_app, name="schema")

``explain`` and ``plan`` need stored invoices and history: they read them through the
``rules_data`` factory of the command's context object (:class:`arbridge.cli.context.CliContext`);
without one they exit 2.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn, Protocol
from zoneinfo import ZoneInfo

import typer

from arbridge.automation.engine import Evaluation, Event, ScheduleTick, evaluate
from arbridge.automation.facts import FactSet
from arbridge.automation.history import History
from arbridge.automation.loader import LoadResult, load_rules
from arbridge.automation.schema import rules_json_schema
from arbridge.automation.schema_base import EVENT_TYPES
from arbridge.automation.testing import run_rule_tests
from arbridge.cli.context import ConfigOption, cli_context
from arbridge.model.calendar import BusinessCalendar

EXIT_PROBLEMS = 1
EXIT_NO_DATA = 2


class RulesData(Protocol):
    """What ``explain`` and ``plan`` read; the daemon implements it over its database."""

    def rules(self) -> LoadResult:
        """The configured rule packs."""
        ...

    def facts(self, now: datetime) -> Mapping[str, FactSet]:
        """Facts of every open invoice (and any named by ``find_invoice``) as of ``now``."""
        ...

    def history(self) -> History: ...

    def calendar(self) -> BusinessCalendar: ...

    def timezone(self) -> ZoneInfo: ...

    def now(self) -> datetime: ...

    def find_invoice(self, reference: str) -> str | None:
        """An invoice key from a key or an invoice number; None when unknown."""
        ...


ProviderFactory = Callable[[Path | None], RulesData]


rules_app = typer.Typer(
    rich_markup_mode=None,
    help="Collection rules: check them, test them, see what they will do.",
    no_args_is_help=True,
)
schema_app = typer.Typer(
    rich_markup_mode=None, help="JSON Schemas for editor completion.", no_args_is_help=True
)

PathsArg = Annotated[
    list[Path] | None,
    typer.Argument(help="Rule files or directories (default: ./rules)."),
]
AtOption = Annotated[
    str | None,
    typer.Option("--at", help="Evaluate as of this ISO date/time (default: now)."),
]


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code)


@rules_app.command()
def validate(paths: PathsArg = None) -> None:
    """Check rule files; one "path:line:col: message" line per problem (exit 1 if any)."""
    # A shell glob such as rules/*.yaml also matches the rule tests; those are `rules test`'s.
    chosen = [p for p in paths or [Path("rules")] if not p.name.endswith(".tests.yaml")]
    result = load_rules(chosen)
    for problem in result.problems:
        typer.echo(str(problem))
    if result.problems:
        raise typer.Exit(EXIT_PROBLEMS)
    typer.echo(f"ok: {len(result.rules)} rules in {len(result.files)} files")


@rules_app.command("test")
def run_tests_command(paths: PathsArg = None) -> None:
    """Run the rule tests (*.tests.yaml files) beside the rule files."""
    report = run_rule_tests(paths or [Path("rules")])
    for problem in report.problems:
        typer.echo(str(problem))
    for case in report.results:
        typer.echo(f"{'PASS' if case.passed else 'FAIL'} {case.file}:{case.line}: {case.name}")
        for failure in case.failures:
            typer.echo(f"  {failure}")
        if case.trace:
            typer.echo("  " + case.trace.replace("\n", "\n  "))
    passed = sum(1 for r in report.results if r.passed)
    failed = len(report.results) - passed
    typer.echo(f"{passed} passed, {failed} failed, {len(report.problems)} problems")
    if not report.results and not report.problems:
        _fail("no rule tests found (files named *.tests.yaml beside the rules)", EXIT_PROBLEMS)
    if not report.ok:
        raise typer.Exit(EXIT_PROBLEMS)


def _data(ctx: typer.Context, config: Path | None) -> RulesData:
    factory: ProviderFactory | None = cli_context(ctx).rules_data
    if factory is None:
        _fail(
            "arbridge: explain and plan need stored invoices; no data provider is configured "
            "(run them through the arbridge command with a config)",
            EXIT_NO_DATA,
        )
    return factory(config)


def _when(at: str | None, data: RulesData) -> datetime:
    if at is None:
        return data.now()
    try:
        when = datetime.fromisoformat(at)
    except ValueError:
        _fail(f"--at: not an ISO date or date-time: {at!r}", EXIT_PROBLEMS)
    return when if when.tzinfo else when.replace(tzinfo=data.timezone())


def _loaded(data: RulesData) -> LoadResult:
    result = data.rules()
    for problem in result.problems:
        typer.echo(f"warning: {problem}", err=True)
    return result


@rules_app.command()
def explain(
    ctx: typer.Context,
    rule_id: Annotated[str, typer.Argument(help="Rule id.")],
    invoice: Annotated[str, typer.Argument(help="Invoice key or number.")],
    at: AtOption = None,
    event: Annotated[
        str | None, typer.Option("--event", help="Evaluate this event instead of the schedule.")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Why RULE_ID does or does not fire for INVOICE: each condition with its fact value."""
    data = _data(ctx, config)
    result = _loaded(data)
    if result.rules.get(rule_id) is None:
        _fail(f"no valid rule {rule_id!r} is loaded", EXIT_PROBLEMS)
    if event is not None and event not in EVENT_TYPES:
        _fail(f"--event: unknown event {event!r} ({', '.join(EVENT_TYPES)})", EXIT_PROBLEMS)
    key = data.find_invoice(invoice)
    now = _when(at, data)
    facts = data.facts(now)
    if key is None or key not in facts:
        _fail(f"no invoice {invoice!r}", EXIT_PROBLEMS)
    trigger = Event(event, key) if event else ScheduleTick()
    evaluation = _run(data, result, trigger, facts, now)
    typer.echo(evaluation.trace.render(rule_id=rule_id, invoice_key=key))
    for firing in evaluation.firings:
        if firing.rule_id == rule_id and firing.invoice_key == key:
            for intent in firing.intents:
                typer.echo(json.dumps(intent.model_dump(mode="json")))


def _run(
    data: RulesData,
    result: LoadResult,
    trigger: Event | ScheduleTick,
    facts: Mapping[str, FactSet],
    now: datetime,
) -> Evaluation:
    return evaluate(
        result.rules, trigger, facts, data.history(), now, data.calendar(), data.timezone()
    )


@rules_app.command()
def plan(
    ctx: typer.Context,
    at: AtOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    config: ConfigOption = None,
) -> None:
    """What the scheduled rules would do at a time, without doing it."""
    data = _data(ctx, config)
    result = _loaded(data)
    now = _when(at, data)
    evaluation = _run(data, result, ScheduleTick(), data.facts(now), now)
    payload = plan_payload(evaluation)
    if as_json:
        typer.echo(json.dumps(payload))
        return
    typer.echo(f"plan at {payload['at']}: {len(evaluation.firings)} firings")
    for firing in payload["firings"]:
        typer.echo(f"{firing['invoice_key']}: {firing['rule_id']} ({firing['occurrence_key']})")
        for intent in firing["intents"]:
            typer.echo(f"  {intent['kind']}: {_brief(intent)}")
    for deferred in payload["deferred"]:
        typer.echo(
            f"{deferred['invoice_key']}: {deferred['rule_id']} deferred to "
            f"{deferred['not_before']} ({deferred['reason']})"
        )


def _brief(intent: Mapping[str, Any]) -> str:
    shown = {k: v for k, v in intent.items() if k not in ("kind", "key") and v not in ([], None)}
    return ", ".join(f"{k}={v}" for k, v in shown.items()).replace("\n", " ")


def plan_payload(evaluation: Evaluation) -> dict[str, Any]:
    return {
        "at": evaluation.at.isoformat(),
        "firings": [
            {
                "rule_id": f.rule_id,
                "rule_version": f.rule_version,
                "invoice_key": f.invoice_key,
                "occurrence_key": f.occurrence_key,
                "group_key": f.group_key,
                "group_invoice_keys": list(f.group_invoice_keys),
                "intents": [x.model_dump(mode="json") for x in f.intents],
            }
            for f in evaluation.firings
        ],
        "deferred": [
            {
                "rule_id": d.rule_id,
                "invoice_key": d.invoice_key,
                "not_before": d.not_before.isoformat(),
                "reason": d.reason,
            }
            for d in evaluation.deferred
        ],
    }


@schema_app.callback()
def _schema_group() -> None:
    """JSON Schemas for editor completion."""


@schema_app.command("rules")
def schema_rules() -> None:
    """JSON Schema of rule files (for yaml-language-server and other editors)."""
    typer.echo(json.dumps(rules_json_schema(), indent=2))
