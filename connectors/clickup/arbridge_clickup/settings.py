"""The ``clickup`` config section: the token, the List, and how invoice facts and task statuses
map onto the List's custom fields and statuses."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from arbridge.api import FACTS, TASK_STATUSES, ConfigError, ConnectorSettings, Settings

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


class ClickUpSettings(ConnectorSettings):
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


def clickup_section(settings: Settings) -> ClickUpSettings:
    """The ``clickup`` section of the whole config; a missing one is a ``ConfigError``."""
    section = settings.section("clickup", ClickUpSettings)
    if section is None:
        raise ConfigError(["clickup: the section is missing; add clickup.token and list_id"])
    return section
