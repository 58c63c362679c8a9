"""HTTP access to ClickUp API v2: auth header, rate limiting, retries and error classification.

Every request goes through :meth:`ClickUpClient.request`, so the limiter, the retry policy and
the status/ECODE table apply everywhere. Raised errors never carry the httpx request (which
holds the ``Authorization`` header), and every message is scrubbed of secret values.
"""

from __future__ import annotations

import json as jsonlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any

import httpx

from arbridge.api import (
    STATUS_ERRORS,
    AuthError,
    ConnectorError,
    RateLimitedError,
    TransientError,
    call_with_retries,
)
from arbridge_clickup.ratelimit import RateLimiter
from arbridge_clickup.settings import ClickUpSettings

log = logging.getLogger(__name__)

ERROR_TEXT_LIMIT = 300

# Methods the server treats as "same request, same outcome"; others are only re-sent when the
# first attempt certainly never reached ClickUp (a duplicate task or comment is worse than a
# rescheduled job).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE"})

# ECODE prefixes that decide the class whatever the HTTP status is.
ERRORS_BY_ECODE_PREFIX: dict[str, type[ConnectorError]] = {"OAUTH_": AuthError}


def error_class(status: int, ecode: str | None) -> type[ConnectorError] | None:
    """The error a response maps to, or ``None`` for success."""
    if ecode:
        for prefix, cls in ERRORS_BY_ECODE_PREFIX.items():
            if ecode.startswith(prefix):
                return cls
    # ClickUp means by each status what the shared table says.
    return STATUS_ERRORS.error_class(status)


def auth_header(token: str) -> str:
    """Personal tokens go bare; OAuth access tokens as a bearer token."""
    return token if token.startswith("pk_") else f"Bearer {token}"


class _NotResent(Exception):
    """Carries an error that must reach the caller without an in-call retry."""

    def __init__(self, error: ConnectorError) -> None:
        super().__init__(type(error).__name__)
        self.error = error


class ClickUpClient:
    """One pooled HTTP connection to ClickUp shared by every call of the sink."""

    def __init__(
        self,
        settings: ClickUpSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        limiter: RateLimiter | None = None,
        secrets: Iterable[str] = (),
    ) -> None:
        token = settings.token.get_secret_value()
        self._secrets = sorted({s for s in (token, *secrets) if s}, key=len, reverse=True)
        self._sleep = sleep
        self._max_retries = settings.max_retries
        self._timeout_s = settings.timeout_s
        self._limiter = limiter or RateLimiter(
            settings.requests_per_minute, monotonic=monotonic, wall=wall, sleep=sleep
        )
        self._http = httpx.Client(
            base_url=settings.base_url,
            headers={"Authorization": auth_header(token), "Accept": "application/json"},
            timeout=httpx.Timeout(settings.timeout_s),
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"ClickUpClient(base_url={str(self._http.base_url)!r})"

    def __enter__(self) -> ClickUpClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
    ) -> Any:
        """Send one API call (``path`` relative to the base URL) and return its decoded JSON.

        Transient failures are retried up to ``max_retries`` times; then the last error is
        raised. ``idempotent`` defaults by method; a non-idempotent call is only re-sent when
        the failed attempt never reached the server (connect errors, 429).
        """
        method = method.upper()
        resend_any = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        try:
            return call_with_retries(
                lambda: self._send_once(method, path, params, json, resend_any),
                retries=self._max_retries,
                sleep=self._sleep,
                on_retry=self._log_retry,
            )
        except _NotResent as stop:
            raise stop.error from None

    def _send_once(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        body: Any,
        resend_any: bool,
    ) -> Any:
        self._limiter.acquire()
        outcome = self._exchange(method, path, params, body)
        failure: ConnectorError
        if isinstance(outcome, tuple):
            failure, reached_server = outcome
        else:
            self._limiter.observe(outcome.headers)
            log.debug("ClickUp %s %s -> %d", method, path, outcome.status_code)
            problem = self._response_error(method, path, outcome)
            if problem is None:
                decoded, problem = self._decode(method, path, outcome)
                if problem is None:
                    return decoded
            failure = problem
            # A 429 is refused before any work is done; anything else may have been applied.
            reached_server = not isinstance(failure, RateLimitedError)
        if reached_server and isinstance(failure, TransientError) and not resend_any:
            raise _NotResent(failure)
        raise failure

    def _exchange(
        self, method: str, path: str, params: Mapping[str, Any] | None, body: Any
    ) -> httpx.Response | tuple[TransientError, bool]:
        """The response, or the transport error and whether the request may have arrived.

        Errors are returned, not raised, so that what the caller raises has no ``__context__``
        pointing at the httpx exception and its request headers.
        """
        try:
            return self._http.request(method, path, params=params, json=body)
        except httpx.HTTPError as exc:
            never_sent = isinstance(
                exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout
            )
            return self._transport_error(method, path, exc), not never_sent

    def _transport_error(self, method: str, path: str, exc: httpx.HTTPError) -> TransientError:
        if isinstance(exc, httpx.TimeoutException):
            what = f"timed out after {self._timeout_s:g}s ({type(exc).__name__})"
        else:
            detail = self._redact(str(exc))[:ERROR_TEXT_LIMIT]
            what = f"connection failed ({type(exc).__name__}: {detail})"
        return TransientError(f"ClickUp {method} {path}: {what}")

    def _response_error(
        self, method: str, path: str, response: httpx.Response
    ) -> ConnectorError | None:
        err, ecode = _error_body(response)
        cls = error_class(response.status_code, ecode)
        if cls is None:
            return None
        status = response.status_code
        err = self._redact(err)[:ERROR_TEXT_LIMIT]
        said = " ".join(part for part in (str(status), ecode, err) if part)
        if issubclass(cls, AuthError):
            return cls(
                f"ClickUp refused the credentials on {method} {path} ({said}); check clickup.token "
                "(and that it may access this workspace and list)",
                status=status,
                code=ecode,
            )
        if issubclass(cls, RateLimitedError):
            return cls(
                f"ClickUp {method} {path}: rate limited ({said})",
                status=status,
                code=ecode,
                retry_after=self._limiter.seconds_until_reset(response.headers),
            )
        return cls(f"ClickUp {method} {path}: {said}", status=status, code=ecode)

    def _decode(
        self, method: str, path: str, response: httpx.Response
    ) -> tuple[Any, TransientError | None]:
        if not response.content:
            return None, None
        try:
            return response.json(), None
        except ValueError:
            pass
        return None, TransientError(
            f"ClickUp {method} {path}: answered {response.status_code} with a body that is not "
            "JSON",
            status=response.status_code,
        )

    def _log_retry(self, error: BaseException, attempt: int, wait: float) -> None:
        log.warning("%s; retry %d of %d in %.1fs", error, attempt, self._max_retries, wait)

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def _error_body(response: httpx.Response) -> tuple[str, str | None]:
    """ClickUp's ``{"err", "ECODE"}`` pair; gateways may answer with HTML or nothing."""
    if response.status_code < 400:
        return "", None
    try:
        body = jsonlib.loads(response.content) if response.content else None
    except ValueError:
        return response.reason_phrase, None
    if not isinstance(body, dict):
        return response.reason_phrase, None
    err = body.get("err") or body.get("error") or response.reason_phrase
    ecode = body.get("ECODE")
    return str(err), (str(ecode) if ecode is not None else None)
