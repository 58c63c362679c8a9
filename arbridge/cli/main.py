"""The ``arbridge`` command line."""

from __future__ import annotations

import json
import signal
import threading
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from arbridge.cli.context import (
    CliContext,
    ConfigOption,
    configured_settings,
    configured_store,
    fail_config,
)
from arbridge.cli.insight import insight_app, make_history_app, sandbox_history
from arbridge.cli.report import report_app
from arbridge.cli.rules import rules_app, schema_app
from arbridge.errors import ConfigError
from arbridge.insight.history import PaymentRecord
from arbridge.ports.connector import CommandConnector, SinkConnector, discover
from arbridge.settings import Settings

app = typer.Typer(
    # Plain help: typer's rich panels show a "<bool>" type beside every flag.
    rich_markup_mode=None,
    context_settings={"max_content_width": 100},
    help="arbridge: mirror invoices from your books into a task tool and chase them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(rich_markup_mode=None, help="Database maintenance.", no_args_is_help=True)
config_app = typer.Typer(rich_markup_mode=None, help="Configuration checks.", no_args_is_help=True)
sandbox_app = typer.Typer(
    rich_markup_mode=None, help="Local emulators of the outside services.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(insight_app, name="insight")
app.add_typer(report_app, name="report")
app.add_typer(rules_app, name="rules")
app.add_typer(schema_app, name="schema")
app.add_typer(config_app, name="config")
app.add_typer(sandbox_app, name="sandbox")

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]

EXIT_CONFIG = 2


def _fail_config(error: ConfigError) -> NoReturn:
    fail_config(error.problems)


def _settings(config: Path | None) -> Settings:
    return configured_settings(config)


def _emit(payload: dict[str, Any], as_json: bool, human: str) -> None:
    typer.echo(
        json.dumps(payload, indent=None if as_json else 2, default=str) if as_json else human
    )


def _open_store(settings: Settings) -> Any:
    """The migrated store, or exit 2 naming what is wrong with database_url."""
    return configured_store(settings)


@app.command()
def run(
    config: ConfigOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Log what would be sent; send and store nothing.")
    ] = False,
) -> None:
    """Run the daemon: keep every invoice's task true until stopped (SIGTERM/SIGINT)."""
    from arbridge.runtime.app import App

    settings = _settings(config)
    try:
        application = App.from_settings(settings, dry_run=dry_run)
    except ConfigError as error:
        _fail_config(error)
    stop = threading.Event()

    def _stop(signum: int, _frame: object) -> None:
        stop.set()

    def _reload(signum: int, _frame: object) -> None:
        if application.rules is not None:
            application.rules.reload()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGHUP, _reload)
    try:
        application.run(stop)
    except ConfigError as error:
        stop.set()
        _fail_config(error)
    finally:
        application.close()


@app.command("secret-key")
def secret_key() -> None:
    """Print a new key for ARBRIDGE_SECRET_KEY (encrypts stored tokens)."""
    from arbridge.store.credentials import new_key

    typer.echo(new_key())


