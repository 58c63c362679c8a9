"""OAuth 2.0 tokens for one QuickBooks company: the authorization-code exchange, refresh before
expiry, and the rule that keeps a rotated refresh token from being lost.

Intuit may hand back a new refresh token on any refresh (about once a day) and refuses the old
one from then on. So a refresh response is committed to the credential store *before* its
access token is used: if the process dies in between, the next start still holds a refresh
token Intuit accepts. Refreshes are serialised, and the store is re-read first, because two
refreshes racing with the same refresh token is the classic way to end in ``invalid_grant``.

Once Intuit refuses the stored tokens the manager remembers it and fails fast with
``AuthError`` (no further network calls) until the company is connected again.
"""

from __future__ import annotations

import base64
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx

from arbridge.api import AuthError, Clock, ConfigError, CredentialStore, TransientError
from arbridge_quickbooks.settings import QuickBooksSettings

log = logging.getLogger(__name__)

CREDENTIAL_NAME = "quickbooks"
SCOPE = "com.intuit.quickbooks.accounting"
AUTHORIZE_URL = "https://appcenter.intuit.com/connect/oauth2"
TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"  # noqa: S105 - a URL
# Refresh this long before the access token's hour is up, so a request never carries a token
# that expires on the way.
REFRESH_MARGIN = timedelta(minutes=5)
RECONNECT = "run `arbridge quickbooks connect` to connect the company again"

# The connection in progress: its state, and the realm once the redirect came back.
PENDING_NAME = "quickbooks.pending"


def authorize_url(settings: QuickBooksSettings) -> str:
    base = settings.oauth_base_url
    return f"{base.rstrip('/')}/connect/oauth2" if base else AUTHORIZE_URL


def token_url(settings: QuickBooksSettings) -> str:
    base = settings.oauth_base_url
    return f"{base.rstrip('/')}/oauth2/v1/tokens/bearer" if base else TOKEN_URL


def authorization_url(settings: QuickBooksSettings, state: str) -> str:
    query = urlencode(
        {
            "client_id": settings.client_id,
            "response_type": "code",
            "scope": SCOPE,
            "redirect_uri": settings.redirect_uri,
            "state": state,
        }
    )
    return f"{authorize_url(settings)}?{query}"


