"""The public API for connectors: the only module of arbridge a connector package imports.

A connector (a source of invoices, a task sink, a message channel) implements the protocols
here, raises the errors here, reads time from the clock here, and is found by its entry point in
the ``arbridge.connectors`` group. Everything else in ``arbridge`` may change without notice; an
import-linter contract in the test suite keeps connectors to this module.
"""

from arbridge.clock import Clock, FakeClock, SystemClock
from arbridge.errors import (
    ArbridgeError,
    AuthError,
    ConfigError,
    ConnectorError,
    NotFoundError,
    PermanentError,
    RateLimitedError,
    TransientError,
)
from arbridge.logging import SecretRedactor
from arbridge.model.invoice import (
    Customer,
    Dispute,
    DisputeStatus,
    Invoice,
    InvoiceStatus,
    Payment,
    Source,
    SourceVersion,
)
from arbridge.model.money import Money, quantize
from arbridge.model.task import CHOICES, FACTS, TASK_STATUSES, FactKind, TaskSpec, normalise_fact
from arbridge.ports.collector import CollectorChange, CollectorKind, CollectorReader
from arbridge.ports.connector import (
    Connector,
    Emulator,
    RemoteTask,
    RuleFieldValue,
    SubtaskSpec,
    TaskChanges,
    TaskSink,
)
from arbridge.ports.source import (
    CredentialStore,
    DeletedInvoice,
    InboundEvent,
    InvoiceSource,
    PollResult,
    SourceBatch,
    SourceConnector,
    SourceEmulator,
    SourceHealth,
    WebhookRejected,
)
from arbridge.settings import ConnectorSettings, Settings

__all__ = [
    "CHOICES",
    "FACTS",
    "TASK_STATUSES",
    "ArbridgeError",
    "AuthError",
    "Clock",
    "CollectorChange",
    "CollectorKind",
    "CollectorReader",
    "ConfigError",
    "Connector",
    "ConnectorError",
    "ConnectorSettings",
    "CredentialStore",
    "Customer",
    "DeletedInvoice",
    "Dispute",
    "DisputeStatus",
    "Emulator",
    "FactKind",
    "FakeClock",
    "InboundEvent",
    "Invoice",
    "InvoiceSource",
    "InvoiceStatus",
    "Money",
    "NotFoundError",
    "Payment",
    "PermanentError",
    "PollResult",
    "RateLimitedError",
    "RemoteTask",
    "RuleFieldValue",
    "SecretRedactor",
    "Settings",
    "Source",
    "SourceBatch",
    "SourceConnector",
    "SourceEmulator",
    "SourceHealth",
    "SourceVersion",
    "SubtaskSpec",
    "SystemClock",
    "TaskChanges",
    "TaskSink",
    "TaskSpec",
    "TransientError",
    "WebhookRejected",
    "normalise_fact",
    "quantize",
]
