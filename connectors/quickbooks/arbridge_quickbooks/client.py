"""HTTP access to the QuickBooks Online Accounting API v3 for one company (realm).

The calls are made with our own ``httpx`` client rather than python-quickbooks' ``QuickBooks``
session: that one is synchronous on ``requests`` with an ``intuit-oauth`` client that fetches
its discovery document when built, has no refresh on 401, no throttling or backoff, and maps
5010 to its base exception. Here every request goes through :meth:`QuickBooksClient.request`,
so the realm limits (500/min, 10 in flight), ``minorversion``, the 401-refresh-once rule, the
shared in-call retries of transient failures and the Fault table apply everywhere. Amounts are
decoded as ``Decimal`` straight from the JSON text, never through ``float``.

Raised errors never carry the httpx request (it holds the bearer token).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

import httpx

from arbridge.api import (
    AuthError,
    ConnectorError,
    TransientError,
    call_with_retries,
    make_error,
)
from arbridge_quickbooks.auth import TokenManager
from arbridge_quickbooks.faults import error_for
from arbridge_quickbooks.ratelimit import RealmLimiter
from arbridge_quickbooks.settings import QuickBooksSettings

log = logging.getLogger(__name__)

PRODUCTION_API = "https://quickbooks.api.intuit.com"
SANDBOX_API = "https://sandbox-quickbooks.api.intuit.com"
MAX_RESULTS = 1000  # Intuit's cap per query page


def api_base_url(settings: QuickBooksSettings) -> str:
    if settings.api_base_url:
        return settings.api_base_url.rstrip("/")
    return SANDBOX_API if settings.environment == "sandbox" else PRODUCTION_API


def decode(content: bytes) -> Any:
    return json.loads(content, parse_float=Decimal)


def quote(value: str) -> str:
    """A string literal of Intuit's query language."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class QuickBooksClient:
    """One pooled connection to the data API, shared by every call of the source."""

    def __init__(
        self,
        settings: QuickBooksSettings,
        tokens: TokenManager,
        http: httpx.Client,
        *,
        limiter: RealmLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
        secrets: Iterable[str] = (),
    ) -> None:
        self._settings = settings
        self._tokens = tokens
        self._http = http
        self._sleep = sleep
        self._base = api_base_url(settings)
        self._limiter = limiter or RealmLimiter(
            settings.requests_per_minute, settings.max_concurrent, sleep=sleep
        )
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
        self.requests_sent = 0

    def __repr__(self) -> str:
        return f"QuickBooksClient(base_url={self._base!r})"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        text_body: str | None = None,
    ) -> Any:
        """One call under ``/v3/company/{realm}/`` (``path`` without the prefix); decoded JSON.

        Transient failures are retried up to ``max_retries`` times: the source only reads,
        and the query endpoint is a read even though it is a POST.
        """
        return call_with_retries(
            lambda: self._send_once(method.upper(), path, params, json_body, text_body),
            retries=self._settings.max_retries,
            sleep=self._sleep,
            on_retry=_log_retry,
        )

    def query(self, statement: str) -> dict[str, Any]:
        """The ``QueryResponse`` of one query statement (the entity key is absent when empty)."""
        body = self.request("POST", "query", text_body=statement)
        response = body.get("QueryResponse", {}) if isinstance(body, dict) else {}
        return response if isinstance(response, dict) else {}

    def query_all(self, entity: str, where: str = "") -> Iterable[list[dict[str, Any]]]:
        """Every ``entity`` matching ``where``, in pages of up to 1000, oldest Id first."""
        position = 1
        clause = f" where {where}" if where else ""
        while True:
            # Entity names and clauses are built here from constants and quote()d values.
            page = self.query(
                f"select * from {entity}{clause} orderby Id "  # noqa: S608
                f"startposition {position} maxresults {MAX_RESULTS}"
            )
            rows = page.get(entity, [])
            if rows:
                yield rows
            if len(rows) < MAX_RESULTS:
                return
            position += len(rows)

    def read_many(self, entity: str, ids: Iterable[str]) -> list[dict[str, Any]]:
        """Several objects of one kind in as few requests as the query cap allows."""
        wanted = sorted(set(ids))
        found: list[dict[str, Any]] = []
        for start in range(0, len(wanted), MAX_RESULTS):
            chunk = ", ".join(quote(i) for i in wanted[start : start + MAX_RESULTS])
            page = self.query(
                f"select * from {entity} where Id in ({chunk}) maxresults {MAX_RESULTS}"  # noqa: S608
            )
            found.extend(page.get(entity, []))
        return found

    def cdc(self, entities: Iterable[str], changed_since: str) -> dict[str, list[dict[str, Any]]]:
        """Change Data Capture: objects by entity (deleted stubs included, as Intuit sends)."""
        body = self.request(
            "GET", "cdc", params={"entities": ",".join(entities), "changedSince": changed_since}
        )
        found: dict[str, list[dict[str, Any]]] = {}
        for block in body.get("CDCResponse", []) if isinstance(body, dict) else []:
            for response in block.get("QueryResponse", []):
                for key, value in response.items():
                    if isinstance(value, list):
                        found.setdefault(key, []).extend(value)
        return found

    # --- one attempt --------------------------------------------------------------------

    def _send_once(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        json_body: Any,
        text_body: str | None,
    ) -> Any:
        realm = self._tokens.realm_id()
        url = f"{self._base}/v3/company/{realm}/{path}"
        what = f"{method} /{path}"
        token = self._tokens.access_token()
        response = self._exchange(method, url, params, json_body, text_body, token, what)
        if response.status_code == 401:
            # The token may have been revoked or cut short: one refresh, then one more try.
            token = self._tokens.access_refused(token)
            response = self._exchange(method, url, params, json_body, text_body, token, what)
            if response.status_code == 401:
                self._tokens.give_up(f"QuickBooks answered 401 to {what} with a fresh token")
        log.debug(
            "QuickBooks %s -> %d (intuit_tid %s)",
            what,
            response.status_code,
            response.headers.get("intuit_tid", "-"),
        )
        failure = error_for(response.status_code, response.content, what)
        if failure is None:
            try:
                return decode(response.content) if response.content else {}
            except ValueError:
                failure = TransientError(
                    f"QuickBooks {what}: answered {response.status_code} with a body that is "
                    "not JSON",
                    status=response.status_code,
                )
        if isinstance(failure, AuthError) and response.status_code == 401:
            self._tokens.give_up(str(failure))
        raise self._scrubbed(failure)

    def _exchange(
        self,
        method: str,
        url: str,
        params: Mapping[str, str] | None,
        json_body: Any,
        text_body: str | None,
        token: str,
        what: str,
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        content: bytes | None = None
        if text_body is not None:
            headers["Content-Type"] = "application/text"
            content = text_body.encode()
        elif json_body is not None:
            headers["Content-Type"] = "application/json"
            content = json.dumps(json_body, default=_json_default).encode()
        query = {"minorversion": str(self._settings.minorversion), **(params or {})}
        failure: TransientError
        with self._limiter.slot():
            self.requests_sent += 1
            try:
                return self._http.request(
                    method, url, params=query, content=content, headers=headers
                )
            except httpx.TimeoutException as exc:
                failure = TransientError(f"QuickBooks {what}: timed out ({type(exc).__name__})")
            except httpx.HTTPError as exc:
                failure = TransientError(
                    f"QuickBooks {what}: connection failed ({type(exc).__name__})"
                )
        raise failure

    def _scrubbed(self, error: ConnectorError) -> ConnectorError:
        text = str(error)
        for secret in self._secrets:
            text = text.replace(secret, "***")
        if text == str(error):
            return error
        retry_after = error.retry_after if isinstance(error, TransientError) else None
        return make_error(
            type(error), text, status=error.status, code=error.code, retry_after=retry_after
        )


def _log_retry(error: BaseException, attempt: int, wait: float) -> None:
    log.warning("%s; retry %d in %.1fs", error, attempt, wait)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"cannot encode {type(value).__name__}")
