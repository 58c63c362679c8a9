"""Configuration: a YAML file with ``${ENV_VAR}`` interpolation, overridden by ``ARBRIDGE_*``.

Errors name the file position (``path:line:col``) or the environment variable that is wrong, and
every problem is reported at once through :class:`ConfigError`.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Mapping
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, ClassVar, Self, TypeVar, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    create_model,
    field_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from arbridge.errors import ConfigError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConnectorSettings(_Section):
    """The base of a connector's config section: the connector names its subclass as
    ``settings_section`` and the section's key in the config is the connector's name. Unknown
    keys are refused like everywhere else in the config."""


class ServerSettings(_Section):
    """The daemon's HTTP server: webhooks, OAuth callback, health and metrics."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    # The address the outside world reaches this server at (webhook registration, OAuth).
    public_url: str | None = None
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # /readyz fails when a source's last successful poll is older than this many intervals.
    stale_poll_intervals: float = Field(default=3.0, gt=0)


class CompanySettings(_Section):
    timezone: str = "UTC"
    holiday_country: str | None = None
    holiday_subdivision: str | None = None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name such as Europe/Berlin)"
            ) from exc
        return value


class SyncSettings(_Section):
    interval_s: float = Field(default=300.0, gt=0)
    workers: int = Field(default=2, ge=1, le=32)
    retry_base_s: float = Field(default=5.0, gt=0)
    retry_max_s: float = Field(default=900.0, gt=0)
    lease_s: float = Field(default=120.0, gt=0)
    verify_every_s: float = Field(default=86400.0, gt=0)


class InsightSettings(_Section):
    enabled: bool = True
    refit_days: float = Field(default=7.0, gt=0)


class RulesSettings(_Section):
    directory: str = "rules"
    packs: list[str] = Field(default_factory=list)
    vars: dict[str, dict[str, Any]] = Field(default_factory=dict)


class LogSettings(_Section):
    level: str = "INFO"
    format: str = Field(default="auto", pattern="^(auto|json|console)$")


CONNECTOR_GROUP = "arbridge.connectors"

SectionT = TypeVar("SectionT", bound=BaseModel)


class Settings(BaseSettings):
    """The engine's sections. The sections of the installed connectors are added by
    :func:`settings_class`; ``Settings(...)`` and ``Settings.model_validate(...)`` use that
    class, so a connector's section is validated like the engine's own."""

    model_config = SettingsConfigDict(
        env_prefix="ARBRIDGE_",
        env_nested_delimiter="__",
        extra="forbid",
        case_sensitive=False,
    )
    # The installed task sinks; set on the class :func:`settings_class` builds.
    installed_sinks: ClassVar[tuple[str, ...]] = ()

    database_url: str = "sqlite:///arbridge.db"
    # The connector tasks are mirrored into; defaults to the only installed sink.
    sink: str | None = None
    server: ServerSettings = Field(default_factory=ServerSettings)
    company: CompanySettings = Field(default_factory=CompanySettings)
    sync: SyncSettings = Field(default_factory=SyncSettings)
    insight: InsightSettings = Field(default_factory=InsightSettings)
    rules: RulesSettings = Field(default_factory=RulesSettings)
    log: LogSettings = Field(default_factory=LogSettings)

    def __new__(cls, *args: Any, **kwargs: Any) -> Self:
        # ``Settings(...)`` builds the class that knows the installed connectors' sections.
        target = settings_class(sink=_named_sink(kwargs)) if cls is Settings else cls
        return super().__new__(cast("type[Self]", target))

    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> Self:
        if cls is Settings:
            target = settings_class(sink=_named_sink(obj if isinstance(obj, dict) else {}))
            return cast("Self", target.model_validate(obj, *args, **kwargs))
        return super().model_validate(obj, *args, **kwargs)

    @field_validator("sink")
    @classmethod
    def _installed_sink(cls, value: str | None) -> str | None:
        if value is not None and value not in cls.installed_sinks:
            installed = ", ".join(cls.installed_sinks) or "none"
            raise ValueError(f"{value!r} is not an installed task sink (installed: {installed})")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment beats the file: secrets and per-deployment overrides live in the env.
        return (env_settings, init_settings)

    def section(self, name: str, kind: type[SectionT]) -> SectionT | None:
        """The connector section ``name`` (None when the config has none), as ``kind``."""
        value = getattr(self, name, None)
        if value is None:
            return None
        if not isinstance(value, kind):
            raise TypeError(f"section {name!r} is a {type(value).__name__}, not {kind.__name__}")
        return value

    def connector_sections(self) -> dict[str, ConnectorSettings]:
        """The connectors' sections present in the config, by connector name."""
        return {
            name: value
            for name in type(self).model_fields
            if isinstance(value := getattr(self, name), ConnectorSettings)
        }

    def secrets(self) -> list[str]:
        """Every secret value in the config, of every section, for log redaction."""
        return [value for value in _secret_values(self) if value]


