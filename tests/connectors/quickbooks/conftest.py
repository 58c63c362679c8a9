"""Shared fixtures for the QuickBooks connector tests: the emulator served on loopback, a
connected source, and the contract samples."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from arbridge_quickbooks.emulator import QuickBooksEmulator
from arbridge_quickbooks.plugin import connector
from arbridge_quickbooks.settings import QuickBooksSettings
from arbridge_quickbooks.source import QuickBooksSource

from arbridge.clock import FakeClock
from arbridge.testing import LoopbackServer
from arbridge.testing.credentials import MemoryCredentialStore

SAMPLES = Path("/work/shared/contracts/quickbooks/samples")
XSD = Path("/work/shared/contracts/quickbooks/xsd")


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text(), parse_float=Decimal)


def sample_bytes(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


class Sleeps:
    """Records waits instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@dataclass
class Company:
    """An emulated company on loopback, the settings pointing at it, and a token store."""

    emulator: QuickBooksEmulator
    server: LoopbackServer
    settings: QuickBooksSettings
    credentials: MemoryCredentialStore
    clock: FakeClock
    sleeps: Sleeps

    def connect(self, state: str = "state-1") -> str:
        url = connector.authorization_url(self.settings, state)
        answer = httpx.get(url)
        assert answer.status_code == 302
        return connector.complete_authorization(
            self.settings,
            self.credentials,
            answer.headers["location"],
            state=state,
            clock=self.clock,
        )

    def source(self, settings: QuickBooksSettings | None = None) -> QuickBooksSource:
        return connector.build_source(
            settings or self.settings,
            credentials=self.credentials,
            clock=self.clock,
            secrets=[self.settings.client_secret.get_secret_value()],
            sleep=self.sleeps,
        )

    def requests(self) -> int:
        total: int = self.emulator.stats()["total"]
        return total


@pytest.fixture
def company(clock: FakeClock) -> Iterator[Company]:
    emulator = QuickBooksEmulator(clock=clock)
    with LoopbackServer(emulator.app) as server:
        settings = QuickBooksSettings(**emulator.config(server.base_url))
        yield Company(emulator, server, settings, MemoryCredentialStore(), clock, Sleeps())


@pytest.fixture
def connected(company: Company) -> Iterator[tuple[Company, QuickBooksSource]]:
    company.connect()
    source = company.source()
    try:
        yield company, source
    finally:
        source.close()
