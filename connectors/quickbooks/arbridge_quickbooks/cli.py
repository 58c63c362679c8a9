"""``arbridge quickbooks connect``: the OAuth 2.0 connection of a QuickBooks Online company.

Mounted by the ``arbridge`` program under the connector's name (see ``plugin.commands``); the
config and the credential store come from the command's context object. Intuit sends the
browser back to ``quickbooks.redirect_uri`` with a code and the company's realm id. This
command listens there itself for the length of the connection, or, when the daemon
already serves that address, lets the daemon's callback finish and waits for the tokens to
appear. On a headless server, paste the address the browser was sent to with
``--redirect-url``.
"""

from __future__ import annotations

import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Annotated, Any, NoReturn
from urllib.parse import urlsplit

import typer

from arbridge.api import (
    ArbridgeError,
    CommandContext,
    ConfigError,
    ConnectorError,
    CredentialStore,
    Settings,
)
from arbridge_quickbooks.auth import PENDING_NAME
from arbridge_quickbooks.settings import QuickBooksSettings

quickbooks_app = typer.Typer(
    rich_markup_mode=None, help="QuickBooks Online connection.", no_args_is_help=True
)


@quickbooks_app.callback()
def _group() -> None:
    """QuickBooks Online connection."""


EXIT_CONFIG = 2
EXIT_FAILED = 1


def _fail(problems: list[str], code: int = EXIT_CONFIG) -> NoReturn:
    typer.echo("arbridge: quickbooks connect failed:", err=True)
    for problem in problems:
        typer.echo(f"  {problem}", err=True)
    raise typer.Exit(code)


def _section(settings: Settings) -> QuickBooksSettings:
    section = settings.section("quickbooks", QuickBooksSettings)
    if section is None:
        _fail(
            [
                "quickbooks: the section is missing; add client_id and client_secret (see "
                "docs/setup-quickbooks.md)"
            ]
        )
    return section


class _Catch(BaseHTTPRequestHandler):
    """Keeps the first request to the callback path and answers the browser."""

    path_wanted = "/"
    caught: list[str]

    def do_GET(self) -> None:
        if urlsplit(self.path).path != self.path_wanted:
            self.send_response(404)
            self.end_headers()
            return
        self.caught.append(self.path)
        body = b"arbridge: QuickBooks answered; you can close this tab and return to the terminal."
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return  # the query string holds the authorization code


def listen_for_redirect(redirect_uri: str, timeout_s: float) -> str | None:
    """The full redirect URL received on ``redirect_uri``'s port and path, or None when the
    port is taken (the daemon is serving it). Raises ``ConfigError`` on timeout."""
    parts = urlsplit(redirect_uri)
    caught: list[str] = []
    handler = type("Catch", (_Catch,), {"path_wanted": parts.path or "/", "caught": caught})
    try:
        server = HTTPServer((parts.hostname or "localhost", parts.port or 80), handler)
    except OSError:
        return None
    server.timeout = 0.5
    deadline = time.monotonic() + timeout_s
    try:
        while not caught and time.monotonic() < deadline:
            server.handle_request()
    finally:
        server.server_close()
    if not caught:
        raise ConfigError(
            [
                f"no redirect reached {redirect_uri} within {timeout_s:g}s; run "
                "connect again, or pass the browser's address with --redirect-url"
            ]
        )
    return f"{parts.scheme}://{parts.netloc}{caught[0]}"


def wait_for_daemon(credentials: Any, timeout_s: float, poll_s: float = 1.0) -> str:
    """The daemon's callback finishes the connection: wait until it has."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        pending = credentials.load(PENDING_NAME) or {}
        if pending.get("state") is None and pending.get("realm_id"):
            return str(pending["realm_id"])
        time.sleep(poll_s)
    raise ConfigError(
        [
            f"the daemon did not finish the connection within {timeout_s:g}s; paste "
            "the browser's address with --redirect-url"
        ]
    )


def connect_company(
    connector: Any,
    settings: Settings,
    credentials: Any,
    *,
    redirect_url: str | None,
    timeout_s: float,
    paste: bool = False,
    echo: Any = typer.echo,
    prompt: Any = typer.prompt,
) -> str:
    """The whole connection; returns the realm id.

    With ``redirect_url`` the connection started by an earlier ``connect`` is finished (its
    state is in the store); otherwise a new one starts and the redirect is awaited on the
    local listener, through the daemon, or pasted (``paste``).
    """
    if redirect_url is not None:
        realm: str = connector.complete_pending(settings, credentials, redirect_url)
        return realm
    url = connector.begin_authorization(settings, credentials)
    echo("Open this address in a browser and approve arbridge for your company:")
    echo(f"  {url}")
    if paste:
        redirect_url = str(prompt("Paste the address the browser was sent to")).strip()
    else:
        redirect_uri = _section(settings).redirect_uri
        echo(f"Waiting for Intuit to send the browser back to {redirect_uri} ...")
        redirect_url = listen_for_redirect(redirect_uri, timeout_s)
        if redirect_url is None:
            echo("That address is served by the running daemon; waiting for it to finish ...")
            return wait_for_daemon(credentials, timeout_s)
    finished: str = connector.complete_pending(settings, credentials, redirect_url)
    return finished


@quickbooks_app.command()
def connect(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", envvar="ARBRIDGE_CONFIG", help="YAML config file."),
    ] = None,
    redirect_url: Annotated[
        str | None,
        typer.Option(
            "--redirect-url",
            help="Finish the last started connection with the address the browser was sent to.",
        ),
    ] = None,
    paste: Annotated[
        bool,
        typer.Option("--paste", help="Do not listen; ask for the browser's address (headless)."),
    ] = False,
    timeout_s: Annotated[
        float, typer.Option("--timeout", help="Seconds to wait for the redirect.")
    ] = 600.0,
) -> None:
    """Connect a QuickBooks Online company: authorize, exchange the code, store the tokens."""
    context: CommandContext = ctx.obj
    connector = context.connector("quickbooks")
    settings = context.settings(config)
    _section(settings)
    try:
        credentials: CredentialStore = context.credentials(settings)
        realm = connect_company(
            connector,
            settings,
            credentials,
            redirect_url=redirect_url,
            timeout_s=timeout_s,
            paste=paste,
        )
    except ConfigError as error:
        _fail(error.problems)
    except ConnectorError as error:
        _fail([str(error)], EXIT_FAILED)
    except ArbridgeError as error:
        _fail([str(error)], EXIT_FAILED)
    typer.echo(f"Connected QuickBooks company {realm}; tokens are stored encrypted.")
