"""The entry point: discovery, building from the full settings, and what it refuses."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from arbridge_stripe.emulator import StripeEmulator
from arbridge_stripe.plugin import StripeConnector, connector
from arbridge_stripe.webhooks import to_inbound

from arbridge.clock import FakeClock
from arbridge.errors import ConfigError
from arbridge.ports.connector import discover
from arbridge.settings import Settings
from arbridge.testing import LoopbackServer
from arbridge.testing.credentials import MemoryCredentialStore

from .kit import START


def full_settings(stripe: dict[str, object] | None, timezone: str = "UTC") -> Settings:
    return Settings(
        clickup={"token": "pk_test_token", "list_id": "901"},
        stripe=stripe,
        company={"timezone": timezone},
    )


def test_entry_point_is_discovered() -> None:
    found = discover()["stripe"]
    assert isinstance(found, StripeConnector)
    assert found.name == "stripe"


def test_missing_section_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"stripe\.api_key"):
        connector.build_source(
            full_settings(None),
            credentials=MemoryCredentialStore(),
            clock=FakeClock(START),
            secrets=[],
        )


def test_source_emulator_and_company_timezone() -> None:
    clock = FakeClock(START)
    emulator = connector.source_emulator(clock=clock, seed=5)
    assert isinstance(emulator, StripeEmulator)
    customer = emulator.add_customer("Tokyo KK")
    invoice = emulator.issue_invoice(
        customer,
        currency="JPY",
        amount=Decimal(120000),
        issue_date=date(2026, 3, 2),
        due_date=date(2026, 4, 1),
        terms="Net 30",
    )
    clock.advance(timedelta(days=1))
    emulator.pay_invoice(invoice, Decimal(120000))
    with LoopbackServer(emulator.app) as server:
        config = {**emulator.config(server.base_url), "max_network_retries": 0}
        assert set(config) >= {"api_key", "api_base", "webhook_secret"}
        source = connector.build_source(
            full_settings(config, timezone="Asia/Tokyo"),
            credentials=MemoryCredentialStore(),
            clock=clock,
            secrets=[],
        )
        paid = next(e for e in emulator.state.events if e["type"] == "invoice.paid")
        [resolved] = source.resolve(to_inbound(paid, "default")).invoices
        source.close()
    # Paid at 09:00 UTC on 3 March: 18:00 the same day in Tokyo.
    assert (resolved.issue_date, resolved.due_date, resolved.paid_date) == (
        date(2026, 3, 2),
        date(2026, 4, 1),
        date(2026, 3, 3),
    )
    assert repr(source) == "StripeSource(account='default')"
    assert emulator.api_key not in repr(source)
    emulator.close()