def _secret_values(model: BaseModel) -> list[str]:
    found: list[str] = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif isinstance(value, BaseModel):
            found.extend(_secret_values(value))
    return found


def installed_connectors() -> dict[str, Any]:
    """The installed connectors' entry-point objects by name (group ``arbridge.connectors``)."""
    return {entry.name: entry.load() for entry in entry_points(group=CONNECTOR_GROUP)}


def installed_sources() -> tuple[str, ...]:
    """The installed source connectors' names: the values an invoice's source takes."""
    return tuple(sorted(n for n, c in installed_connectors().items() if hasattr(c, "build_source")))


def settings_class(
    connectors: Mapping[str, Any] | None = None, *, sink: str | None = None
) -> type[Settings]:
    """``Settings`` with a section for each connector that brings a ``settings_section``.

    The task sink's section (``sink``, else the only installed sink) is required; the others
    are optional. ``connectors`` defaults to the installed ones.
    """
    found = installed_connectors() if connectors is None else connectors
    sections = tuple(
        sorted(
            (name, section)
            for name, connector in found.items()
            if (section := getattr(connector, "settings_section", None)) is not None
        )
    )
    sinks = tuple(sorted(name for name, c in found.items() if hasattr(c, "build_sink")))
    if sink is None and len(sinks) == 1:
        sink = sinks[0]
    return _settings_class(sections, sinks, sink)


@functools.cache
def _settings_class(
    sections: tuple[tuple[str, type[ConnectorSettings]], ...],
    sinks: tuple[str, ...],
    sink: str | None,
) -> type[Settings]:
    fields: dict[str, Any] = {}
    for name, section in sections:
        if name in Settings.model_fields:
            raise ConfigError([f"connector {name!r}: its name is an engine config section"])
        fields[name] = (section, ...) if name == sink else (section | None, None)
    if sink is not None:
        fields["sink"] = (str, sink)
    elif len(sinks) > 1:
        fields["sink"] = (str, ...)
    model = create_model("Settings", __base__=Settings, __module__=__name__, **fields)
    model.installed_sinks = sinks
    return model


