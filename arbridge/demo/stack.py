"""The whole product on loopback: the three emulators, the engine and its webhook server.

The demo, the end-to-end tests and ``bench/webhooks.py`` all start arbridge this way, so what
they show is the same wiring the daemon runs: QuickBooks connected through its OAuth consent
page, the ClickUp webhook registered through the API, every provider's webhooks signed and
sent over HTTP to ``/webhooks/{provider}``.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

from arbridge.clock import Clock
from arbridge.ports.connector import discover
from arbridge.ports.source import SourceEmulator
from arbridge.runtime.app import App
from arbridge.settings import Settings
from arbridge.store.credentials import SqlCredentialStore, new_key
from arbridge.store.db import make_engine
from arbridge.web.app import create_web_app
from arbridge.web.server import LoopbackServer

SOURCES = ("quickbooks", "stripe")


class ProductStack:
    """``with ProductStack(clock) as stack:`` gives ``stack.app``, ``stack.sources`` (the
    source emulators by name), ``stack.clickup`` (the ClickUp emulator) and
    ``stack.daemon_url``. ``extra`` is merged into the settings (rules, sync, insight...)."""

    def __init__(
        self,
        clock: Clock,
        *,
        seed: int = 1,
        rate_limit: int = 10_000,
        workdir: Path | None = None,
        extra: dict[str, Any] | None = None,
        sources: tuple[str, ...] = SOURCES,
    ) -> None:
        self.clock = clock
        self.seed = seed
        self.rate_limit = rate_limit
        self.workdir = workdir
        self.extra = extra or {}
        self.source_names = sources
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> Self:
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stack.close()

    def _start(self) -> None:
        stack, clock = self._stack, self.clock
        self.connectors: dict[str, Any] = dict(discover())
        self.clickup: Any = self.connectors["clickup"].emulator(
            rate_limit=self.rate_limit, seed=self.seed
        )
        self.sources: dict[str, SourceEmulator] = {
            name: self.connectors[name].source_emulator(clock=clock, seed=self.seed)
            for name in self.source_names
        }
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="arbridge-"))
        self.clickup_server = stack.enter_context(LoopbackServer(self.clickup.app))
        servers = {
            name: stack.enter_context(LoopbackServer(em.app)) for name, em in self.sources.items()
        }
        base = Path(self.workdir or tmp)
        config: dict[str, Any] = {
            "database_url": f"sqlite:///{base / 'arbridge.db'}",
            "clickup": {
                **self.clickup.config(self.clickup_server.base_url),
                "requests_per_minute": self.rate_limit,
            },
            **{name: em.config(servers[name].base_url) for name, em in self.sources.items()},
            "server": {"port": 0},
        }
        for section, values in self.extra.items():
            if isinstance(values, dict) and isinstance(config.get(section), dict):
                config[section] = {**config[section], **values}
            else:
                config[section] = values
        self.settings = Settings.model_validate(config)
        # The token store on its own connection pool: it is made before the App's.
        store_engine = make_engine(self.settings.database_url)
        stack.callback(store_engine.dispose)
        credentials = SqlCredentialStore(store_engine, new_key(), clock)
        self.app = App.from_settings(self.settings, clock, credentials=credentials)
        stack.callback(self.app.close)
        self.daemon = stack.enter_context(
            LoopbackServer(create_web_app(self.app.intake.web_context()))
        )
        # Closed before the servers stop: their keep-alive connections would hold shutdown up.
        for emulator in (*self.sources.values(), self.clickup.app.dispatcher):
            closer = getattr(emulator, "close", None)
            if closer is not None:
                stack.callback(closer)
        if "quickbooks" in self.sources:
            self.realm = self.connect_quickbooks()
        for name, emulator in self.sources.items():
            emulator.subscribe(f"{self.daemon_url}/webhooks/{name}")
        self.register_clickup_webhook()

    @property
    def daemon_url(self) -> str:
        return self.daemon.base_url

    def connect_quickbooks(self) -> str:
        """The OAuth grant as a person gives it, on the emulator's consent page."""
        connector = self.connectors["quickbooks"]
        credentials = self.app.intake.credentials
        url = connector.begin_authorization(self.settings, credentials)
        consent = httpx.get(url, follow_redirects=False)
        realm: str = connector.complete_pending(
            self.settings, credentials, consent.headers["location"], clock=self.clock
        )
        return realm

    def register_clickup_webhook(self) -> None:
        endpoint = f"{self.daemon_url}/webhooks/clickup"
        webhook_id, secret = self.connectors["clickup"].create_webhook(self.settings, endpoint)
        assert self.app.intake.credentials is not None
        self.app.intake.credentials.save(
            "clickup_webhook", {"webhook_id": webhook_id, "secret": secret, "endpoint": endpoint}
        )

    def deliver(self) -> int:
        """Send every webhook the emulators have queued, then process the inbox."""
        sent = sum(emulator.flush_webhooks() for emulator in self.sources.values())
        sent += len(self.clickup.app.dispatcher.flush())
        self.app.intake.inbox.drain()
        return sent

    def settle(self) -> None:
        """Deliver, process and apply everything outstanding."""
        self.deliver()
        self.app.drain(self.settings.sync.workers)
