"""Prometheus metrics of one daemon, on a registry of its own (tests build many apps)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector


class _StoreGauges(Collector):
    """Queue depths read from the store at scrape time, so they are true across processes."""

    def __init__(self, read: Callable[[], dict[str, float]]) -> None:
        self._read = read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            values = self._read()
        except Exception:
            return
        for name, value in sorted(values.items()):
            yield GaugeMetricFamily(f"arbridge_{name}", name.replace("_", " "), value=value)


class Metrics:
    def __init__(self, store_gauges: Callable[[], dict[str, float]] | None = None) -> None:
        self.registry = CollectorRegistry()
        self.received = Counter(
            "arbridge_webhooks_received",
            "Verified webhook events stored in the inbox.",
            ["provider"],
            registry=self.registry,
        )
        self.duplicates = Counter(
            "arbridge_webhooks_duplicate",
            "Webhook events already in the inbox (re-deliveries).",
            ["provider"],
            registry=self.registry,
        )
        self.rejected = Counter(
            "arbridge_webhooks_rejected",
            "Webhook deliveries refused (signature, size, content type, body).",
            ["provider", "status"],
            registry=self.registry,
        )
        self.ack_seconds = Histogram(
            "arbridge_webhook_ack_seconds",
            "Time from request to acknowledgement, durable write included.",
            ["provider"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
        )
        if store_gauges is not None:
            self.registry.register(_StoreGauges(store_gauges))

    def totals(self) -> dict[str, Any]:
        """Counter totals by provider, for the demo's summary and ``arbridge status``."""
        out: dict[str, dict[str, float]] = {"received": {}, "duplicate": {}, "rejected": {}}
        for name, metric in (
            ("received", self.received),
            ("duplicate", self.duplicates),
            ("rejected", self.rejected),
        ):
            for family in metric.collect():
                for sample in family.samples:
                    if sample.name.endswith("_total"):
                        provider = sample.labels["provider"]
                        out[name][provider] = out[name].get(provider, 0) + sample.value
        return out
