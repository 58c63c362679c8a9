"""The ``stripe`` config section."""

from __future__ import annotations

from pydantic import Field, SecretStr

from arbridge.api import ConnectorSettings


class StripeSettings(ConnectorSettings):
    api_key: SecretStr
    api_base: str = "https://api.stripe.com"
    webhook_secret: SecretStr | None = None
    # Connect platforms: the account id used for objects that carry no ``account``.
    account: str = "default"
    poll_interval_s: float = Field(default=300.0, gt=0)
    max_network_retries: int = Field(default=2, ge=0, le=10)
    timeout_s: float = Field(default=30.0, gt=0)
    webhook_tolerance_s: int = Field(default=300, ge=1, le=3600)
