"""What the engine needs from outside systems, and how connector packages are found.

Connector distributions (``arbridge-clickup`` and friends) register an object under the
``arbridge.connectors`` entry-point group; the engine never imports a vendor package by name.
A connector is a whole plug-in: its config section, its CLI commands, its webhooks, its OAuth
callback, its emulator and its part of the demo all come from that one object
(``docs/connectors.md``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, Protocol, runtime_checkable

from arbridge.errors import ConfigError
from arbridge.model.task import TaskSpec
from arbridge.ports.collector import CollectorReader
from arbridge.ports.source import CredentialStore, InboundEvent
from arbridge.settings import ConnectorSettings, Settings, installed_connectors

if TYPE_CHECKING:
    import typer


@dataclass(frozen=True)
class TaskChanges:
    """Core task attributes to change in one update request; ``None`` members stay untouched."""

    name: str | None = None
    description: str | None = None
    status: str | None = None
    due_date: str | None = None
    clear_due_date: bool = False
    priority: int | None = None
    clear_priority: bool = False
    assignees_add: tuple[str, ...] = ()
    assignees_remove: tuple[str, ...] = ()


@dataclass(frozen=True)
class SubtaskSpec:
    """A subtask a rule creates under an invoice's task. ``marker`` is unique to the action of
    one firing: the subtask carries it, so a retry finds the subtask instead of making another."""

    name: str
    marker: str
    assignees: tuple[str, ...] = ()  # e-mails
    due_date: date | None = None


RuleFieldValue = str | int | float | bool | date | None


@dataclass(frozen=True)
class RemoteTask:
    """A task as read back from the task tool, in canonical form (see ``normalise_fact``)."""

    task_id: str
    key: str | None
    name: str
    status: str | None
    due_date: str | None
    fields: dict[str, str | None] = field(default_factory=dict)


class TaskSink(Protocol):
    """A task tool that mirrors invoices (e.g. ClickUp). Every call is one API request at most,
    except ``find_task`` and ``iter_tasks`` which page."""

    def owned_facts(self) -> frozenset[str]:
        """Facts that are mapped to a field of the list; the planner writes only these."""
        ...

    def create_task(self, spec: TaskSpec) -> str:
        """Create the task with every owned field in one request; returns the task id."""
        ...

    def find_task(self, key: str) -> str | None:
        """The id of the task carrying this arbridge key, if one exists."""
        ...

    def update_task(self, task_id: str, changes: TaskChanges) -> None: ...

    def set_field(self, task_id: str, fact: str, value: str | None) -> None:
        """Set one owned fact's field (``None`` clears it)."""
        ...

    def post_comment(self, task_id: str, text: str) -> str: ...

    def find_comment(self, task_id: str, marker: str) -> str | None:
        """The id of a recent comment on the task whose text contains ``marker``."""
        ...

    def add_tag(self, task_id: str, tag: str) -> None:
        """Add a tag to the task; adding a tag it already has changes nothing."""
        ...

    def set_rule_field(self, task_id: str, name: str, value: RuleFieldValue) -> None:
        """Set the list's custom field called ``name`` (not one that mirrors a fact) to
        ``value`` (``None`` clears it); setting the same value again changes nothing."""
        ...

    def create_subtask(self, task_id: str, subtask: SubtaskSpec) -> str:
        """Create a subtask of the task, carrying ``subtask.marker``; returns its id."""
        ...

    def find_subtask(self, task_id: str, marker: str) -> str | None:
        """The id of the task's subtask carrying ``marker``, if one exists."""
        ...

    def iter_tasks(self) -> Iterator[RemoteTask]:
        """Every task of the list, closed ones included, read back in canonical form."""
        ...

    def close(self) -> None: ...


class Emulator(Protocol):
    """A local stand-in for an outside service, served over HTTP by the demo and the tests."""

    @property
    def app(self) -> Any:
        """The ASGI application."""
        ...

    def config(self, base_url: str) -> dict[str, Any]:
        """The connector's config section that points at this emulator served at ``base_url``."""
        ...

    def stats(self) -> dict[str, Any]:
        """``{"requests": {endpoint: n}, "total": n, "http_429": n}``."""
        ...


