"""The HTTP face of the emulator: Stripe's v1 paths, auth, encoding, paging and idempotency.

Requests are form-encoded with bracket notation (``metadata[k]=v``, ``expand[0]=customer``),
answers are JSON with a ``Request-Id`` header. A missing or unknown key gets a 401 in Stripe's
error shape; ``Stripe-Account`` scopes a request to a connected account; a POST replayed with
the same ``Idempotency-Key`` gets the first answer again.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from arbridge_stripe.emulator.errors import StripeApiError
from arbridge_stripe.emulator.forms import FormError, parse_form
from arbridge_stripe.emulator.objects import API_VERSION
from arbridge_stripe.emulator.ratelimit import TokenBucket
from arbridge_stripe.emulator.routes import ROUTES, Call, Handler
from arbridge_stripe.emulator.state import CURRENT_REQUEST, StripeState

IDEMPOTENCY_TTL_S = 24 * 3600


@dataclass(frozen=True)
class _Saved:
    fingerprint: str
    status: int
    body: bytes
    at: int


@dataclass
class AppStats:
    requests: dict[str, int] = field(default_factory=dict)
    total: int = 0
    http_401: int = 0
    http_429: int = 0
    errors: int = 0


class EmulatorApp:
    """State, keys and counters behind the Starlette app (``app.state.emulator``)."""

    def __init__(self, state: StripeState, api_keys: set[str]) -> None:
        self.state = state
        self.api_keys = set(api_keys)
        self.stats = AppStats()
        # Answers to inject before the next requests (status, Stripe error body), in order.
        self.fail_next: list[tuple[int, dict[str, Any]]] = []
        # None: unlimited. ``TokenBucket(TEST_MODE_RATE)`` behaves like a test-mode account.
        self.limiter: TokenBucket | None = None
        self._idempotent: dict[str, _Saved] = {}
        self._lock = threading.Lock()

    def recall(self, key: str) -> _Saved | None:
        """The first answer given for ``key``, while Stripe would still keep it (24 h)."""
        with self._lock:
            saved = self._idempotent.get(key)
            if saved is not None and self.state.now() - saved.at > IDEMPOTENCY_TTL_S:
                del self._idempotent[key]
                return None
            return saved

    def remember(self, key: str, saved: _Saved) -> None:
        with self._lock:
            self._idempotent[key] = saved

    def count(self, name: str) -> None:
        with self._lock:
            self.stats.requests[name] = self.stats.requests.get(name, 0) + 1
            self.stats.total += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": dict(self.stats.requests),
                "total": self.stats.total,
                "http_401": self.stats.http_401,
                "http_429": self.stats.http_429,
                "errors": self.stats.errors,
            }


def _auth_error(request: Request, keys: set[str]) -> StripeApiError | None:
    header = request.headers.get("authorization", "")
    if not header:
        return StripeApiError(
            401,
            "You did not provide an API key. Provide it in the Authorization header "
            "(Authorization: Bearer YOUR_SECRET_KEY).",
        )
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or key not in keys:
        shown = f"{key[:8]}{'*' * 4}{key[-4:]}" if len(key) > 12 else "****"
        return StripeApiError(401, f"Invalid API Key provided: {shown}")
    return None


def _json(status: int, body: Any, request_id: str) -> Response:
    return JSONResponse(
        body,
        status_code=status,
        headers={"Request-Id": request_id, "Stripe-Version": API_VERSION},
    )


def endpoint(name: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def serve(request: Request) -> Response:
        emulator: EmulatorApp = request.app.state.emulator
        state = emulator.state
        request_id = state.new_id("req")
        emulator.count(name)
        denied = _auth_error(request, emulator.api_keys)
        if denied is not None:
            emulator.stats.http_401 += 1
            return _json(denied.status, denied.body(), request_id)
        if emulator.limiter is not None and not emulator.limiter.take():
            emulator.stats.http_429 += 1
            limited = StripeApiError(
                429,
                "Request rate limit exceeded. Learn more about rate limits here "
                "https://stripe.com/docs/rate-limits.",
                code="rate_limit",
            )
            return _json(429, limited.body(), request_id)
        if emulator.fail_next:
            status, body = emulator.fail_next.pop(0)
            emulator.stats.errors += 1
            return _json(status, body, request_id)
        raw = (await request.body()).decode("utf-8", "replace")
        text = raw if request.method == "POST" else request.url.query
        try:
            params = parse_form(text)
        except FormError as exc:
            return _json(400, StripeApiError(400, str(exc)).body(), request_id)
        account = request.headers.get("stripe-account") or None
        key = request.headers.get("idempotency-key") if request.method == "POST" else None
        fingerprint = json.dumps([request.url.path, account, params], sort_keys=True)
        if key is not None:
            seen = emulator.recall(key)
            if seen is not None:
                if seen.fingerprint != fingerprint:
                    error = StripeApiError(
                        400,
                        "Keys for idempotent requests can only be used with the same parameters "
                        "they were first used with.",
                        type="idempotency_error",
                    )
                    return _json(400, error.body(), request_id)
                replay = Response(seen.body, status_code=seen.status, media_type="application/json")
                replay.headers["Request-Id"] = request_id
                replay.headers["Idempotent-Replayed"] = "true"
                return replay
        token = CURRENT_REQUEST.set((request_id, key))
        try:
            call = Call(params=params, account=account, path=dict(request.path_params))
            status, body = 200, handler(state, call)
        except StripeApiError as exc:
            status, body = exc.status, exc.body()
        finally:
            CURRENT_REQUEST.reset(token)
        response = _json(status, body, request_id)
        if key is not None:
            emulator.remember(key, _Saved(fingerprint, status, bytes(response.body), state.now()))
        return response

    return serve


def create_app(state: StripeState, *, api_keys: set[str]) -> Starlette:
    routes = [
        Route(path, endpoint(f"{method} {path}", handler), methods=[method])
        for method, path, handler in ROUTES
    ]
    app = Starlette(routes=routes)
    app.state.emulator = EmulatorApp(state, api_keys)
    return app
