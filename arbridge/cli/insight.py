"""Command-line entry points for payment history and insight, mounted by ``arbridge.cli.main``::

    app.add_typer(insight_app, name="insight")
    app.add_typer(history_app, name="history")   # or make_history_app(store=...)
    sandbox_app.command("history")(sandbox_history)

Heavy imports (numpy, scikit-learn) happen inside the commands so ``arbridge --help`` stays fast.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from arbridge.errors import HistoryImportError
from arbridge.insight.history import COLUMNS, PaymentRecord, parse_history_csv, write_history_csv

EXIT_INPUT = 2

HistoryStore = Callable[[list[PaymentRecord], Path | None], int]
"""Stores imported records (with the config file, if given) and returns how many were written."""

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]

insight_app = typer.Typer(
    rich_markup_mode=None,
    help="Payment predictions, and the backtest that shows how good they are.",
    no_args_is_help=True,
)


def _fail(lines: Sequence[str]) -> NoReturn:
    for line in lines:
        typer.echo(line, err=True)
    raise typer.Exit(EXIT_INPUT)


def load_history(
    path: Path, mapping: dict[str, str] | None = None, date_format: str | None = None
) -> list[PaymentRecord]:
    """The records of a history CSV; ``HistoryImportError`` lists every problem if any."""
    return parse_history_csv(path, mapping=mapping or {}, date_format=date_format)


def parse_mapping(pairs: Sequence[str]) -> dict[str, str]:
    """``["invoice_id=Invoice No"]`` as ``{"invoice_id": "Invoice No"}``."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        new, sep, old = pair.partition("=")
        if not sep or not new.strip() or not old.strip():
            raise typer.BadParameter(f"expected NEW=OLD, got {pair!r}", param_hint="--map")
        mapping[new.strip()] = old.strip()
    return mapping


def summarize(records: Sequence[PaymentRecord]) -> dict[str, Any]:
    issued = [r.issue_date for r in records]
    return {
        "invoices": len(records),
        "customers": len({r.customer_id for r in records}),
        "settled": sum(1 for r in records if r.paid_date is not None),
        "open": sum(1 for r in records if r.paid_date is None),
        "disputed": sum(1 for r in records if r.disputed),
        "first_issue_date": min(issued).isoformat() if issued else None,
        "last_issue_date": max(issued).isoformat() if issued else None,
        "currencies": dict(sorted(Counter(r.currency for r in records).items())),
        "attributes": sorted({key for r in records for key in r.attributes}),
    }


def _describe(summary: dict[str, Any]) -> str:
    lines = [
        f"{summary['invoices']} invoices of {summary['customers']} customers, "
        f"issued {summary['first_issue_date']} .. {summary['last_issue_date']}",
        f"{summary['settled']} settled, {summary['open']} open, {summary['disputed']} disputed",
        "currencies: "
        + ", ".join(f"{code} {count}" for code, count in summary["currencies"].items()),
    ]
    if summary["attributes"]:
        lines.append("attributes: " + ", ".join(summary["attributes"]))
    return "\n".join(lines)


def _read(path: Path, mapping: dict[str, str], date_format: str | None) -> list[PaymentRecord]:
    try:
        return load_history(path, mapping, date_format)
    except HistoryImportError as error:
        _fail([f"{path}: {len(error.problems)} problem(s), nothing imported:", *error.problems])


def make_history_app(store: HistoryStore | None = None) -> typer.Typer:
    """The ``history`` commands; ``store`` writes imported records (None: validate only)."""
    app = typer.Typer(
        rich_markup_mode=None,
        help="Payment history the predictions learn from.",
        no_args_is_help=True,
    )

    @app.command("import")
    def import_history(
        file: Annotated[Path, typer.Argument(help="CSV with columns " + ", ".join(COLUMNS))],
        mapping: Annotated[
            list[str] | None,
            typer.Option("--map", help="Read column OLD as NEW (NEW=OLD); repeatable."),
        ] = None,
        date_format: Annotated[
            str | None,
            typer.Option("--date-format", help="strptime format of the dates (default ISO)."),
        ] = None,
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="Check and summarise; store nothing.")
        ] = False,
        as_json: JsonOption = False,
        config: Annotated[
            Path | None,
            typer.Option("--config", "-c", envvar="ARBRIDGE_CONFIG", help="YAML config file."),
        ] = None,
    ) -> None:
        """Load older payment history; a file with any bad row imports nothing."""
        records = _read(file, parse_mapping(mapping or []), date_format)
        summary = summarize(records)
        if dry_run or store is None:
            summary["stored"] = 0
        else:
            summary["stored"] = store(records, config)
        if as_json:
            typer.echo(json.dumps(summary))
            return
        typer.echo(_describe(summary))
        if dry_run:
            typer.echo("dry run: nothing stored")
        elif store is None:
            typer.echo("checked only: no history store is configured")
        else:
            typer.echo(f"stored {summary['stored']} invoices")

    return app


history_app = make_history_app()


@insight_app.command("backtest")
def backtest(
    history: Annotated[Path, typer.Option("--history", help="History CSV to replay.")],
    split_date: Annotated[
        str, typer.Option("--split-date", help="YYYY-MM-DD: invoices issued from here are tested.")
    ],
    as_json: JsonOption = False,
) -> None:
    """Walk-forward backtest of the predictions against simple rules of thumb."""
    from arbridge.insight.backtest import format_table, run_backtest

    try:
        split = date.fromisoformat(split_date)
    except ValueError:
        _fail([f"--split-date: not a YYYY-MM-DD date: {split_date!r}"])
    records = _read(history, {}, None)
    try:
        result = run_backtest(records, split)
    except ValueError as error:
        _fail([f"backtest: {error}"])
    if as_json:
        typer.echo(json.dumps(result.to_json()))
    else:
        typer.echo(format_table(result))


def sandbox_history(
    customers: Annotated[int, typer.Option(min=1, help="Customers to generate.")] = 100,
    invoices: Annotated[int, typer.Option(min=0, help="Invoices to generate.")] = 2500,
    seed: Annotated[int, typer.Option(help="Same seed, same history.")] = 1,
    out: Annotated[Path, typer.Option("--out", help="CSV file to write.")] = Path("history.csv"),
) -> None:
    """Write a generated two-year payment history (for the backtest and the demo)."""
    from arbridge.insight.generate import generate_history

    records = generate_history(customers, invoices, seed)
    write_history_csv(out, records)
    summary = summarize(records)
    typer.echo(f"wrote {out}")
    typer.echo(_describe(summary))
