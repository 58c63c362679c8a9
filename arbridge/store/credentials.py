"""Connectors' tokens at rest, encrypted with the key in ``ARBRIDGE_SECRET_KEY``.

Fernet (AES-128-CBC with an HMAC-SHA256 tag) from ``cryptography``: a wrong key or a tampered
row is detected instead of decrypting to garbage. ``save`` commits before it returns, so a
refresh token the provider has just rotated is on disk before the new access token is used.
"""

from __future__ import annotations

import json
import os
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Engine

from arbridge.clock import Clock, SystemClock
from arbridge.errors import ConfigError
from arbridge.store.db import transaction
from arbridge.store.tables import CredentialRow

KEY_ENV = "ARBRIDGE_SECRET_KEY"


def new_key() -> str:
    """A fresh key for ``ARBRIDGE_SECRET_KEY``."""
    return Fernet.generate_key().decode("ascii")


def key_from_env(environ: dict[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    key = env.get(KEY_ENV, "").strip()
    if not key:
        raise ConfigError(
            [
                f"environment {KEY_ENV}: is not set: tokens are stored encrypted with it; "
                "create one with `arbridge secret-key` and keep it with your other secrets"
            ]
        )
    return key


class SqlCredentialStore:
    """A ``CredentialStore`` on the arbridge database."""

    def __init__(self, engine: Engine, key: str, clock: Clock | None = None) -> None:
        try:
            self._fernet = Fernet(key.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            raise ConfigError(
                [
                    f"environment {KEY_ENV}: is not a valid key (32 url-safe base64-encoded "
                    "bytes); create one with `arbridge secret-key`"
                ]
            ) from None
        self.engine = engine
        self.clock = clock or SystemClock()

    def load(self, name: str) -> dict[str, Any] | None:
        with transaction(self.engine) as session:
            row = session.get(CredentialRow, name)
            if row is None:
                return None
            ciphertext = row.ciphertext
        try:
            plain = self._fernet.decrypt(ciphertext.encode("ascii"))
        except InvalidToken:
            raise ConfigError(
                [
                    f"credentials {name!r}: cannot be decrypted with {KEY_ENV} (was the key "
                    "changed?); restore the old key or connect again"
                ]
            ) from None
        value: dict[str, Any] = json.loads(plain)
        return value

    def save(self, name: str, value: dict[str, Any]) -> None:
        ciphertext = self._fernet.encrypt(json.dumps(value, sort_keys=True).encode()).decode()
        with transaction(self.engine) as session:
            row = session.get(CredentialRow, name)
            if row is None:
                row = CredentialRow(name=name, ciphertext=ciphertext, updated_at=self.clock.now())
            else:
                row.ciphertext = ciphertext
                row.updated_at = self.clock.now()
            session.add(row)
