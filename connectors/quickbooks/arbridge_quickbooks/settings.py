"""The ``quickbooks`` config section."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from arbridge.api import ConnectorSettings


class QuickBooksSettings(ConnectorSettings):
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