class WebhookProvider(Protocol):
    """Whoever sends webhooks to ``/webhooks/{name}``, in the two halves the inbox needs.

    ``verify`` runs on the request thread: it checks the signature over the raw body and splits
    the delivery into events (raising ``WebhookRejected``). The engine stores the events and
    only then acknowledges; ``handle`` runs later on the inbox worker, once per stored event.
    """

    def verify(self, headers: Mapping[str, str], body: bytes) -> list[InboundEvent]: ...

    def handle(self, event: InboundEvent) -> None: ...


@runtime_checkable
class Connector(Protocol):
    """The entry-point object of a connector distribution (group ``arbridge.connectors``).

    ``name`` is the entry point's name, the key of its config section, the name of its CLI
    command group and the ``{provider}`` of its webhook route. Everything else is optional and
    declared by implementing one of the small protocols below; the engine asks with
    ``isinstance`` and never with a vendor's name.
    """

    name: str


@runtime_checkable
class ConfiguredConnector(Protocol):
    """Brings a config section: a :class:`ConnectorSettings` subclass, validated with the rest
    of the config (``path:line:col`` problems, ``ARBRIDGE_<NAME>__<KEY>`` overrides)."""

    settings_section: type[ConnectorSettings]


@runtime_checkable
class CommandConnector(Protocol):
    """Brings CLI commands: a typer application mounted as ``arbridge <name> ...``. Its
    commands reach the config and the credential store through :class:`CommandContext`."""

    def commands(self) -> typer.Typer: ...


class CommandContext(Protocol):
    """What a command gets from the ``arbridge`` program, as typer's ``ctx.obj``."""

    def settings(self, config: Path | None) -> Settings:
        """The validated config (``--config``, else the environment); on problems it prints
        every one and exits 2."""
        ...

    def credentials(self, settings: Settings) -> CredentialStore:
        """The encrypted store in the configured database. Raises ``ConfigError`` when it
        cannot be opened (no ARBRIDGE_SECRET_KEY, unreachable database)."""
        ...

    def connector(self, name: str) -> Any:
        """The installed connector ``name`` (a command's own, without importing it)."""
        ...

    def fail(self, problems: list[str], code: int = 2) -> NoReturn:
        """Print the problems and exit with ``code`` (2: configuration)."""
        ...


@runtime_checkable
class SinkConnector(Protocol):
    """A task tool invoices are mirrored into (chosen by ``sink:`` in the config)."""

    name: str

    def build_sink(self, settings: Settings, *, secrets: list[str]) -> TaskSink: ...

    def emulator(self, *, rate_limit: int | None, seed: int = 0) -> Emulator: ...


class CollectorInbound(CollectorReader, Protocol):
    """Reads a sink's stored webhook events into collectors' changes."""

    def concerns_collectors(self, event: InboundEvent) -> bool:
        """False for events the engine must not store (e.g. arbridge's own writes echoed)."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class CollectorConnector(Protocol):
    """A sink that reports collectors' work (statuses, comments, promise dates) by webhook."""

    def webhook_secret(self, settings: Settings, credentials: CredentialStore) -> str | None:
        """The key deliveries are signed with; None while no webhook is registered."""
        ...

    def verify_webhook(
        self, secret: str, headers: Mapping[str, str], body: bytes
    ) -> list[InboundEvent]: ...

    def build_inbound(self, settings: Settings, *, secrets: list[str]) -> CollectorInbound: ...


def discover() -> Mapping[str, Connector]:
    """Installed connectors by name."""
    found: dict[str, Connector] = {}
    for name, connector in installed_connectors().items():
        if not isinstance(connector, Connector):
            raise ConfigError([f"connector {name!r}: its entry point has no name"])
        found[name] = connector
    return found
