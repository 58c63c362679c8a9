"""``arbridge report ...``: cash forecast, aging, DSO, collections, disputes, follow-up queue.

Mounted by ``arbridge.cli.main``. Every command reads through a ``ReportData`` made by the
``report_data`` factory of its context object (:class:`arbridge.cli.context.CliContext`) from the
``--config`` path, so the same commands run on the database and, in tests, on data held in
memory (``StaticReportData``). ``docs/reports.md`` explains the figures.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, NoReturn, Protocol

import typer
from rich.console import Console

from arbridge.cli.context import ConfigOption, cli_context
from arbridge.errors import ScenarioError
from arbridge.insight.disputes import disputes_report
from arbridge.insight.forecast import (
    Collection,
    Estimate,
    Forecast,
    PayDateEstimate,
    build_forecast,
    deviation,
    forecast_csv,
    parse_scenario,
    read_forecast_csv,
    write_png,
)
from arbridge.insight.queue import rank_queue
from arbridge.insight.reports import (
    ARItem,
    Grouping,
    aging,
    collections,
    dso,
    to_csv,
    to_json,
    to_table,
)
from arbridge.model.invoice import Dispute

EXIT_PROVIDER = 1
EXIT_INPUT = 2


class ReportData(Protocol):
    def today(self) -> date: ...
    def items(self, today: date) -> Sequence[ARItem]: ...
    def estimates(self, today: date) -> Sequence[PayDateEstimate]: ...
    def disputes(self) -> Sequence[Dispute]: ...
    def payments(self) -> Sequence[Collection]: ...


@dataclass
class StaticReportData:
    """Report data held in memory (tests, the sandbox, a one-off export)."""

    as_of: date
    ar_items: list[ARItem] = field(default_factory=list)
    pay_estimates: list[Estimate] = field(default_factory=list)
    dispute_records: list[Dispute] = field(default_factory=list)
    received: list[Collection] = field(default_factory=list)

    def today(self) -> date:
        return self.as_of

    def items(self, today: date) -> Sequence[ARItem]:
        return self.ar_items

    def estimates(self, today: date) -> Sequence[PayDateEstimate]:
        return self.pay_estimates

    def disputes(self) -> Sequence[Dispute]:
        return self.dispute_records

    def payments(self) -> Sequence[Collection]:
        return self.received


ProviderFactory = Callable[[Path | None], ReportData]


report_app = typer.Typer(
    rich_markup_mode=None,
    help="Cash forecast and accounts-receivable reports.",
    no_args_is_help=True,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
CsvOption = Annotated[bool, typer.Option("--csv", help="Print CSV rows.")]
ByOption = Annotated[
    Grouping | None, typer.Option("--by", help="Group by customer, collector or task status.")
]
WeeksOption = Annotated[int, typer.Option("--weeks", min=1, max=104, help="Weeks of trend.")]


def _fail(message: str, code: int = EXIT_INPUT) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def _data(ctx: typer.Context, config: Path | None) -> ReportData:
    factory: ProviderFactory | None = cli_context(ctx).report_data
    if factory is None:
        _fail("arbridge report: no report data provider is configured", EXIT_PROVIDER)
    return factory(config)


def _emit(
    title: str,
    records: Sequence[dict[str, Any]],
    payload: dict[str, Any],
    as_json: bool,
    as_csv: bool,
) -> None:
    if as_json and as_csv:
        _fail("choose one of --json and --csv")
    if as_json:
        typer.echo(to_json(payload))
    elif as_csv:
        typer.echo(to_csv(records), nl=False)
    else:
        Console().print(to_table(title, records))


def _show_forecast(result: Forecast, console: Console) -> None:
    for code, cf in sorted(result.currencies.items()):
        console.print(to_table(f"{code}: expected collections per ISO week", result.weekly(code)))
        for name in result.series_names:
            console.print(
                f"  {name}: {sum(cf.series[name], Decimal(0)):,} {code} within "
                f"{result.days} days, {cf.beyond[name]:,} {code} later"
            )
    if not result.currencies:
        console.print("no open invoices")


@report_app.command("forecast")
def forecast_command(
    ctx: typer.Context,
    days: Annotated[int, typer.Option("--days", min=1, max=730, help="Days ahead.")] = 90,
    what_if: Annotated[
        list[str] | None,
        typer.Option(
            "--what-if",
            help="Scenario such as 'top:10 delay:5d', 'customer:ACME delay:30d' or "
            "'all delay:7d'; repeatable.",
        ),
    ] = None,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Write one row per day and currency.")
    ] = None,
    png_file: Annotated[Path | None, typer.Option("--png", help="Write a chart.")] = None,
    compare: Annotated[
        Path | None,
        typer.Option(
            "--compare",
            help="An earlier forecast CSV: compare its expected amounts with the payments "
            "received from its first day up to yesterday.",
        ),
    ] = None,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Expected collections per day and week, beside the contractual baseline and scenarios."""
    try:
        scenarios = [parse_scenario(text) for text in what_if or []]
    except ScenarioError as error:
        _fail(str(error))
    earlier = None
    if compare is not None:
        try:
            earlier = read_forecast_csv(compare)
        except (OSError, ValueError) as error:
            _fail(f"--compare: {error}")
    data = _data(ctx, config)
    today = data.today()
    items = data.items(today)
    try:
        result = build_forecast(
            [i.invoice for i in items],
            data.estimates(today),
            start=today,
            days=days,
            scenarios=scenarios,
        )
    except ScenarioError as error:
        _fail(str(error))
    payload = result.to_dict()
    if earlier is not None:
        first = min((d for by_day in earlier.values() for d in by_day), default=today)
        last = today - timedelta(days=1)
        found = deviation(earlier, data.payments(), first, last) if first <= last else []
        payload["deviation"] = [d.facts() | {"from": first, "to": last} for d in found]
    if csv_file is not None:
        csv_file.write_text(forecast_csv(result))
    if png_file is not None:
        write_png(result, png_file)
    if as_json:
        typer.echo(to_json(payload))
        return
    console = Console()
    _show_forecast(result, console)
    for facts in payload.get("deviation", []):
        pct = facts["forecast_deviation_pct"]
        console.print(
            f"{facts['currency']} {facts['from']} to {facts['to']}: expected "
            f"{facts['forecast_expected']:,}, collected {facts['forecast_actual']:,}, "
            f"deviation {facts['forecast_deviation']:,}" + ("" if pct is None else f" ({pct}%)")
        )
    for path in (csv_file, png_file):
        if path is not None:
            console.print(f"wrote {path}")


