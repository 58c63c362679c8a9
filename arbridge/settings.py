"""Configuration: a YAML file with ``${ENV_VAR}`` interpolation, overridden by ``ARBRIDGE_*``.

Errors name the file position (``path:line:col``) or the environment variable that is wrong, and
every problem is reported at once through :class:`ConfigError`.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from arbridge.errors import ConfigError
from arbridge.model.task import FACTS, TASK_STATUSES

DEFAULT_STATUSES: dict[str, str] = {
    "draft": "draft",
    "open": "open",
    "overdue": "overdue",
    "partially_paid": "partially paid",
    "paid": "paid",
    "void": "void",
    "uncollectible": "uncollectible",
    "disputed": "disputed",
}

DEFAULT_FIELDS: dict[str, str] = {
    "arbridge_key": "arbridge key",
    "number": "Invoice number",
    "customer": "Customer",
    "source": "Source",
    "invoice_status": "Invoice status",
    "currency": "Currency",
    "total": "Invoice total",
    "amount_due": "Amount due",
    "issue_date": "Issue date",
    "due_date": "Due date",
    "aging": "Aging",
    "link": "Invoice link",
    "risk_score": "Risk score",
    "predicted_pay_date": "Predicted pay date",
    "queue_rank": "Queue rank",
    "invoice_checks": "Invoice checks",
}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClickUpSettings(_Section):
    token: SecretStr = Field(description="Personal token (pk_...) or OAuth access token.")
    base_url: str = "https://api.clickup.com/api/v2"
    # The webhook's HMAC key; `arbridge clickup webhook create` stores it in the store instead.
    webhook_secret: SecretStr | None = None
    # A date field collectors fill in when a customer promises to pay (read, never written).
    promise_to_pay_field: str | None = "Promise to pay date"
    list_id: str = Field(min_length=1)
    team_id: str | None = None
    requests_per_minute: int = Field(default=100, ge=1)
    timeout_s: float = Field(default=15.0, gt=0)
    max_retries: int = Field(default=4, ge=0, le=10)
    statuses: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_STATUSES))
    fields: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_FIELDS))

    @field_validator("token")
    @classmethod
    def _token_present(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("is empty: set clickup.token or ARBRIDGE_CLICKUP__TOKEN")
        return value

    @field_validator("statuses")
    @classmethod
    def _known_statuses(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(TASK_STATUSES))
        if unknown:
            raise ValueError(
                f"unknown task status {unknown[0]!r}; expected one of {', '.join(TASK_STATUSES)}"
            )
        missing = [s for s in TASK_STATUSES if s not in value]
        if missing:
            raise ValueError(f"no list status given for {', '.join(missing)}")
        return value

    @field_validator("fields")
    @classmethod
    def _known_facts(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(FACTS))
        if unknown:
            raise ValueError(
                f"unknown fact {unknown[0]!r}; mappable facts are {', '.join(sorted(FACTS))}"
            )
        if "arbridge_key" not in value:
            raise ValueError(
                "arbridge_key must be mapped to a short_text field: it is how a task is found "
                "again after a crash"
            )
        return value


class QuickBooksSettings(_Section):
    """QuickBooks Online: an Intuit app's keys; tokens come from ``arbridge quickbooks connect``
    and are kept, encrypted, in the store (never in this file)."""

    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    environment: Literal["production", "sandbox"] = "production"
    # None: Intuit's own hosts for the environment (set only for the local emulator).
    api_base_url: str | None = None
    oauth_base_url: str | None = None
    redirect_uri: str = "http://localhost:8080/oauth/quickbooks/callback"
    webhook_verifier_token: SecretStr | None = None
    minorversion: int = Field(default=75, ge=75)
    poll_interval_s: float = Field(default=300.0, gt=0)
    full_sweep_every_s: float = Field(default=86400.0, gt=0)
    requests_per_minute: int = Field(default=500, ge=1)
    max_concurrent: int = Field(default=10, ge=1, le=10)
    timeout_s: float = Field(default=30.0, gt=0)
    max_retries: int = Field(default=4, ge=0, le=10)


class StripeSettings(_Section):
    api_key: SecretStr
    api_base: str = "https://api.stripe.com"
    webhook_secret: SecretStr | None = None
    # Connect platforms: the account id used for objects that carry no ``account``.
    account: str = "default"
    poll_interval_s: float = Field(default=300.0, gt=0)
    max_network_retries: int = Field(default=2, ge=0, le=10)
    timeout_s: float = Field(default=30.0, gt=0)
    webhook_tolerance_s: int = Field(default=300, ge=1, le=3600)


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


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ARBRIDGE_",
        env_nested_delimiter="__",
        extra="forbid",
        case_sensitive=False,
    )

    database_url: str = "sqlite:///arbridge.db"
    clickup: ClickUpSettings
    quickbooks: QuickBooksSettings | None = None
    stripe: StripeSettings | None = None
    server: ServerSettings = Field(default_factory=ServerSettings)
    company: CompanySettings = Field(default_factory=CompanySettings)
    sync: SyncSettings = Field(default_factory=SyncSettings)
    insight: InsightSettings = Field(default_factory=InsightSettings)
    rules: RulesSettings = Field(default_factory=RulesSettings)
    log: LogSettings = Field(default_factory=LogSettings)

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

    def secrets(self) -> list[str]:
        """Every secret value in the config, for log redaction."""
        found: list[SecretStr | None] = [self.clickup.token, self.clickup.webhook_secret]
        if self.quickbooks is not None:
            found += [self.quickbooks.client_secret, self.quickbooks.webhook_verifier_token]
        if self.stripe is not None:
            found += [self.stripe.api_key, self.stripe.webhook_secret]
        return [s.get_secret_value() for s in found if s is not None and s.get_secret_value()]


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
    try:
        settings = Settings(**raw)
    except SettingsError:
        problems.extend(_unparsable_env())
        raise ConfigError(problems) from None
    except ValidationError as exc:
        for error in exc.errors():
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


def _unparsable_env() -> list[str]:
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
            section = Settings.model_fields.get(parts[0])
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
