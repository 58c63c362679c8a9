"""Entry point that lets arbridge discover the Stripe connector."""

from __future__ import annotations

from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import stripe

from arbridge.api import (
    Clock,
    ConfigError,
    CredentialStore,
    InvoiceSource,
    Settings,
    SourceConnector,
    SourceEmulator,
)
from arbridge_stripe.client import StripeApi
from arbridge_stripe.settings import StripeSettings
from arbridge_stripe.source import StripeSource

if TYPE_CHECKING:
    from arbridge_stripe.emulator import StripeEmulator


class StripeConnector:
    name = "stripe"
    settings_section = StripeSettings

    def build_source(
        self,
        settings: Settings | StripeSettings,
        *,
        credentials: CredentialStore,
        clock: Clock,
        secrets: list[str],
        http_client: stripe.HTTPClient | None = None,
    ) -> StripeSource:
        """The source for ``settings.stripe``. Stripe keys live in the config, so
        ``credentials`` is not used. Raises ``ConfigError`` when the section is missing."""
        del credentials
        if isinstance(settings, StripeSettings):
            config, zone = settings, ZoneInfo("UTC")
        else:
            section = settings.section("stripe", StripeSettings)
            if section is None:
                raise ConfigError(["stripe: section missing; add stripe.api_key to enable Stripe"])
            config, zone = section, ZoneInfo(settings.company.timezone)
        api = StripeApi(config, secrets=secrets, http_client=http_client)
        return StripeSource(config, api=api, clock=clock, zone=zone)

    def source_emulator(self, *, clock: Clock, seed: int = 0) -> StripeEmulator:
        # Imported here so that running against the real Stripe never loads the emulator.
        from arbridge_stripe.emulator import StripeEmulator

        return StripeEmulator(clock=clock, seed=seed)


connector = StripeConnector()

if TYPE_CHECKING:
    # mypy checks here that the classes keep matching the engine's protocols.
    def _conforms(settings: StripeSettings, store: CredentialStore, clock: Clock) -> None:
        entry: SourceConnector = connector
        source: InvoiceSource = connector.build_source(
            settings, credentials=store, clock=clock, secrets=[]
        )
        emulator: SourceEmulator = connector.source_emulator(clock=clock)
        del entry, source, emulator
