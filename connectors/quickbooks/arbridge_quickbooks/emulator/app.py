"""The QuickBooks Online emulator as a Starlette application.

Data requests under ``/v3/company/{realm}/`` pass a gate: they are counted, may get an injected
fault, are throttled (per realm: ``rate_limit`` a minute, ``max_concurrent`` in flight; 429 with
Fault 3001, as XML when ``throttle_xml``), must carry a live bearer token (else the gateway's
lower-case 401/3200 body) and a ``minorversion`` of at least 75. OAuth lives at Intuit's paths
(``/connect/oauth2``, ``/oauth2/v1/tokens/bearer``) on the same host.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from arbridge_quickbooks.emulator import query as qbquery
from arbridge_quickbooks.emulator.errors import THROTTLE_XML, QboFault, auth_failed_body
from arbridge_quickbooks.emulator.oauth import OAuthError, OAuthServer
from arbridge_quickbooks.emulator.state import CompanyState, canonical_entity
from arbridge_quickbooks.mapping import parse_time

MIN_MINOR_VERSION = 75


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload, default=_plain), status, media_type="application/json")


class Gate:
    """Counters, throttle and injected faults of the data API."""

    def __init__(
        self, rate_limit: int | None, max_concurrent: int, monotonic: Callable[[], float]
    ) -> None:
        self.rate_limit = rate_limit
        self.max_concurrent = max_concurrent
        self.throttle_xml = False
        self.monotonic = monotonic
        self.requests: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self.injected: deque[tuple[int, bytes, str]] = deque()
        self._window: deque[float] = deque()
        self._in_flight = 0
        self._lock = threading.Lock()

    def inject(self, status: int, body: bytes, media_type: str = "application/json") -> None:
        """Answer the next data request with this response instead."""
        self.injected.append((status, body, media_type))

    def enter(self) -> bool:
        """Take a slot; False when the realm is over its rate or concurrency limit."""
        with self._lock:
            if self._in_flight >= self.max_concurrent:
                return False
            if self.rate_limit is not None:
                now = self.monotonic()
                while self._window and self._window[0] <= now - 60.0:
                    self._window.popleft()
                if len(self._window) >= self.rate_limit:
                    return False
                self._window.append(now)
            self._in_flight += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self._in_flight -= 1


class EmulatorApp(Starlette):
    def __init__(self, company: CompanyState, oauth: OAuthServer, gate: Gate) -> None:
        self.company = company
        self.oauth = oauth
        self.gate = gate
        super().__init__(
            routes=[
                Route("/.well-known/openid_configuration", self.discovery),
                Route("/connect/oauth2", self.authorize),
                Route("/oauth2/v1/tokens/bearer", self.token, methods=["POST"]),
                Route("/oauth2/v1/tokens/revoke", self.revoke, methods=["POST"]),
                Route("/v3/company/{realm}/query", self.data("query"), methods=["GET", "POST"]),
                Route("/v3/company/{realm}/cdc", self.data("cdc"), methods=["GET"]),
                Route("/v3/company/{realm}/{entity}/{id}", self.data("read"), methods=["GET"]),
                Route("/v3/company/{realm}/{entity}", self.data("write"), methods=["POST"]),
            ]
        )

    def _time(self) -> str:
        return self.company.clock.now().isoformat(timespec="milliseconds")

    # --- OAuth ----------------------------------------------------------------------------

    async def discovery(self, request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        return json_response(
            {
                "issuer": "https://oauth.platform.intuit.com/op/v1",
                "authorization_endpoint": f"{base}/connect/oauth2",
                "token_endpoint": f"{base}/oauth2/v1/tokens/bearer",
                "revocation_endpoint": f"{base}/oauth2/v1/tokens/revoke",
                "scopes_supported": ["com.intuit.quickbooks.accounting", "openid"],
            }
        )

    async def authorize(self, request: Request) -> Response:
        self.gate.requests["authorize"] += 1
        params = request.query_params
        try:
            if params.get("response_type") != "code":
                raise OAuthError(400, "unsupported_response_type", "response_type must be code")
            code = self.oauth.authorize(params.get("client_id", ""), params.get("redirect_uri", ""))
        except OAuthError as exc:
            return json_response({"error": exc.error, "error_description": exc.description}, 400)
        target = params["redirect_uri"]
        query = urlencode(
            {"code": code, "state": params.get("state", ""), "realmId": self.company.realm_id}
        )
        return RedirectResponse(f"{target}{'&' if '?' in target else '?'}{query}", status_code=302)

    async def token(self, request: Request) -> Response:
        self.gate.requests["token"] += 1
        form = await _form(request)
        try:
            self._basic_auth(request)
            grant = form.get("grant_type")
            if grant == "authorization_code":
                answer = self.oauth.exchange_code(
                    str(form.get("code", "")), str(form.get("redirect_uri", ""))
                )
            elif grant == "refresh_token":
                answer = self.oauth.refresh(str(form.get("refresh_token", "")))
            else:
                raise OAuthError(400, "unsupported_grant_type", f"grant_type {grant!r}")
        except OAuthError as exc:
            self.gate.statuses[exc.status] += 1
            return json_response(
                {"error": exc.error, "error_description": exc.description}, exc.status
            )
        return json_response(answer)

    async def revoke(self, request: Request) -> Response:
        self.gate.requests["revoke"] += 1
        try:
            self._basic_auth(request)
        except OAuthError as exc:
            return json_response({"error": exc.error}, exc.status)
        body = await request.body()
        try:
            token = str(json.loads(body).get("token", ""))
        except (ValueError, AttributeError):
            token = (await _form(request)).get("token", "")
        self.oauth.revoke(token)
        return Response(status_code=200)

    def _basic_auth(self, request: Request) -> None:
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic "):
            raise OAuthError(401, "invalid_client", "Basic authentication is required")
        try:
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise OAuthError(401, "invalid_client", "malformed Basic credentials") from None
        self.oauth.check_client(client_id, secret)

    # --- data API -------------------------------------------------------------------------

    def data(self, kind: str) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            operation = request.query_params.get("operation", "")
            key = operation if kind == "write" and operation in ("void", "delete") else kind
            self.gate.requests[key] += 1
            response = await self._gated(request, kind)
            self.gate.statuses[response.status_code] += 1
            return response

        return endpoint

    async def _gated(self, request: Request, kind: str) -> Response:
        if self.gate.injected:
            status, body, media_type = self.gate.injected.popleft()
            return Response(body, status, media_type=media_type)
        if not self.gate.enter():
            if self.gate.throttle_xml:
                xml = THROTTLE_XML.format(time=self._time())
                return Response(xml, 429, media_type="application/xml")
            fault = QboFault(
                429,
                "3001",
                "message=ThrottleExceeded; errorCode=003001; statusCode=429",
                "The request limit was reached.  Try again later",
                kind="SERVICE",
            )
            return json_response(fault.body(self._time()), 429)
        try:
            header = request.headers.get("authorization", "")
            realm = self.oauth.realm_for(header[7:]) if header.startswith("Bearer ") else None
            if realm is None:
                now_ms = int(self.company.clock.now().timestamp() * 1000)
                return json_response(auth_failed_body(now_ms), 401)
            if realm != request.path_params["realm"]:
                raise QboFault(
                    403,
                    "120",
                    "Authorization Failure",
                    "the token is not for this company",
                    kind="AuthorizationFault",
                )
            minor = request.query_params.get("minorversion", "")
            if not minor.isdigit() or int(minor) < MIN_MINOR_VERSION:
                raise QboFault(
                    400,
                    "2010",
                    "Request has invalid or unsupported property",
                    f"minorversion {minor or '(none)'} is not supported; use 75 or later",
                )
            return await self._handle(request, kind)
        except QboFault as fault:
            return json_response(fault.body(self._time()), fault.status)
        finally:
            self.gate.leave()

    async def _handle(self, request: Request, kind: str) -> Response:
        company = self.company
        if kind == "query":
            if request.method == "POST":
                text = (await request.body()).decode()
            else:
                text = request.query_params.get("query", "")
            return self._query(text)
        if kind == "cdc":
            entities = [e for e in request.query_params.get("entities", "").split(",") if e]
            since_text = request.query_params.get("changedSince", "")
            if not entities or not since_text:
                raise QboFault(
                    400,
                    "2020",
                    "Required param missing, need to supply the required value for the API",
                    "entities and changedSince",
                )
            since = _since(since_text)
            blocks = []
            for entity, rows in company.changed_since(entities, since):
                block: dict[str, Any] = {"startPosition": 1, "maxResults": len(rows)}
                if rows:
                    block[entity] = rows
                blocks.append(block)
            return json_response({"CDCResponse": [{"QueryResponse": blocks}], "time": self._time()})
        entity = canonical_entity(request.path_params["entity"])
        if kind == "read":
            obj = company.get(entity, request.path_params["id"])
            return json_response({entity: obj, "time": self._time()})
        try:
            body = json.loads(await request.body(), parse_float=Decimal)
        except ValueError:
            raise QboFault(
                400, "2010", "Request has invalid or unsupported property", "the body is not JSON"
            ) from None
        operation = request.query_params.get("operation", "")
        if operation == "delete":
            result = company.delete(entity, body)
        elif operation == "void" or request.query_params.get("include") == "void":
            result = company.void(entity, body)
        elif body.get("Id"):
            result = company.update(entity, body)
        else:
            result = company.create(entity, body)
        return json_response({entity: result, "time": self._time()})

    def _query(self, text: str) -> Response:
        parsed = qbquery.parse(text)
        entity = canonical_entity(parsed.entity)

        def render(page: list[dict[str, Any]], total: int) -> bytes:
            response: dict[str, Any] = {}
            if parsed.count:
                response["totalCount"] = total
            else:
                if page:
                    response[entity] = page
                response["startPosition"] = parsed.start
                response["maxResults"] = len(page)
            body = {"QueryResponse": response, "time": self._time()}
            return json.dumps(body, default=_plain).encode()

        content = self.company.select(entity, lambda rows: qbquery.run(parsed, rows), render)
        return Response(content, 200, media_type="application/json")


async def _form(request: Request) -> dict[str, str]:
    """A urlencoded body (Starlette's own form parser needs python-multipart)."""
    parsed = parse_qs((await request.body()).decode(), keep_blank_values=True)
    return {key: values[0] for key, values in parsed.items()}


def _since(text: str) -> datetime:
    try:
        if "T" not in text:
            text += "T00:00:00+00:00"
        return parse_time(text)
    except ValueError:
        raise QboFault(
            400,
            "2010",
            "Request has invalid or unsupported property",
            f"changedSince {text!r} is not a date-time",
        ) from None


def default_monotonic() -> float:
    return time.monotonic()