@dataclass(frozen=True)
class Tokens:
    """What the credential store keeps for the company (encrypted at rest)."""

    realm_id: str
    access_token: str
    access_expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime | None

    def __repr__(self) -> str:
        return f"Tokens(realm_id={self.realm_id!r}, access_expires_at={self.access_expires_at})"

    def to_record(self) -> dict[str, Any]:
        return {
            "realm_id": self.realm_id,
            "access_token": self.access_token,
            "access_expires_at": self.access_expires_at.isoformat(),
            "refresh_token": self.refresh_token,
            "refresh_expires_at": (
                self.refresh_expires_at.isoformat() if self.refresh_expires_at else None
            ),
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Tokens:
        try:
            refresh_expiry = record.get("refresh_expires_at")
            return cls(
                realm_id=str(record["realm_id"]),
                access_token=str(record["access_token"]),
                access_expires_at=datetime.fromisoformat(record["access_expires_at"]),
                refresh_token=str(record["refresh_token"]),
                refresh_expires_at=(
                    datetime.fromisoformat(refresh_expiry) if refresh_expiry else None
                ),
            )
        except (KeyError, TypeError, ValueError):
            raise AuthError(
                f"the stored QuickBooks credentials are incomplete; {RECONNECT}"
            ) from None

    @classmethod
    def from_response(cls, realm_id: str, body: Any, now: datetime) -> Tokens:
        if not isinstance(body, dict) or not body.get("access_token"):
            raise TransientError("the Intuit token endpoint answered without an access token")
        refresh_in = body.get("x_refresh_token_expires_in")
        return cls(
            realm_id=realm_id,
            access_token=str(body["access_token"]),
            access_expires_at=now + timedelta(seconds=float(body.get("expires_in", 3600))),
            refresh_token=str(body["refresh_token"]),
            refresh_expires_at=(
                now + timedelta(seconds=float(refresh_in)) if refresh_in is not None else None
            ),
        )


def request_tokens(
    http: httpx.Client, settings: QuickBooksSettings, form: dict[str, str]
) -> dict[str, Any]:
    """POST a grant to Intuit's token endpoint; the decoded answer, or a clear error."""
    secret = settings.client_secret.get_secret_value()
    basic = base64.b64encode(f"{settings.client_id}:{secret}".encode()).decode()
    grant = form.get("grant_type", "")
    try:
        response = http.post(
            token_url(settings),
            data=form,
            headers={"Authorization": f"Basic {basic}", "Accept": "application/json"},
        )
    except httpx.HTTPError as exc:
        failure: Exception | None = TransientError(
            f"Intuit token endpoint ({grant}): {type(exc).__name__}"
        )
    else:
        failure = _token_failure(response, grant)
        if failure is None:
            body: dict[str, Any] = response.json()
            return body
    assert failure is not None
    raise failure


def _token_failure(response: httpx.Response, grant: str) -> Exception | None:
    if response.status_code == 200:
        try:
            response.json()
        except ValueError:
            return TransientError(f"Intuit token endpoint ({grant}): the answer is not JSON")
        return None
    try:
        body = response.json()
    except ValueError:
        body = {}
    error = str(body.get("error", "")) if isinstance(body, dict) else ""
    if response.status_code >= 500 or response.status_code == 429:
        return TransientError(
            f"Intuit token endpoint ({grant}): HTTP {response.status_code}",
            status=response.status_code,
        )
    if error == "invalid_client" or response.status_code == 401:
        return AuthError(
            f"Intuit refused the app's keys ({grant}: {error or response.status_code}); check "
            "quickbooks.client_id and quickbooks.client_secret",
            status=response.status_code,
            code=error or None,
        )
    return AuthError(
        f"Intuit refused the {grant} grant ({error or response.status_code}); {RECONNECT}",
        status=response.status_code,
        code=error or None,
    )


class TokenManager:
    """Hands out a valid access token for the connected company."""

    def __init__(
        self,
        settings: QuickBooksSettings,
        credentials: CredentialStore,
        clock: Clock,
        http: httpx.Client,
    ) -> None:
        self._settings = settings
        self._credentials = credentials
        self._clock = clock
        self._http = http
        self._lock = threading.Lock()
        self._tokens: Tokens | None = None
        self._refused: str | None = None
        # The refresh token Intuit refused: a different one in the store means a reconnect.
        self._refused_refresh: str | None = None
        self.refreshes = 0

    def __repr__(self) -> str:
        return f"TokenManager(refused={self._refused is not None})"

    @property
    def refused(self) -> str | None:
        """Why the stored credentials cannot work (what to do included), or None."""
        with self._lock:
            try:
                self._fail_if_refused()
            except AuthError as exc:
                return str(exc)
            return None

    def _load(self) -> Tokens:
        record = self._credentials.load(CREDENTIAL_NAME)
        if record is None:
            raise AuthError(f"QuickBooks is not connected; {RECONNECT}")
        return Tokens.from_record(record)

    def tokens(self) -> Tokens:
        with self._lock:
            self._fail_if_refused()
            if self._tokens is None:
                self._tokens = self._load()
            return self._tokens

    def realm_id(self) -> str:
        return self.tokens().realm_id

    def access_token(self) -> str:
        """A token valid for at least ``REFRESH_MARGIN``; refreshes (and commits) when needed."""
        with self._lock:
            self._fail_if_refused()
            if self._tokens is None:
                self._tokens = self._load()
            if self._tokens.access_expires_at - self._clock.now() <= REFRESH_MARGIN:
                self._refresh_locked(self._tokens)
            return self._tokens.access_token

    def access_refused(self, token: str) -> str:
        """A request with ``token`` got 401: refresh once and return the new token."""
        with self._lock:
            self._fail_if_refused()
            current = self._tokens or self._load()
            if current.access_token != token:
                return current.access_token  # another thread already refreshed
            self._refresh_locked(current)
            assert self._tokens is not None
            return self._tokens.access_token

    def give_up(self, reason: str) -> None:
        """Stop using the stored tokens (the API refused a freshly refreshed token)."""
        with self._lock:
            self._refuse(f"{reason}; {RECONNECT}", self._tokens)

    def _refuse(self, reason: str, tokens: Tokens | None) -> None:
        self._refused = reason
        self._refused_refresh = tokens.refresh_token if tokens is not None else None

    def _fail_if_refused(self) -> None:
        """Raise while the refused tokens are still the stored ones; a reconnect (new tokens
        in the store) is picked up here, without a restart and without a network call."""
        if self._refused is None:
            return
        record = self._credentials.load(CREDENTIAL_NAME)
        if record is not None and record.get("refresh_token") != self._refused_refresh:
            self._tokens = Tokens.from_record(record)
            self._refused = self._refused_refresh = None
            log.info("QuickBooks was connected again; resuming")
            return
        raise AuthError(self._refused)

    def _refresh_locked(self, current: Tokens) -> None:
        # Another process (or a restart) may have refreshed: its refresh token is the live one.
        stored = self._credentials.load(CREDENTIAL_NAME)
        if stored is not None:
            fresh = Tokens.from_record(stored)
            if fresh.refresh_token != current.refresh_token:
                current = fresh
                if fresh.access_expires_at - self._clock.now() > REFRESH_MARGIN:
                    self._tokens = fresh
                    return
        now = self._clock.now()
        try:
            body = request_tokens(
                self._http,
                self._settings,
                {"grant_type": "refresh_token", "refresh_token": current.refresh_token},
            )
        except AuthError as exc:
            self._refuse(str(exc), current)
            log.error("QuickBooks token refresh refused: %s", exc)
            raise
        tokens = Tokens.from_response(current.realm_id, body, now)
        rotated = tokens.refresh_token != current.refresh_token
        # Commit first: once Intuit has rotated the refresh token the old one is dead.
        self._credentials.save(CREDENTIAL_NAME, tokens.to_record())
        self._tokens = tokens
        self.refreshes += 1
        log.info("QuickBooks access token refreshed (refresh token rotated: %s)", rotated)


def exchange_code(
    http: httpx.Client,
    settings: QuickBooksSettings,
    credentials: CredentialStore,
    clock: Clock,
    *,
    code: str,
    realm_id: str,
) -> Tokens:
    """Trade an authorization code for tokens and commit them."""
    if not code or not realm_id:
        raise ConfigError(["the QuickBooks redirect has no code or realmId; connect again"])
    now = clock.now()
    try:
        body = request_tokens(
            http,
            settings,
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": settings.redirect_uri,
            },
        )
    except AuthError as exc:
        raise ConfigError([f"quickbooks connect: {exc}"]) from None
    tokens = Tokens.from_response(realm_id, body, now)
    credentials.save(CREDENTIAL_NAME, tokens.to_record())
    return tokens
