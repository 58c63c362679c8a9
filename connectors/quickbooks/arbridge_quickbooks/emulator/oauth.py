"""Intuit's OAuth 2.0 server as the emulator plays it.

Access tokens live an hour. A refresh returns the *same* refresh token while it is younger than
``rotate_after`` (Intuit: about 24 h) and a new one after that; the old one is then refused with
``invalid_grant``, as Intuit does. Times come from the emulator's clock.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from arbridge.api import Clock

ACCESS_TTL = timedelta(hours=1)
REFRESH_TTL = timedelta(days=100)  # rolling: extended on every use
ROTATE_AFTER = timedelta(hours=24)


@dataclass
class RefreshGrant:
    realm_id: str
    issued_at: datetime
    expires_at: datetime
    live: bool = True


class OAuthError(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.description = description


class OAuthServer:
    def __init__(self, clock: Clock, clients: dict[str, str], realm_id: str) -> None:
        self.clock = clock
        self.clients = dict(clients)
        self.realm_id = realm_id
        self.rotate_after = ROTATE_AFTER
        self._codes: dict[str, str] = {}  # code -> redirect_uri
        self._access: dict[str, tuple[str, datetime]] = {}
        self._refresh: dict[str, RefreshGrant] = {}
        self._lock = threading.Lock()
        self.refreshes = 0
        self.rotations = 0

    def check_client(self, client_id: str, secret: str) -> None:
        known = self.clients.get(client_id)
        if known is None or not secrets.compare_digest(known, secret):
            raise OAuthError(401, "invalid_client", "Invalid client credentials")

    def authorize(self, client_id: str, redirect_uri: str) -> str:
        """Auto-approve: a one-time code for ``redirect_uri``."""
        if client_id not in self.clients:
            raise OAuthError(400, "invalid_client", "Unknown client_id")
        if not redirect_uri:
            raise OAuthError(400, "invalid_request", "redirect_uri is required")
        code = "AB" + secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = redirect_uri
        return code

    def exchange_code(self, code: str, redirect_uri: str) -> dict[str, object]:
        with self._lock:
            expected = self._codes.pop(code, None)
            if expected is None or expected != redirect_uri:
                raise OAuthError(400, "invalid_grant", "Invalid authorization code")
            refresh = self._new_refresh()
            return self._answer(refresh)

    def refresh(self, token: str) -> dict[str, object]:
        now = self.clock.now()
        with self._lock:
            grant = self._refresh.get(token)
            if grant is None or not grant.live or grant.expires_at <= now:
                raise OAuthError(400, "invalid_grant", "Incorrect or invalid refresh token")
            self.refreshes += 1
            if now - grant.issued_at >= self.rotate_after:
                grant.live = False
                self.rotations += 1
                token = self._new_refresh()
            else:
                grant.expires_at = now + REFRESH_TTL
            return self._answer(token)

    def revoke_all(self) -> None:
        """The user disconnected the app: every token is dead."""
        with self._lock:
            for grant in self._refresh.values():
                grant.live = False
            self._access.clear()

    def revoke(self, token: str) -> None:
        with self._lock:
            grant = self._refresh.get(token)
            if grant is not None:
                grant.live = False
            self._access.pop(token, None)

    def expire_access_tokens(self) -> None:
        """Intuit can cut an access token short (password change, revoke)."""
        with self._lock:
            self._access.clear()

    def realm_for(self, access_token: str) -> str | None:
        with self._lock:
            found = self._access.get(access_token)
        if found is None or found[1] <= self.clock.now():
            return None
        return found[0]

    def _new_refresh(self) -> str:
        now = self.clock.now()
        token = "RT1-" + secrets.token_urlsafe(32)
        self._refresh[token] = RefreshGrant(self.realm_id, now, now + REFRESH_TTL)
        return token

    def _answer(self, refresh_token: str) -> dict[str, object]:
        access = "eyJ" + secrets.token_urlsafe(48)
        self._access[access] = (self.realm_id, self.clock.now() + ACCESS_TTL)
        return {
            "token_type": "bearer",
            "expires_in": int(ACCESS_TTL.total_seconds()),
            "refresh_token": refresh_token,
            "x_refresh_token_expires_in": int(REFRESH_TTL.total_seconds()),
            "access_token": access,
        }
