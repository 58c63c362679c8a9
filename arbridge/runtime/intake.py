"""Everything that brings changes in: source pollers, the webhook inbox and its worker, and the
web context the HTTP server serves them with."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Engine, text

from arbridge.clock import Clock
from arbridge.errors import ConfigError, WebhookRejected
from arbridge.loop.collector import handle_collector_event
from arbridge.loop.inbox import InboxProcessor
from arbridge.loop.ingest import BatchApplier, Ingestor
from arbridge.loop.polling import SourcePoller, SourceState
from arbridge.loop.reconcile import Reconciler, ReconcileResult
from arbridge.loop.rules import RulesRunner
from arbridge.model.invoice import Customer, Invoice
from arbridge.ports.connector import (
    CollectorConnector,
    CollectorInbound,
    Connector,
    WebhookProvider,
    discover,
)
from arbridge.ports.source import (
    CredentialStore,
    InboundEvent,
    InvoiceSource,
    OAuthConnector,
    SourceConnector,
)
from arbridge.settings import Settings
from arbridge.store import inbox
from arbridge.store.db import transaction
from arbridge.store.inbox_writer import GroupCommitter
from arbridge.web.app import OAuthCallback, WebContext
from arbridge.web.metrics import Metrics

log = structlog.get_logger(__name__)


def source_connectors(
    settings: Settings, connectors: Mapping[str, Connector]
) -> dict[str, SourceConnector]:
    """The installed sources the config has a section for, by name."""
    return {
        name: connector
        for name, connector in connectors.items()
        if isinstance(connector, SourceConnector) and getattr(settings, name, None) is not None
    }


def credential_store(
    settings: Settings, engine: Engine, clock: Clock, connectors: Mapping[str, Connector]
) -> CredentialStore | None:
    """The encrypted token store: required by a configured OAuth source (its tokens live
    there), used for a sink's webhook secret whenever ARBRIDGE_SECRET_KEY is set."""
    import os

    from arbridge.store.credentials import KEY_ENV, SqlCredentialStore, key_from_env

    oauth = any(
        isinstance(c, OAuthConnector) for c in source_connectors(settings, connectors).values()
    )
    if not oauth and not os.environ.get(KEY_ENV, "").strip():
        return None
    return SqlCredentialStore(engine, key_from_env(), clock)


@dataclass(frozen=True)
class SourceBuilder:
    """Builds one configured source (again after its credentials were refused)."""

    name: str
    connector: SourceConnector
    settings: Settings
    credentials: CredentialStore | None
    clock: Clock

    def __call__(self) -> InvoiceSource:
        source = self.connector.build_source(
            self.settings,
            credentials=self.credentials or NoCredentials(),
            clock=self.clock,
            secrets=self.settings.secrets(),
        )
        # The source's name is what its invoices are stored and keyed under.
        if source.name != self.name:
            raise ConfigError([f"{self.name}: the connector built a source named {source.name!r}"])
        return source


def source_builders(
    settings: Settings,
    credentials: CredentialStore | None,
    clock: Clock,
    connectors: Mapping[str, Connector],
) -> dict[str, Callable[[], InvoiceSource]]:
    """How to build each configured source."""
    return {
        name: SourceBuilder(name, connector, settings, credentials, clock)
        for name, connector in source_connectors(settings, connectors).items()
    }


def invoice_event(previous: str | None, invoice: Invoice) -> str | None:
    """The rule event a change of stored status means, if any."""
    if previous is None:
        return "invoice.created"
    current = invoice.status.value
    if current == previous:
        return None
    if previous == "draft" and current == "open":
        return "invoice.finalized"
    return {
        "paid": "invoice.paid",
        "partially_paid": "invoice.partially_paid",
        "void": "invoice.voided",
        "disputed": "invoice.disputed",
    }.get(current)


class SourceChanges:
    """Where polls and webhooks deliver canonical invoices: stored, their task changes queued,
    and the rule event the change means fired."""

    def __init__(
        self, engine: Engine, reconciler: Reconciler, rules: RulesRunner | None, clock: Clock
    ) -> None:
        self.engine = engine
        self.reconciler = reconciler
        self.rules = rules
        self.clock = clock

    def ingest(
        self, invoice: Invoice, customer: Customer | None = None, *, reason: str = "source change"
    ) -> ReconcileResult:
        result = self.reconciler.upsert(invoice, customer, reason=reason)
        event = invoice_event(result.previous_status, invoice) if result.stored else None
        if event is not None and self.rules is not None:
            self.rules.event(event, invoice.key, self.clock.now())
        elif (
            result.stored and self.rules is not None and invoice.is_overdue(self.reconciler.today())
        ):
            # E.g. a due date moved into the past: "became overdue" must not wait for the tick.
            self.rules.check_overdue(self.clock.now(), [invoice.key])
        return result


class SourceWebhooks:
    """A source's webhooks: the source verifies a delivery on the request thread; a stored
    event is resolved to canonical objects on the inbox worker and applied."""

    def __init__(self, name: str, poller: SourcePoller, applier: BatchApplier) -> None:
        self.name = name
        self.poller = poller
        self.applier = applier

    def verify(self, headers: Mapping[str, str], body: bytes) -> list[InboundEvent]:
        try:
            source = self.poller.current()
        except ConfigError as exc:
            raise WebhookRejected(
                f"{self.name} is not usable: {exc.problems[0]}", status=503
            ) from None
        return source.verify_webhook(headers, body)

    def handle(self, event: InboundEvent) -> None:
        batch = self.poller.resolve(event)
        self.applier.apply(batch, reason=f"{self.name} webhook {event.kind}")


