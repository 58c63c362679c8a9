"""Fixtures for the Stripe connector tests: the emulator served on loopback, a source built by
the connector's entry point against it, and a webhook receiver that runs the source's own
verification on every delivery."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from arbridge_stripe.source import StripeSource

from arbridge.errors import WebhookRejected
from arbridge.ports.source import InboundEvent

from .kit import Served, served

RECEIVER_URL = "https://arbridge.example.test/webhooks/stripe"


@pytest.fixture
def env() -> Iterator[Served]:
    with served() as running:
        yield running


@pytest.fixture
def source(env: Served) -> StripeSource:
    return env.source()


@dataclass
class Receiver:
    """The daemon's webhook endpoint in miniature: verify, keep the events, answer."""

    source: StripeSource
    events: list[InboundEvent] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    fail_next: int = 0  # answer 500 this many times (the sender must retry)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.fail_next > 0:
            self.fail_next -= 1
            return httpx.Response(500)
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            self.events.extend(self.source.verify_webhook(headers, request.content))
        except WebhookRejected as exc:
            self.rejected.append(exc.reason)
            return httpx.Response(exc.status, json={"error": exc.reason})
        return httpx.Response(200, json={"received": True})


@pytest.fixture
def receiver(env: Served, source: StripeSource) -> Receiver:
    got = Receiver(source)
    env.emulator.sender.use_transport(httpx.MockTransport(got.handle))
    env.emulator.subscribe(RECEIVER_URL)
    return got
