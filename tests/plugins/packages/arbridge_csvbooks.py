"""A whole source connector in one file: invoices kept as CSV files in a folder.

It imports only ``arbridge.api`` and is found through its entry point alone (the test writes a
``*.dist-info`` for it); nothing in the engine names it. One CSV row is one invoice::

    id,number,customer,currency,total,paid,issue_date,due_date
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from arbridge.api import (
    Clock,
    CommandContext,
    ConnectorSettings,
    CredentialStore,
    Customer,
    InboundEvent,
    Invoice,
    InvoiceStatus,
    PollResult,
    Source,
    SourceBatch,
    SourceHealth,
    SourceVersion,
    WebhookRejected,
)

NAME = "csvbooks"
SOURCE = Source(NAME)


class CsvBooksSettings(ConnectorSettings):
    """``csvbooks:`` in the config: the folder the CSV files are in."""

    folder: str
    account: str = "books"
    poll_interval_s: float = 60.0


class CsvBooksSource:
    name = NAME

    def __init__(self, config: CsvBooksSettings) -> None:
        self.config = config

    def _rows(self) -> Iterator[dict[str, str]]:
        for path in sorted(Path(self.config.folder).glob("*.csv")):
            with path.open(newline="", encoding="utf-8") as handle:
                yield from csv.DictReader(handle)

    def _batch(self) -> SourceBatch:
        batch = SourceBatch()
        for row in self._rows():
            total, paid = Decimal(row["total"]), Decimal(row["paid"])
            customer = Customer(
                source=SOURCE,
                source_account=self.config.account,
                source_id=row["customer"],
                name=row["customer"],
            )
            batch.customers.append(customer)
            batch.invoices.append(
                Invoice(
                    source=SOURCE,
                    source_account=self.config.account,
                    source_id=row["id"],
                    number=row["number"],
                    customer_id=customer.source_id,
                    customer_name=customer.name,
                    issue_date=date.fromisoformat(row["issue_date"]),
                    due_date=date.fromisoformat(row["due_date"]),
                    currency=row["currency"],
                    total=total,
                    amount_paid=paid,
                    balance=total - paid,
                    status=InvoiceStatus.PAID if paid == total else InvoiceStatus.OPEN,
                    # The file has no versions: every read is as new as the file.
                    version=SourceVersion(updated_at=datetime(2026, 1, 1, tzinfo=UTC)),
                )
            )
        return batch

    def backfill(self, progress: Callable[[int], None] | None = None) -> Iterator[SourceBatch]:
        yield self._batch()

    def poll(self, cursor: str | None) -> PollResult:
        return PollResult(batch=SourceBatch(), cursor="0")

    def start_cursor(self) -> str:
        return "0"

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> list[InboundEvent]:
        raise WebhookRejected("csv folders send no webhooks", status=404)

    def resolve(self, event: InboundEvent) -> SourceBatch:
        return SourceBatch()

    def health(self) -> SourceHealth:
        return SourceHealth(ok=Path(self.config.folder).is_dir(), message="folder missing")

    def close(self) -> None:
        return None


commands = typer.Typer(help="CSV invoice folders.", no_args_is_help=True)


@commands.command("count")
def count(
    ctx: typer.Context, config: Annotated[Path | None, typer.Option("--config")] = None
) -> None:
    """Print how many invoices the configured folder holds."""
    context: CommandContext = ctx.obj
    settings = context.settings(config)
    section = settings.section(NAME, CsvBooksSettings)
    if section is None:
        context.fail([f"{NAME}: the section is missing"])
    typer.echo(f"{len(CsvBooksSource(section)._batch().invoices)} invoices")


class CsvBooksConnector:
    name = NAME
    settings_section = CsvBooksSettings

    def build_source(
        self, settings: Any, *, credentials: CredentialStore, clock: Clock, secrets: list[str]
    ) -> CsvBooksSource:
        section = settings.section(NAME, CsvBooksSettings)
        assert section is not None
        return CsvBooksSource(section)

    def source_emulator(self, *, clock: Clock, seed: int = 0) -> Any:
        raise NotImplementedError("a folder needs no emulator")

    def commands(self) -> typer.Typer:
        return commands


connector = CsvBooksConnector()