class OAuthCompletion:
    """``/oauth/{name}/callback``: finishes the connection a connect command started."""

    def __init__(
        self,
        connector: OAuthConnector,
        settings: Settings,
        credentials: CredentialStore,
        clock: Clock,
        poller: SourcePoller | None,
    ) -> None:
        self.connector = connector
        self.settings = settings
        self.credentials = credentials
        self.clock = clock
        self.poller = poller

    def __call__(self, redirect_url: str) -> str:
        account = self.connector.complete_pending(
            self.settings, self.credentials, redirect_url, clock=self.clock
        )
        # New tokens: a source disconnected by a refused token is rebuilt on its next poll.
        if self.poller is not None:
            self.poller.close()
        log.info("source connected", source=getattr(self.connector, "name", ""), account=account)
        return str(account)


class Intake:
    """The sources' pollers, every webhook provider and the inbox worker that handles what
    they stored. ``target`` receives canonical invoices (:class:`SourceChanges`)."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        clock: Clock,
        target: Ingestor,
        *,
        connectors: Mapping[str, Connector] | None = None,
        builders: Mapping[str, Callable[[], InvoiceSource]] | None = None,
        credentials: CredentialStore | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.clock = clock
        self.applier = BatchApplier(target)
        found = discover() if connectors is None else connectors
        if credentials is None and builders is None:
            credentials = credential_store(settings, engine, clock, found)
        self.credentials = credentials
        if builders is None:
            builders = source_builders(settings, credentials, clock, found)
        self.pollers = {
            name: SourcePoller(name, build, self.applier, engine, clock)
            for name, build in builders.items()
        }
        self.providers: dict[str, WebhookProvider] = {
            name: SourceWebhooks(name, poller, self.applier)
            for name, poller in self.pollers.items()
        }
        sync = settings.sync
        self.inbox = InboxProcessor(
            engine,
            clock,
            {name: provider.handle for name, provider in self.providers.items()},
            lease=timedelta(seconds=sync.lease_s),
            retry_base=sync.retry_base_s,
            retry_max=sync.retry_max_s,
        )
        self.metrics = Metrics(self._gauges)
        self.writer = GroupCommitter(engine)
        self._known = tuple(sorted(found))
        self._oauth: dict[str, OAuthCallback] = {}
        if credentials is not None:
            for name, connector in source_connectors(settings, found).items():
                if isinstance(connector, OAuthConnector):
                    self._oauth[name] = OAuthCompletion(
                        connector, settings, credentials, clock, self.pollers.get(name)
                    )

    def add_provider(self, name: str, provider: WebhookProvider) -> None:
        """Accept webhooks from ``name`` (a sink's collectors) and handle its stored events."""
        self.providers[name] = provider
        self.inbox.handlers[name] = provider.handle

    def poll_interval(self, name: str) -> float:
        """The source section's ``poll_interval_s``, else the sync interval."""
        section = getattr(self.settings, name, None)
        interval: float = getattr(section, "poll_interval_s", self.settings.sync.interval_s)
        return interval

    def poll_all(self) -> None:
        for poller in self.pollers.values():
            poller.poll_once()

    def web_context(self) -> WebContext:
        return WebContext(
            engine=self.engine,
            clock=self.clock,
            metrics=self.metrics,
            verifiers={name: provider.verify for name, provider in self.providers.items()},
            readiness=self.readiness,
            max_body_bytes=self.settings.server.max_body_bytes,
            on_stored=self.inbox.wake.set,
            oauth_callbacks=self._oauth,
            store=self.writer.store,
            known_providers=tuple(sorted({*self._known, *self.providers})),
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


class NoCredentials:
    """Used when no encrypted store is configured: nothing is stored, nothing is found."""

    def load(self, name: str) -> dict[str, Any] | None:
        return None

    def save(self, name: str, value: dict[str, Any]) -> None:
        raise ConfigError([f"credentials {name!r}: set ARBRIDGE_SECRET_KEY to store tokens"])


class CollectorWebhooks:
    """A task sink's webhooks: what collectors did in the task tool, as collector changes.

    The reader (it may need the sink's schema and arbridge's own user id) and the webhook
    secret are looked up on first use, so a daemon started before the webhook was registered
    picks the secret up without a restart.
    """

    def __init__(
        self,
        name: str,
        connector: CollectorConnector,
        settings: Settings,
        credentials: CredentialStore,
        engine: Engine,
        clock: Clock,
        *,
        reconciler: Reconciler,
        rules: RulesRunner | None,
    ) -> None:
        self.name = name
        self.connector = connector
        self.settings = settings
        self.credentials = credentials
        self.engine = engine
        self.clock = clock
        self.reconciler = reconciler
        self.rules = rules
        self._secret: str | None = None
        self._reader: CollectorInbound | None = None
        self._lock = threading.Lock()

    def _key(self) -> str | None:
        if self._secret is None:
            self._secret = self.connector.webhook_secret(self.settings, self.credentials)
        return self._secret

    def reader(self) -> CollectorInbound:
        with self._lock:
            if self._reader is None:
                self._reader = self.connector.build_inbound(
                    self.settings, secrets=self.settings.secrets()
                )
            return self._reader

    def verify(self, headers: Mapping[str, str], body: bytes) -> list[InboundEvent]:
        key = self._key()
        if key is None:
            raise WebhookRejected(
                f"no {self.name} webhook is registered here: run "
                f"`arbridge {self.name} webhook create`",
                status=404,
            )
        events = self.connector.verify_webhook(key, headers, body)
        # The task tool also reports arbridge's own writes: acknowledged, never stored.
        return [event for event in events if self.reader().concerns_collectors(event)]

    def handle(self, event: InboundEvent) -> None:
        handle_collector_event(
            self.engine,
            self.reader(),
            event,
            self.clock.now(),
            reconciler=self.reconciler,
            rules=self.rules,
        )

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