@app.command()
def sync(
    once: Annotated[
        bool, typer.Option("--once", help="One full reconciliation, then exit.")
    ] = False,
    config: ConfigOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Plan only; send nothing.")] = False,
    verify: Annotated[
        bool,
        typer.Option(
            "--verify",
            help="Read every task back first (1 request per 100 tasks) and repair what drifted.",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Re-derive every task from the stored invoices and send only what differs."""
    from arbridge.runtime.app import App

    if not once:
        typer.echo("arbridge sync needs --once (the continuous loop is `arbridge run`)", err=True)
        raise typer.Exit(EXIT_CONFIG)
    settings = _settings(config)
    try:
        application = App.from_settings(settings, dry_run=dry_run)
    except ConfigError as error:
        _fail_config(error)
    try:
        report = application.sync_once(verify=verify)
    finally:
        application.close()
    payload = {
        "queued": report.queued,
        "applied": report.applied,
        "pending": report.pending,
        "failing": report.failing,
        "seconds": round(report.seconds, 3),
        "dry_run": dry_run,
    }
    _emit(
        payload,
        as_json,
        f"{report.queued} operations queued, {report.applied} applied, "
        f"{report.pending} pending ({report.failing} failing) in {report.seconds:.2f}s",
    )
    if report.failing:
        raise typer.Exit(1)


@app.command()
def status(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Outbox depth, failing operations with their last error, cursors and sync times."""
    from arbridge.clock import SystemClock
    from arbridge.runtime.app import store_status

    settings = _settings(config)
    engine = _open_store(settings)
    report = store_status(engine, SystemClock())
    if settings.rules.packs:
        from arbridge.loop.rules import load_configured_rules

        loaded = load_configured_rules(settings)
        report["rules"] = {
            "active": len(loaded.rules),
            "problems": [str(problem) for problem in loaded.problems],
        }
    if as_json:
        typer.echo(json.dumps(report, default=str))
        return
    box = report["outbox"]
    lines = [
        f"invoices: {report['invoices']}   tasks: {report['tasks']}",
        f"outbox: {box['depth']} pending, {box['due']} due now, {box['failing']} failing"
        + (f", oldest {box['oldest']}" if box["oldest"] else ""),
    ]
    for op in report["failing_operations"]:
        lines.append(
            f"  ! {op['operation']} {op['invoice']} attempt {op['attempts']}"
            f" next {op['next_attempt_at']}: {op['last_error']}"
        )
    if "rules" in report:
        lines.append(f"rules: {report['rules']['active']} active")
        lines.extend(f"  ! {problem}" for problem in report["rules"]["problems"])
    box_in = report["inbox"]
    lines.append(
        f"webhook inbox: {box_in['pending']} pending, {box_in['failed']} failed, "
        f"{box_in['processed']} processed"
    )
    for event in box_in["failing_events"]:
        lines.append(
            f"  ! {event['provider']} {event['kind']} {event['event']} attempt "
            f"{event['attempts']} ({event['state']}): {event['last_error']}"
        )
    for name, source in report["sources"].items():
        verdict = "ok" if source["ok"] else "NOT OK"
        lines.append(f"source {name}: {verdict}, last good poll {source['last_ok_at'] or 'never'}")
        if source["last_error"]:
            lines.append(f"  ! {source['last_error']}")
    for name, cursor in sorted(report["cursors"].items()):
        lines.append(f"cursor {name}: {cursor['value']} (updated {cursor['updated_at']})")
    typer.echo("\n".join(lines))


@config_app.command("check")
def config_check(config: ConfigOption = None) -> None:
    """Validate the config (every connector's section), the database and the task sink's
    list; report every problem at once."""
    from arbridge.runtime.app import build_sink
    from arbridge.store.db import check_reachable, make_engine

    settings = _settings(config)
    problems: list[str] = []
    try:
        check_reachable(make_engine(settings.database_url))
    except ConfigError as error:
        problems.extend(error.problems)
    try:
        build_sink(settings).close()
    except ConfigError as error:
        problems.extend(error.problems)
    except Exception as error:  # shown to the user, who must fix it
        problems.append(f"{settings.sink}: {error}")
    if problems:
        _fail_config(ConfigError(problems))
    typer.echo("config OK")


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None) -> None:
    """Apply schema migrations (also done on every start)."""
    from arbridge.store.migrate import current_revision

    engine = _open_store(_settings(config))
    typer.echo(f"database at revision {current_revision(engine)}")


def _sandbox_command(name: str) -> Any:
    """``arbridge sandbox <sink>``: the sink connector's emulator served alone."""

    def serve(
        port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8765,
        rate_limit: Annotated[
            int, typer.Option(help="Requests per minute per token (0: unlimited).")
        ] = 100,
    ) -> None:
        from arbridge.demo.sandbox import serve_sink

        serve_sink(name, port=port, rate_limit=rate_limit or None)

    serve.__doc__ = f"Serve the {name} emulator alone."
    return serve


@app.command()
def demo(
    invoices: Annotated[
        int, typer.Option(help="Invoices open on the first day (more are issued each day).")
    ] = 80,
    seed: Annotated[int, typer.Option(help="Seed of the generated company.")] = 1,
    days: Annotated[int, typer.Option(help="Simulated days after the first sync.")] = 90,
    serve: Annotated[
        bool, typer.Option("--serve", help="Keep the emulated task board up afterwards.")
    ] = False,
    as_json: JsonOption = False,
    forecast_png: Annotated[
        Path | None,
        typer.Option("--forecast-png", help="Also chart the final book's 90-day cash forecast."),
    ] = None,
) -> None:
    """The local demo: generated invoices mirrored into the emulated task tool, over HTTP."""
    from arbridge.demo.run import run_demo

    summary = run_demo(
        invoices=invoices,
        seed=seed,
        days=days,
        serve=serve,
        as_json=as_json,
        forecast_png=forecast_png,
    )
    if as_json:
        typer.echo(json.dumps(summary))
    if summary["duplicate_tasks"] or summary["field_mismatches"]:
        raise typer.Exit(1)


def _store_history(records: list[PaymentRecord], config: Path | None) -> int:
    """Write imported history in one transaction: all of the file or nothing."""
    from arbridge.clock import SystemClock
    from arbridge.loop.payment_history import save_records
    from arbridge.store.db import transaction

    engine = _open_store(_settings(config))
    with transaction(engine) as session:
        written = save_records(session, records, origin="import", now=SystemClock().now())
    engine.dispose()
    return written


def _report_data(config: Path | None) -> Any:
    from arbridge.runtime.reporting import StoreReportData

    settings = _settings(config)
    return StoreReportData(settings, _open_store(settings))


class _StoreRulesData:
    """``rules explain`` and ``rules plan`` over the configured store (read only)."""

    def __init__(self, config: Path | None) -> None:
        from arbridge.clock import SystemClock
        from arbridge.loop.reconcile import Reconciler
        from arbridge.loop.rules import RulesRunner

        settings = _settings(config)
        engine = _open_store(settings)
        self._clock = SystemClock()
        reconciler = Reconciler(engine, self._clock, frozenset(), settings.company.timezone)
        self._runner = RulesRunner(settings, engine, reconciler, dry_run=True)

    def rules(self) -> Any:
        return self._runner.loaded

    def facts(self, now: datetime) -> Any:
        return self._runner.facts_at(now, closed=True)

    def history(self) -> Any:
        return self._runner.history()

    def calendar(self) -> Any:
        return self._runner.calendar

    def timezone(self) -> Any:
        return self._runner.zone

    def now(self) -> datetime:
        return self._clock.now()

    def find_invoice(self, reference: str) -> str | None:
        from sqlmodel import or_, select

        from arbridge.store.db import transaction
        from arbridge.store.tables import InvoiceRow

        with transaction(self._runner.engine) as session:
            return session.exec(
                select(InvoiceRow.key).where(
                    or_(InvoiceRow.key == reference, InvoiceRow.number == reference)
                )
            ).first()


@app.callback()
def _root(ctx: typer.Context) -> None:
    # Every command finds the config loader and the store-backed data on ``ctx.obj``.
    if ctx.obj is None:
        ctx.obj = CliContext(rules_data=_StoreRulesData, report_data=_report_data)


app.add_typer(make_history_app(store=_store_history), name="history")
sandbox_app.command("history")(sandbox_history)


def mount_connectors(root: typer.Typer, sandbox: typer.Typer | None = None) -> None:
    """Each installed connector's commands as ``arbridge <name> ...``; a sink's emulator as
    ``arbridge sandbox <name>``."""
    for name, connector in sorted(discover().items()):
        if isinstance(connector, CommandConnector):
            root.add_typer(connector.commands(), name=name)
        if sandbox is not None and isinstance(connector, SinkConnector):
            sandbox.command(name)(_sandbox_command(name))


mount_connectors(app, sandbox_app)


def main() -> None:
    try:
        app()
    except ConfigError as error:
        _fail_config(error)


if __name__ == "__main__":
    main()
