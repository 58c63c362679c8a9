"""Entry point that lets arbridge discover the QuickBooks Online connector."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import httpx
import typer

from arbridge.api import Clock, ConfigError, CredentialStore, Settings, SystemClock
from arbridge_quickbooks import auth
from arbridge_quickbooks.auth import PENDING_NAME
from arbridge_quickbooks.client import QuickBooksClient
from arbridge_quickbooks.settings import QuickBooksSettings
from arbridge_quickbooks.source import QuickBooksSource

if TYPE_CHECKING:
    from arbridge_quickbooks.emulator import QuickBooksEmulator


def _section(settings: Any) -> QuickBooksSettings:
    """Accept the whole ``Settings`` or its ``quickbooks`` section."""
    if isinstance(settings, QuickBooksSettings):
        return settings
    if isinstance(settings, Settings):
        section = settings.section("quickbooks", QuickBooksSettings)
        if section is None:
            raise ConfigError(["quickbooks: the section is missing; add client_id and secret"])
        return section
    raise TypeError(f"expected Settings or QuickBooksSettings, got {type(settings).__name__}")


def _http(config: QuickBooksSettings, transport: httpx.BaseTransport | None) -> httpx.Client:
    return httpx.Client(timeout=httpx.Timeout(config.timeout_s), transport=transport)


class QuickBooksConnector:
    name = "quickbooks"
    settings_section = QuickBooksSettings

    def build_source(
        self,
        settings: Any,
        *,
        credentials: CredentialStore,
        clock: Clock,
        secrets: list[str],
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> QuickBooksSource:
        """The source for the connected company. Builds without network calls; when no company
        is connected yet, ``health()`` says so and reads raise ``AuthError``."""
        config = _section(settings)
        http = _http(config, transport)
        tokens = auth.TokenManager(config, credentials, clock, http)
        client = QuickBooksClient(config, tokens, http, secrets=secrets, sleep=sleep)
        return QuickBooksSource(config, tokens, client, http, clock)

    def commands(self) -> typer.Typer:
        """``arbridge quickbooks ...``."""
        from arbridge_quickbooks.cli import quickbooks_app

        return quickbooks_app

    def source_emulator(self, *, clock: Clock, seed: int = 0) -> QuickBooksEmulator:
        # Imported here so that running against the real QuickBooks never loads the emulator.
        from arbridge_quickbooks.emulator import QuickBooksEmulator

        return QuickBooksEmulator(clock=clock, seed=seed)

    def authorization_url(self, settings: Any, state: str) -> str:
        return auth.authorization_url(_section(settings), state)

    def complete_authorization(
        self,
        settings: Any,
        credentials: CredentialStore,
        redirect_url: str,
        *,
        state: str,
        clock: Clock | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> str:
        """Check the redirect, exchange its code and store the tokens; the realm id."""
        config = _section(settings)
        query = parse_qs(urlsplit(redirect_url.strip()).query)

        def one(name: str) -> str:
            values = query.get(name) or [""]
            return values[0]

        if one("error"):
            raise ConfigError(
                [f"quickbooks connect: Intuit answered {one('error')!r}; approve the app and retry"]
            )
        if one("state") != state:
            raise ConfigError(
                [
                    "quickbooks connect: the redirect's state does not match this attempt; "
                    "paste the URL of the redirect that followed this authorization link"
                ]
            )
        if not one("code") or not one("realmId"):
            raise ConfigError(
                [
                    "quickbooks connect: the redirect URL has no code or realmId; paste the full "
                    "address the browser was sent to"
                ]
            )
        with _http(config, transport) as http:
            tokens = auth.exchange_code(
                http,
                config,
                credentials,
                clock or SystemClock(),
                code=one("code"),
                realm_id=one("realmId"),
            )
        return tokens.realm_id

    def begin_authorization(self, settings: Any, credentials: CredentialStore) -> str:
        """A fresh ``state``, kept in the store so that whoever receives Intuit's redirect
        (the CLI's listener or the daemon's callback route) can finish; the URL to open."""
        state = secrets.token_urlsafe(24)
        credentials.save(PENDING_NAME, {"state": state})
        return self.authorization_url(settings, state)

    def complete_pending(
        self,
        settings: Any,
        credentials: CredentialStore,
        redirect_url: str,
        *,
        clock: Clock | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> str:
        """``complete_authorization`` with the state saved by ``begin_authorization``; for the
        daemon's ``/oauth/quickbooks/callback``. The state is single-use."""
        pending = credentials.load(PENDING_NAME) or {}
        state = str(pending.get("state") or "")
        if not state:
            raise ConfigError(
                ["quickbooks connect: no connection was started; run `arbridge quickbooks connect`"]
            )
        realm = self.complete_authorization(
            settings, credentials, redirect_url, state=state, clock=clock, transport=transport
        )
        credentials.save(PENDING_NAME, {"state": None, "realm_id": realm})
        return realm


connector = QuickBooksConnector()
