from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import Engine

from arbridge.clock import FakeClock
from arbridge.model.task import FACTS
from arbridge.runtime.app import App
from arbridge.settings import Settings
from arbridge.testing.fake_sink import FakeSink
from arbridge.testing.fake_source import FakeSource
from arbridge.testing.loopback import LoopbackServer
from arbridge.web.app import create_web_app

SECRET_TOKEN = "pk_intake_secret_token_123"


@dataclass
class Rig:
    app: App
    source: FakeSource
    sink: FakeSink
    http: httpx.Client

    def deliver(self, event: dict[str, object]) -> httpx.Response:
        body, headers = self.source.delivery(event)
        return self.http.post("/webhooks/stripe", content=body, headers=headers)

    def process(self) -> None:
        self.app.intake.inbox.drain()
        self.app.drain(1)


def settings() -> Settings:
    return Settings.model_validate(
        {
            "database_url": "sqlite://",
            "clickup": {"token": SECRET_TOKEN, "list_id": "1"},
            "insight": {"enabled": False},
            "server": {"max_body_bytes": 4096},
        }
    )


@pytest.fixture
def rig(engine: Engine, clock: FakeClock) -> Iterator[Rig]:
    source = FakeSource(clock)
    sink = FakeSink(frozenset(FACTS))
    config = settings()

    app = App(config, engine, sink, clock, builders={"stripe": lambda: source})
    web = create_web_app(app.intake.web_context())
    with LoopbackServer(web) as server, httpx.Client(base_url=server.base_url) as http:
        yield Rig(app, source, sink, http)
