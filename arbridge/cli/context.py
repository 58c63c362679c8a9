"""What commands get from the ``arbridge`` program: typer's context object.

Commands never reach for module-level providers: the root command puts a :class:`CliContext`
on ``ctx.obj`` and each command takes what it needs from it (the config loader, the credential
store, the data behind ``rules explain`` and ``report``). Tests invoke a command group with
their own ``obj``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from sqlalchemy import Engine

from arbridge.errors import ConfigError
from arbridge.ports.source import CredentialStore
from arbridge.settings import Settings, load_settings

EXIT_CONFIG = 2

# One --config option for every command, the connectors' included.
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        envvar="ARBRIDGE_CONFIG",
        help="YAML config file (default: ARBRIDGE_CONFIG, else environment variables only).",
    ),
]


def fail_config(problems: list[str], code: int = EXIT_CONFIG) -> NoReturn:
    typer.echo("arbridge: configuration problems:", err=True)
    for problem in problems:
        typer.echo(f"  {problem}", err=True)
    raise typer.Exit(code)


def configured_settings(config: Path | None) -> Settings:
    """The validated config with logging set up (secrets redacted), or exit 2."""
    from arbridge.logging import configure

    try:
        settings = load_settings(config)
    except ConfigError as error:
        fail_config(error.problems)
    configure(level=settings.log.level, fmt=settings.log.format, secrets=settings.secrets())
    return settings


def configured_store(settings: Settings) -> Engine:
    """The migrated store, or exit 2 naming what is wrong with database_url."""
    from arbridge.runtime.app import open_store

    try:
        return open_store(settings)
    except ConfigError as error:
        fail_config(error.problems)


@dataclass
class CliContext:
    """``ctx.obj`` of every command. ``rules_data`` and ``report_data`` build what ``rules
    explain/plan`` and ``report`` read, from the command's ``--config``; None: not available."""

    rules_data: Callable[[Path | None], Any] | None = None
    report_data: Callable[[Path | None], Any] | None = None

    def settings(self, config: Path | None) -> Settings:
        return configured_settings(config)

    def credentials(self, settings: Settings) -> CredentialStore:
        from arbridge.runtime.app import open_store
        from arbridge.store.credentials import SqlCredentialStore, key_from_env

        key = key_from_env()
        return SqlCredentialStore(open_store(settings), key)

    def connector(self, name: str) -> Any:
        from arbridge.ports.connector import discover

        found = discover().get(name)
        if found is None:
            fail_config([f"{name}: the arbridge-{name} connector is not installed"])
        return found

    def fail(self, problems: list[str], code: int = EXIT_CONFIG) -> NoReturn:
        fail_config(problems, code)


def cli_context(ctx: typer.Context) -> CliContext:
    """The command's :class:`CliContext` (an empty one when a group runs on its own)."""
    found = ctx.find_object(CliContext)
    return found if found is not None else CliContext()
