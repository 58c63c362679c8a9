"""``arbridge clickup``: ClickUp set-up commands (the webhook collectors' changes arrive by)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from arbridge.errors import AuthError, ConfigError, TransientError
from arbridge.settings import Settings, load_settings

# Read back by the webhook server through the connector's ``webhook_secret``.
CREDENTIAL_NAME = "clickup_webhook"
EXIT_CONFIG = 2

clickup_app = typer.Typer(help="ClickUp set-up.", no_args_is_help=True)
webhook_app = typer.Typer(help="The webhook ClickUp posts task changes to.", no_args_is_help=True)
clickup_app.add_typer(webhook_app, name="webhook")

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        envvar="ARBRIDGE_CONFIG",
        help="YAML config file (default: ARBRIDGE_CONFIG, else environment variables only).",
    ),
]
UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="Endpoint ClickUp posts to (default: server.public_url + /webhooks/clickup).",
    ),
]


def _fail(error: ConfigError) -> NoReturn:
    typer.echo("arbridge: configuration problems:", err=True)
    for problem in error.problems:
        typer.echo(f"  {problem}", err=True)
    raise typer.Exit(EXIT_CONFIG)


def endpoint_url(settings: Settings, url: str | None) -> str:
    """``--url``, else the daemon's public address plus the ClickUp webhook path."""
    if url:
        return url
    public = settings.server.public_url
    if not public:
        raise ConfigError(
            [
                "server.public_url: is not set; set it to the address ClickUp reaches this "
                "server at, or pass --url"
            ]
        )
    return public.rstrip("/") + "/webhooks/clickup"


def register_webhook(
    settings: Settings, url: str | None, *, key: str, transport: Any = None
) -> str:
    """Register (or reuse) the webhook and store its id and secret encrypted; returns the id."""
    from arbridge.ports.connector import discover
    from arbridge.runtime.app import open_store
    from arbridge.store.credentials import SqlCredentialStore

    endpoint = endpoint_url(settings, url)
    connector: Any = discover().get("clickup")
    if connector is None or not hasattr(connector, "create_webhook"):
        raise ConfigError(["clickup: the arbridge-clickup connector is not installed"])
    credentials = SqlCredentialStore(open_store(settings), key)
    try:
        webhook_id, secret = connector.create_webhook(settings, endpoint, transport=transport)
    except AuthError as exc:
        raise ConfigError([f"clickup.token: {exc}"]) from None
    except TransientError as exc:
        raise ConfigError([f"clickup: ClickUp could not be reached ({exc}); try again"]) from None
    credentials.save(
        CREDENTIAL_NAME, {"webhook_id": webhook_id, "secret": secret, "endpoint": endpoint}
    )
    return str(webhook_id)


@webhook_app.command("create")
def webhook_create(config: ConfigOption = None, url: UrlOption = None) -> None:
    """Register the webhook (reusing one for the same URL) and store its secret encrypted."""
    from arbridge.logging import configure
    from arbridge.store.credentials import key_from_env

    try:
        settings = load_settings(config)
        configure(level=settings.log.level, fmt=settings.log.format, secrets=settings.secrets())
        webhook_id = register_webhook(settings, url, key=key_from_env())
    except ConfigError as error:
        _fail(error)
    # The secret stays in the store: it is the key that proves a delivery came from ClickUp.
    typer.echo(f"ClickUp webhook {webhook_id} registered; its secret is stored encrypted")
