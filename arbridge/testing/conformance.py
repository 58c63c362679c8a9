"""Conformance checks a connector runs in its own tests: that its entry-point object is a plug-in
the engine can use, and that what its source returns is canonical.

    from arbridge.testing.conformance import check_connector, check_source_batches

    def test_plugin_conforms() -> None:
        assert check_connector(connector) == []

Each check returns the problems found (empty: conforms), so a test shows all of them at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from arbridge.model.invoice import SOURCE_NAME, Customer, Dispute, Invoice, Payment
from arbridge.ports.connector import (
    CollectorConnector,
    CommandConnector,
    Connector,
    SinkConnector,
)
from arbridge.ports.source import OAuthConnector, SourceBatch, SourceConnector
from arbridge.settings import ConnectorSettings, Settings


def check_connector(connector: Any) -> list[str]:
    """The entry-point object: a valid name, at least one role, well-formed capabilities."""
    if not isinstance(connector, Connector):
        return ["the entry-point object has no name"]
    name = connector.name
    problems: list[str] = []
    if not SOURCE_NAME.fullmatch(name):
        problems.append(f"{name!r}: a name is lower-case letters, digits and _ after a letter")
    if name in Settings.model_fields:
        problems.append(f"{name!r}: the name is taken by an engine config section")
    roles = [
        role
        for role, kind in (("source", SourceConnector), ("sink", SinkConnector))
        if isinstance(connector, kind)
    ]
    if not roles:
        problems.append(f"{name}: neither a source (build_source) nor a sink (build_sink)")
    section = getattr(connector, "settings_section", None)
    if section is None and roles:
        problems.append(f"{name}: a source or sink needs a settings_section to be configured")
    elif section is not None and not (
        isinstance(section, type) and issubclass(section, ConnectorSettings)
    ):
        problems.append(f"{name}: settings_section must subclass arbridge.api.ConnectorSettings")
    if isinstance(connector, CommandConnector):
        import typer

        if not isinstance(connector.commands(), typer.Typer):
            problems.append(f"{name}: commands() must return a typer.Typer")
    if isinstance(connector, CollectorConnector) and not isinstance(connector, SinkConnector):
        problems.append(f"{name}: collectors' webhooks come from a task sink")
    if isinstance(connector, OAuthConnector) and not isinstance(connector, SourceConnector):
        problems.append(f"{name}: the OAuth callback is served for sources only")
    return problems


def check_source_batches(name: str, batches: Iterable[SourceBatch]) -> list[str]:
    """Every object of the batches carries the connector's name as its source, and every
    invoice's customer is in a batch (customers before the invoices that name them)."""
    problems: list[str] = []
    customers: set[tuple[str, str]] = set()
    for batch in batches:
        for customer in batch.customers:
            customers.add((customer.source_account, customer.source_id))
        objects: list[Customer | Invoice | Payment | Dispute] = [
            *batch.customers,
            *batch.invoices,
            *batch.payments,
            *batch.disputes,
        ]
        for obj in objects:
            if obj.source != name:
                problems.append(f"{type(obj).__name__} {obj.source_id}: source {obj.source!r}")
        for invoice in batch.invoices:
            if (invoice.source_account, invoice.customer_id) not in customers:
                problems.append(f"invoice {invoice.source_id}: its customer came after it")
    return problems
