"""The public API for connectors: the only module of arbridge a connector package imports.

A connector (a source of invoices, a task sink, a message channel) implements the protocols
here, raises the errors here, reads time from the clock here, and is found by its entry point in
the ``arbridge.connectors`` group. Everything else in ``arbridge`` may change without notice; an
import-linter contract in the test suite keeps connectors to this module.
"""

from arbridge.cli.context import ConfigOption
from arbridge.clock import Clock, FakeClock, SystemClock
from arbridge.errors import (
    ArbridgeError,
    AuthError,
    ConfigError,
    ConnectorError,
    MappingError,
    NotFoundError,
    PermanentError,
    RateLimitedError,
    TransientError,
    WebhookRejected,
)
from arbridge.http_errors import STATUS_ERRORS, StatusTable, make_error, retry_after_s
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
    CollectorConnector,
    CollectorInbound,
    CommandConnector,
    CommandContext,
    ConfiguredConnector,
    Connector,
    Emulator,
    RemoteTask,
    RuleFieldValue,
    SinkConnector,
    SubtaskSpec,
    TaskChanges,
    TaskSink,
    WebhookProvider,
)
from arbridge.ports.source import (
    CredentialStore,
    DeletedInvoice,
    InboundEvent,
    InvoiceSource,
    OAuthConnector,
    PollResult,
    SourceBatch,
    SourceConnector,
    SourceEmulator,
    SourceHealth,
)
from arbridge.retry import CALL_BACKOFF, Backoff, call_with_retries, retry_after_of
from arbridge.settings import ConnectorSettings, Settings, installed_sources

__all__ = [
    "CALL_BACKOFF",
    "CHOICES",
    "FACTS",
    "STATUS_ERRORS",
    "TASK_STATUSES",
    "ArbridgeError",
    "AuthError",
    "Backoff",
    "Clock",
    "CollectorChange",
    "CollectorConnector",
    "CollectorInbound",
    "CollectorKind",
    "CollectorReader",
    "CommandConnector",
    "CommandContext",
    "ConfigError",
    "ConfigOption",
    "ConfiguredConnector",
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
    "MappingError",
    "Money",
    "NotFoundError",
    "OAuthConnector",
    "Payment",
    "PermanentError",
    "PollResult",
    "RateLimitedError",
    "RemoteTask",
    "RuleFieldValue",
    "SecretRedactor",
    "Settings",
    "SinkConnector",
    "Source",
    "SourceBatch",
    "SourceConnector",
    "SourceEmulator",
    "SourceHealth",
    "SourceVersion",
    "StatusTable",
    "SubtaskSpec",
    "SystemClock",
    "TaskChanges",
    "TaskSink",
    "TaskSpec",
    "TransientError",
    "WebhookProvider",
    "WebhookRejected",
    "call_with_retries",
    "installed_sources",
    "make_error",
    "normalise_fact",
    "quantize",
    "retry_after_of",
    "retry_after_s",
]