@report_app.command("aging")
def aging_command(
    ctx: typer.Context,
    by: ByOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
    config: ConfigOption = None,
) -> None:
    """Outstanding balance by aging bucket, per currency."""
    data = _data(ctx, config)
    today = data.today()
    report = aging(data.items(today), today, by or Grouping.CUSTOMER)
    _emit(f"Aging on {today} by {report.by}", report.records(), report.to_dict(), as_json, as_csv)


@report_app.command("dso")
def dso_command(
    ctx: typer.Context,
    by: ByOption = None,
    period_days: Annotated[
        int, typer.Option("--period-days", min=1, help="Length of each countback period.")
    ] = 30,
    periods: Annotated[
        int, typer.Option("--periods", min=1, help="Most periods to count back.")
    ] = 12,
    weeks: WeeksOption = 8,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
    config: ConfigOption = None,
) -> None:
    """Days sales outstanding (countback method) and its weekly trend, per currency."""
    data = _data(ctx, config)
    today = data.today()
    report = dso(
        data.items(today), today, period_days=period_days, periods=periods, weeks=weeks, by=by
    )
    _emit(f"DSO (countback) to {today}", report.records(), report.to_dict(), as_json, as_csv)


@report_app.command("collections")
def collections_command(
    ctx: typer.Context,
    by: ByOption = None,
    weeks: WeeksOption = 8,
    target_rate: Annotated[
        float | None,
        typer.Option("--target-rate", min=0, max=1, help="Target collection rate, e.g. 0.85."),
    ] = None,
    target_days_late: Annotated[
        float | None, typer.Option("--target-days-late", min=0, help="Target days late.")
    ] = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
    config: ConfigOption = None,
) -> None:
    """Weekly collection rate, days late and follow-up counts, per currency."""
    data = _data(ctx, config)
    today = data.today()
    report = collections(
        data.items(today),
        today,
        weeks=weeks,
        by=by,
        target_collection_rate=None if target_rate is None else Decimal(str(target_rate)),
        target_days_late=None if target_days_late is None else Decimal(str(target_days_late)),
    )
    _emit(f"Collections to {today}", report.records(), report.to_dict(), as_json, as_csv)


@report_app.command("disputes")
def disputes_command(
    ctx: typer.Context,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
    config: ConfigOption = None,
) -> None:
    """Disputes by reason, customer, month and status, per currency."""
    data = _data(ctx, config)
    report = disputes_report(data.disputes(), data.items(data.today()))
    _emit("Disputes", report.records(), report.to_dict(), as_json, as_csv)


@report_app.command("queue")
def queue_command(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Rows per currency.")] = 50,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
    config: ConfigOption = None,
) -> None:
    """Open invoices in the order to chase them, per currency."""
    data = _data(ctx, config)
    today = data.today()
    entries = rank_queue([i.invoice for i in data.items(today)], data.estimates(today), today)
    records = [e.record() for e in entries if e.rank <= limit]
    payload = {"report": "queue", "as_of": today, "entries": records}
    _emit(f"Follow-up queue on {today}", records, payload, as_json, as_csv)
