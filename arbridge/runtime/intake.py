"""Everything that brings changes in: source pollers, the webhook inbox and its worker, and the
web context the HTTP server serves them with."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Engine, text

from arbridge.clock import Clock
from arbridge.errors import ConfigError, WebhookRejected
from arbridge.loop.inbox import Handler, InboxProcessor
from arbridge.loop.ingest import BatchApplier, Ingestor
from arbridge.loop.polling import SourcePoller, SourceState
from arbridge.ports.connector import discover
from arbridge.ports.source import CredentialStore, InboundEvent, InvoiceSource
from arbridge.settings import Settings
from arbridge.store import inbox
from arbridge.store.db import transaction
from arbridge.store.inbox_writer import GroupCommitter
from arbridge.web.app import OAuthCallback, Verifier, WebContext
from arbridge.web.metrics import Metrics

log = structlog.get_logger(__name__)

SOURCE_NAMES = ("quickbooks", "stripe")


def configured_sources(settings: Settings) -> list[str]:
    return [name for name in SOURCE_NAMES if getattr(settings, name) is not None]


def credential_store(settings: Settings, engine: Engine, clock: Clock) -> CredentialStore | None:
    """The encrypted token store: required with QuickBooks (its tokens live there), used for
    the ClickUp webhook secret whenever ARBRIDGE_SECRET_KEY is set."""
    import os

    from arbridge.store.credentials import KEY_ENV, SqlCredentialStore, key_from_env

    if settings.quickbooks is None and not os.environ.get(KEY_ENV, "").strip():
        return None
    return SqlCredentialStore(engine, key_from_env(), clock)


def source_builders(
    settings: Settings, credentials: CredentialStore | None, clock: Clock
) -> dict[str, Callable[[], InvoiceSource]]:
    """How to build each configured source; a missing connector package is a ConfigError."""
    names = configured_sources(settings)
    if not names:
        return {}
    connectors = discover()
    problems = [
        f"{name}: the arbridge-{name} connector is not installed"
        for name in names
        if name not in connectors
    ]
    if problems:
        raise ConfigError(problems)
    builders: dict[str, Callable[[], InvoiceSource]] = {}
    for name in names:
        connector: Any = connectors[name]

        def build(connector: Any = connector) -> InvoiceSource:
            source: InvoiceSource = connector.build_source(
                settings,
                credentials=credentials,
                clock=clock,
                secrets=settings.secrets(),
            )
            return source

        builders[name] = build
    return builders


class Intake:
    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        clock: Clock,
        target: Ingestor,
        *,
        builders: Mapping[str, Callable[[], InvoiceSource]] | None = None,
        credentials: CredentialStore | None = None,
        extra_handlers: Mapping[str, Handler] | None = None,
        extra_verifiers: Mapping[str, Verifier] | None = None,
        oauth_callbacks: Mapping[str, OAuthCallback] | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.clock = clock
        self.applier = BatchApplier(target)
        if credentials is None and builders is None:
            credentials = credential_store(settings, engine, clock)
        self.credentials = credentials
        if builders is None:
            builders = source_builders(settings, credentials, clock)
        self.pollers = {
            name: SourcePoller(name, build, self.applier, engine, clock)
            for name, build in builders.items()
        }
        handlers: dict[str, Handler] = {name: self._resolver(name) for name in self.pollers}
        handlers.update(extra_handlers or {})
        sync = settings.sync
        self.inbox = InboxProcessor(
            engine,
            clock,
            handlers,
            lease=timedelta(seconds=sync.lease_s),
            retry_base=sync.retry_base_s,
            retry_max=sync.retry_max_s,
        )
        self.metrics = Metrics(self._gauges)
        self.writer = GroupCommitter(engine)
        self._verifiers: dict[str, Verifier] = {name: self._verifier(name) for name in self.pollers}
        self._verifiers.update(extra_verifiers or {})
        self._oauth = dict(oauth_callbacks or {})
        if settings.quickbooks is not None and credentials is not None and not oauth_callbacks:
            self._oauth["quickbooks"] = self._quickbooks_callback(credentials)

    def _quickbooks_callback(self, credentials: CredentialStore) -> OAuthCallback:
        def complete(redirect_url: str) -> str:
            connector: Any = discover()["quickbooks"]
            realm = str(
                connector.complete_pending(
                    self.settings, credentials, redirect_url, clock=self.clock
                )
            )
            # New tokens: a source disconnected by a refused token is rebuilt on its next poll.
            poller = self.pollers.get("quickbooks")
            if poller is not None:
                poller.close()
            log.info("quickbooks connected", realm=realm)
            return realm

        return complete

    def _resolver(self, name: str) -> Handler:
        def handle(event: InboundEvent) -> None:
            batch = self.pollers[name].resolve(event)
            self.applier.apply(batch, reason=f"{name} webhook {event.kind}")

        return handle

    def _verifier(self, name: str) -> Verifier:
        def verify(headers: Mapping[str, str], body: bytes) -> list[InboundEvent]:
            try:
                source = self.pollers[name].current()
            except ConfigError as exc:
                raise WebhookRejected(
                    f"{name} is not usable: {exc.problems[0]}", status=503
                ) from None
            return source.verify_webhook(headers, body)

        return verify

    def add_provider(self, name: str, verifier: Verifier, handler: Handler) -> None:
        """Accept webhooks from ``name`` (ClickUp) and process its stored events with
        ``handler``."""
        self._verifiers[name] = verifier
        self.inbox.handlers[name] = handler

    def poll_interval(self, name: str) -> float:
        section = getattr(self.settings, name, None)
        interval: float = (
            self.settings.sync.interval_s if section is None else section.poll_interval_s
        )
        return interval

    def poll_all(self) -> None:
        for poller in self.pollers.values():
            poller.poll_once()

    def web_context(self) -> WebContext:
        return WebContext(
            engine=self.engine,
            clock=self.clock,
            metrics=self.metrics,
            verifiers=self._verifiers,
            readiness=self.readiness,
            max_body_bytes=self.settings.server.max_body_bytes,
            on_stored=self.inbox.wake.set,
            oauth_callbacks=self._oauth,
            store=self.writer.store,
        )

    def _gauges(self) -> dict[str, float]:
        with transaction(self.engine) as session:
            stats = inbox.stats(session)
        return {"inbox_pending": stats.pending, "inbox_failed": stats.failed}

    def source_states(self) -> dict[str, SourceState]:
        return {name: SourceState.load(self.engine, name) for name in self.pollers}

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        problems: list[str] = []
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:
            return False, {"problems": ["store: the database cannot be reached"]}
        now = self.clock.now()
        sources: dict[str, Any] = {}
        for name, state in self.source_states().items():
            sources[name] = state.as_dict()
            interval = self.poll_interval(name)
            limit = timedelta(seconds=interval * self.settings.server.stale_poll_intervals)
            if state.auth_refused:
                problems.append(f"{name}: {state.last_error}")
            elif state.last_ok_at is None:
                problems.append(
                    f"{name}: the first poll has not finished yet"
                    + (f" (last attempt: {state.last_error})" if state.last_error else "")
                )
            elif now - datetime.fromisoformat(state.last_ok_at) > limit:
                problems.append(
                    f"{name}: no successful poll since {state.last_ok_at}"
                    + (f" ({state.last_error})" if state.last_error else "")
                )
        return not problems, {"problems": problems, "sources": sources}

    def close(self) -> None:
        self.writer.close()
        for poller in self.pollers.values():
            poller.close()


class _NoCredentials:
    """Used when no encrypted store is configured: only ``clickup.webhook_secret`` counts."""

    def load(self, name: str) -> dict[str, Any] | None:
        return None

    def save(self, name: str, value: dict[str, Any]) -> None:
        raise ConfigError([f"credentials {name!r}: set ARBRIDGE_SECRET_KEY to store tokens"])


class CollectorIntake:
    """ClickUp's side of the inbox: verifies its webhooks and applies collectors' changes.

    The reader (it needs the List's schema and arbridge's own user id) and the webhook secret
    are looked up on first use, so a daemon started before `arbridge clickup webhook create`
    picks the secret up without a restart.
    """

    def __init__(self, target: Any, connector: Any) -> None:
        self.target = target
        self.connector = connector
        self._secret: str | None = None
        self._reader: Any = None
        self._lock = threading.Lock()

    def _key(self) -> str | None:
        if self._secret is None:
            credentials = self.target.intake.credentials or _NoCredentials()
            self._secret = self.connector.webhook_secret(self.target.settings, credentials)
        return self._secret

    def reader(self) -> Any:
        with self._lock:
            if self._reader is None:
                settings = self.target.settings
                self._reader = self.connector.build_inbound(settings, secrets=settings.secrets())
            return self._reader

    def verify(self, headers: Mapping[str, str], body: bytes) -> list[InboundEvent]:
        key = self._key()
        if key is None:
            raise WebhookRejected(
                "no ClickUp webhook is registered here: run `arbridge clickup webhook create`",
                status=404,
            )
        events: list[InboundEvent] = self.connector.verify_webhook(key, headers, body)
        # ClickUp also reports arbridge's own writes: acknowledged, never stored.
        return [event for event in events if self.reader().concerns_collectors(event)]

    def handle(self, event: InboundEvent) -> None:
        from arbridge.loop.collector import handle_collector_event

        handle_collector_event(
            self.target.engine,
            self.reader(),
            event,
            self.target.clock.now(),
            reconciler=self.target.reconciler,
            rules=self.target.rules,
        )

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