def _named_sink(data: Mapping[str, Any]) -> str | None:
    """The sink the config or the environment names, before validation."""
    for name, value in os.environ.items():
        if name.upper() == "ARBRIDGE_SINK" and value.strip():
            return value.strip()
    named = data.get("sink")
    return named if isinstance(named, str) and named else None


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class _Positions:
    """Maps a key path (``("clickup", "token")``) to the YAML position it came from."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.marks: dict[tuple[str | int, ...], tuple[int, int]] = {}

    def record(self, node: yaml.Node, prefix: tuple[str | int, ...] = ()) -> None:
        self.marks[prefix] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = str(key_node.value)
                self.marks[(*prefix, key)] = (
                    key_node.start_mark.line + 1,
                    key_node.start_mark.column + 1,
                )
                self.record(value_node, (*prefix, key))
                self.marks[(*prefix, key)] = (
                    key_node.start_mark.line + 1,
                    key_node.start_mark.column + 1,
                )
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self.record(item, (*prefix, index))

    def where(self, loc: tuple[str | int, ...]) -> str:
        for end in range(len(loc), -1, -1):
            mark = self.marks.get(tuple(loc[:end]))
            if mark is not None:
                return f"{self.path}:{mark[0]}:{mark[1]}"
        return f"{self.path}:1:1"


def _interpolate(
    value: Any, loc: tuple[str | int, ...], problems: list[tuple[tuple[str | int, ...], str]]
) -> Any:
    if isinstance(value, dict):
        return {k: _interpolate(v, (*loc, str(k)), problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, (*loc, i), problems) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        value = os.environ.get(name)
        if value:
            return value
        # Like the shell and Compose: ":-" also replaces a set-but-empty variable.
        if default is not None:
            return default
        if value is not None:
            return ""
        problems.append((loc, f"environment variable {name} is not set"))
        return ""

    return _ENV_REF.sub(substitute, value)


def _env_name(loc: tuple[str | int, ...]) -> str:
    return "ARBRIDGE_" + "__".join(str(part).upper() for part in loc)


def load_settings(path: str | Path | None = None) -> Settings:
    """Load and validate the configuration, raising ConfigError with every problem found."""
    raw: dict[str, Any] = {}
    positions: _Positions | None = None
    problems: list[str] = []
    env_problems: list[tuple[tuple[str | int, ...], str]] = []
    if path is not None:
        file = Path(path)
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError([f"{file}: cannot read config file: {exc.strerror}"]) from exc
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            loaded = yaml.safe_load(text)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            where = f"{file}:{mark.line + 1}:{mark.column + 1}" if mark else f"{file}:1:1"
            # "from None": PyYAML's own message quotes the offending line, which may hold a token.
            raise ConfigError([f"{where}: invalid YAML: {exc.problem}"]) from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError([f"{file}:1:1: the config must be a mapping of sections"])
        positions = _Positions(str(file))
        if node is not None:
            positions.record(node)
        raw = _interpolate(loaded, (), env_problems)
        problems.extend(
            f"{positions.where(loc)}: {'.'.join(map(str, loc))}: {msg}" for loc, msg in env_problems
        )
    model = settings_class(sink=_named_sink(raw))
    try:
        settings = model(**raw)
    except SettingsError:
        problems.extend(_unparsable_env(model))
        raise ConfigError(problems) from None
    except ValidationError as exc:
        # In file order: the connectors' sections are validated after the engine's own.
        errors = sorted(exc.errors(), key=lambda e: _file_order(positions, tuple(e["loc"])))
        for error in errors:
            loc = tuple(error["loc"])
            # An unset variable already explains why the value it fed is empty or wrong.
            if any(loc[: len(bad)] == bad for bad, _ in env_problems):
                continue
            dotted = ".".join(str(part) for part in loc)
            message = error["msg"]
            if message.startswith("Value error, "):
                message = message[len("Value error, ") :]
            if error["type"] == "missing":
                message = f"is required: set it in the config file or as {_env_name(loc)}"
            elif error["type"] == "extra_forbidden":
                message = "unknown key (check the spelling against config.example.yaml)"
            env_value = _env_name(loc) in {k.upper() for k in os.environ}
            if env_value:
                where = f"environment {_env_name(loc)}"
            elif (positions is not None and loc in positions.marks) or positions is not None:
                where = positions.where(loc)
            else:
                where = "config"
            problems.append(f"{where}: {dotted}: {message}")
        raise ConfigError(problems) from None
    if problems:
        raise ConfigError(problems)
    return settings


def _file_order(positions: _Positions | None, loc: tuple[str | int, ...]) -> tuple[int, int]:
    """Where a problem's key is in the file; (0, 0) when it is not there (env, missing)."""
    if positions is None:
        return (0, 0)
    for end in range(len(loc), -1, -1):
        mark = positions.marks.get(tuple(loc[:end]))
        if mark is not None:
            return mark
    return (0, 0)


def _unparsable_env(model: type[Settings]) -> list[str]:
    """Environment values for whole sections or mappings must be JSON; name the ones that aren't."""
    found = []
    for name, value in os.environ.items():
        upper = name.upper()
        if not upper.startswith("ARBRIDGE_"):
            continue
        try:
            json.loads(value)
        except ValueError:
            parts = upper.removeprefix("ARBRIDGE_").lower().split("__")
            section = model.model_fields.get(parts[0])
            if section is None:
                continue
            target: Any = section.annotation
            for part in parts[1:]:
                fields = getattr(target, "model_fields", {})
                target = fields[part].annotation if part in fields else None
            if target is not None and (hasattr(target, "model_fields") or "dict" in str(target)):
                found.append(
                    f'environment {upper}: must be a JSON object, e.g. \'{{"key": "value"}}\''
                )
    return found or ["environment: an ARBRIDGE_* value could not be parsed (JSON expected)"]
