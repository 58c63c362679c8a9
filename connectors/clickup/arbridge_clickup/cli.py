"""``arbridge clickup``: ClickUp set-up commands (the webhook collectors' changes arrive by).

Mounted by the ``arbridge`` program under the connector's name (see ``plugin.commands``); the
config and the credential store come from the command's context object.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from arbridge.api import (
    AuthError,
    CommandContext,
    ConfigError,
    ConfigOption,
    CredentialStore,
    Settings,
    TransientError,
)

# Read back by the webhook server through the connector's ``webhook_secret``.
CREDENTIAL_NAME = "clickup_webhook"

clickup_app = typer.Typer(rich_markup_mode=None, help="ClickUp set-up.", no_args_is_help=True)
webhook_app = typer.Typer(
    rich_markup_mode=None, help="The webhook ClickUp posts task changes to.", no_args_is_help=True
)
clickup_app.add_typer(webhook_app, name="webhook")

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="Endpoint ClickUp posts to (default: server.public_url + /webhooks/clickup).",
    ),
]


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
    settings: Settings, credentials: CredentialStore, url: str | None, *, transport: Any = None
) -> str:
    """Register (or reuse) the webhook and store its id and secret encrypted; returns the id."""
    from arbridge_clickup.webhook_admin import create_webhook

    endpoint = endpoint_url(settings, url)
    try:
        webhook_id, secret = create_webhook(settings, endpoint, transport=transport)
    except AuthError as exc:
        raise ConfigError([f"clickup.token: {exc}"]) from None
    except TransientError as exc:
        raise ConfigError([f"clickup: ClickUp could not be reached ({exc}); try again"]) from None
    credentials.save(
        CREDENTIAL_NAME, {"webhook_id": webhook_id, "secret": secret, "endpoint": endpoint}
    )
    return str(webhook_id)


@webhook_app.command("create")
def webhook_create(ctx: typer.Context, config: ConfigOption = None, url: UrlOption = None) -> None:
    """Register the webhook (reusing one for the same URL) and store its secret encrypted."""
    context: CommandContext = ctx.obj
    settings = context.settings(config)
    try:
        endpoint = endpoint_url(settings, url)
        # The store before ClickUp: without ARBRIDGE_SECRET_KEY nothing is registered.
        credentials = context.credentials(settings)
        webhook_id = register_webhook(settings, credentials, endpoint)
    except ConfigError as error:
        context.fail(error.problems)
    # The secret stays in the store: it is the key that proves a delivery came from ClickUp.
    typer.echo(f"ClickUp webhook {webhook_id} registered; its secret is stored encrypted")
