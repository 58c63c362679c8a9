"""Shared helpers for the Stripe tests: a served emulator, its connector and a tiny applier.

``fixtures3_ar.json`` beside this file holds, unmodified, the AR-relevant resources of
Stripe's official ``openapi/fixtures3.json`` (see its ``_source``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from arbridge_stripe.emulator import StripeEmulator
from arbridge_stripe.plugin import connector
from arbridge_stripe.settings import StripeSettings
from arbridge_stripe.source import StripeSource

from arbridge.clock import FakeClock
from arbridge.model.invoice import Customer, Dispute, Invoice
from arbridge.ports.source import DeletedInvoice, SourceBatch
from arbridge.testing import LoopbackServer
from arbridge.testing.credentials import MemoryCredentialStore

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@cache
def fixtures() -> dict[str, Any]:
    path = Path(__file__).with_name("fixtures3_ar.json")
    resources: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))["resources"]
    return resources


def sample(name: str) -> dict[str, Any]:
    """A fresh copy of the official sample object ``name`` (``invoice``, ``dispute``...)."""
    copy: dict[str, Any] = json.loads(json.dumps(fixtures()[name]))
    return copy


@dataclass
class Served:
    clock: FakeClock
    emulator: StripeEmulator
    base_url: str
    built: list[StripeSource] = field(default_factory=list)

    def settings(self, **overrides: Any) -> StripeSettings:
        values: dict[str, Any] = {**self.emulator.config(self.base_url), "max_network_retries": 0}
        values.update(overrides)
        return StripeSettings(**values)

    def source(self, **overrides: Any) -> StripeSource:
        """A source against the emulator; closed when the emulator stops."""
        built = connector.build_source(
            self.settings(**overrides),
            credentials=MemoryCredentialStore(),
            clock=self.clock,
            secrets=[],
        )
        self.built.append(built)
        return built


@contextmanager
def served(seed: int = 0) -> Iterator[Served]:
    clock = FakeClock(START)
    emulator = StripeEmulator(clock=clock, seed=seed)
    with LoopbackServer(emulator.app) as server:
        running = Served(clock, emulator, server.base_url)
        try:
            yield running
        finally:
            for source in running.built:
                source.close()
            emulator.close()


@dataclass
class Ledger:
    """Applies batches the way the engine's store does (``arbridge.store.repo.save_invoice``):
    an incoming copy older than the stored one is ignored, an equal or newer one replaces it."""

    customers: dict[str, Customer] = field(default_factory=dict)
    invoices: dict[str, Invoice] = field(default_factory=dict)
    disputes: dict[str, Dispute] = field(default_factory=dict)
    deleted: dict[str, DeletedInvoice] = field(default_factory=dict)
    rejected: int = 0

    def apply(self, batch: SourceBatch) -> None:
        for customer in batch.customers:
            self.customers[customer.key] = customer
        for invoice in batch.invoices:
            stored = self.invoices.get(invoice.key)
            if stored is not None and stored.version.is_newer_than(invoice.version):
                self.rejected += 1
                continue
            self.invoices[invoice.key] = invoice
        for dispute in batch.disputes:
            key = f"{dispute.source.value}:{dispute.source_account}:{dispute.source_id}"
            held = self.disputes.get(key)
            if held is not None and held.version.is_newer_than(dispute.version):
                self.rejected += 1
                continue
            self.disputes[key] = dispute
        for gone in batch.deleted:
            self.deleted[gone.key] = gone
            self.invoices.pop(gone.key, None)

    def state(self) -> dict[str, Any]:
        """What a clean run must agree on: canonical content without read times."""
        return {
            "invoices": {
                k: v.model_dump(mode="json", exclude={"version"}) for k, v in self.invoices.items()
            },
            "disputes": {
                k: v.model_dump(mode="json", exclude={"version"}) for k, v in self.disputes.items()
            },
            "customers": {k: v.model_dump(mode="json") for k, v in self.customers.items()},
            "deleted": sorted(self.deleted),
        }
