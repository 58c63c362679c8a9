"""The Starlette application ``arbridge run`` serves.

A webhook is checked in this order, cheapest refusal first: known provider, content type, size,
signature over the raw bytes, body shape. Only a delivery that passes everything is written to
the inbox, and it is acknowledged only once that write has committed; processing happens later
on the inbox worker, so a slow ClickUp never makes a provider time out and retry.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from arbridge.clock import Clock
from arbridge.errors import WebhookRejected
from arbridge.ports.source import InboundEvent
from arbridge.store.inbox import StoreResult, store_events
from arbridge.web.guard import check_raw, check_storable
from arbridge.web.metrics import Metrics

log = structlog.get_logger(__name__)

Verifier = Callable[[Mapping[str, str], bytes], list[InboundEvent]]
# Completes an OAuth grant from the redirect URL; returns the connected account.
OAuthCallback = Callable[[str], str]
# What parsing hostile input raises (json, int(), datetime, base64, str.encode, hmac); an
# outage (database, network) raises other classes and still answers 503.
_UNREADABLE = (ValueError, TypeError, OverflowError, RecursionError, UnicodeError, LookupError)


@dataclass
class WebContext:
    engine: Engine
    clock: Clock
    metrics: Metrics
    verifiers: dict[str, Verifier]
    readiness: Callable[[], tuple[bool, dict[str, Any]]]
    max_body_bytes: int = 1_048_576
    on_stored: Callable[[], None] = lambda: None
    oauth_callbacks: dict[str, OAuthCallback] = field(default_factory=dict)
    # Stores one delivery's events durably; the default commits each delivery on its own.
    store: Callable[[list[InboundEvent], datetime], StoreResult] | None = None
    # Every installed connector's name: others get 404 without a provider label of their own.
    known_providers: tuple[str, ...] = ()


def _reject(ctx: WebContext, provider: str, status: int, reason: str) -> JSONResponse:
    ctx.metrics.rejected.labels(provider=provider, status=str(status)).inc()
    log.warning("webhook refused", provider=provider, status=status, reason=reason)
    return JSONResponse({"error": reason}, status_code=status)


async def _read_capped(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it grows past ``limit`` (never buffered whole)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def create_web_app(ctx: WebContext) -> Starlette:
    async def webhook(request: Request) -> Response:
        started = time.perf_counter()
        provider = request.path_params["provider"]
        if provider not in ctx.known_providers:
            return _reject(ctx, "unknown", 404, f"no webhook endpoint for {provider!r}")
        verifier = ctx.verifiers.get(provider)
        if verifier is None:
            return _reject(ctx, provider, 404, f"{provider} is not configured on this arbridge")
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return _reject(ctx, provider, 415, "content type must be application/json")
        declared = request.headers.get("content-length")
        if (
            declared is not None
            and declared.isascii()
            and declared.isdigit()
            and int(declared) > ctx.max_body_bytes
        ):
            return _reject(ctx, provider, 413, f"body larger than {ctx.max_body_bytes} bytes")
        try:
            body = await _read_capped(request, ctx.max_body_bytes)
        except ClientDisconnect:
            return _reject(ctx, provider, 400, "client disconnected")
        if body is None:
            return _reject(ctx, provider, 413, f"body larger than {ctx.max_body_bytes} bytes")
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            check_raw(body)
            events = verifier(headers, body)
            check_storable(events)
        except WebhookRejected as rejected:
            return _reject(ctx, provider, rejected.status, rejected.reason)
        except _UNREADABLE as exc:
            # A verifier that trips over input it did not foresee is still looking at a bad
            # request, not at a failure of ours: refuse it rather than answer 500. Only the class
            # is logged (a message may quote the body), so the verifier can learn to refuse it.
            log.warning("webhook unreadable", provider=provider, error=type(exc).__name__)
            return _reject(ctx, provider, 400, "delivery could not be read")
        try:
            if ctx.store is not None:
                result = await run_in_threadpool(ctx.store, events, ctx.clock.now())
            else:
                result = await run_in_threadpool(store_events, ctx.engine, events, ctx.clock.now())
        except Exception as exc:
            # Not acknowledged: the provider will deliver it again. Only the error's class is
            # logged: a database error quotes the statement, and with it the payload.
            log.error("webhook not stored", provider=provider, error=type(exc).__name__)
            return JSONResponse({"error": "could not store the event; retry"}, status_code=503)
        ctx.metrics.received.labels(provider=provider).inc(result.stored)
        ctx.metrics.duplicates.labels(provider=provider).inc(result.duplicates)
        if result.stored:
            ctx.on_stored()
        ctx.metrics.ack_seconds.labels(provider=provider).observe(time.perf_counter() - started)
        log.info(
            "webhook stored",
            provider=provider,
            events=len(events),
            stored=result.stored,
            duplicates=result.duplicates,
        )
        return JSONResponse({"stored": result.stored, "duplicates": result.duplicates})

    async def healthz(_request: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(_request: Request) -> Response:
        ready, detail = await run_in_threadpool(ctx.readiness)
        return JSONResponse({"ready": ready, **detail}, status_code=200 if ready else 503)

    async def metrics(_request: Request) -> Response:
        payload = await run_in_threadpool(generate_latest, ctx.metrics.registry)
        return Response(payload, media_type=CONTENT_TYPE_LATEST)

    async def oauth_callback(request: Request) -> Response:
        provider = request.path_params["provider"]
        complete = ctx.oauth_callbacks.get(provider)
        if complete is None:
            return PlainTextResponse(f"{provider} OAuth is not configured here", status_code=404)
        if "error" in request.query_params:
            reason = request.query_params.get("error", "")
            return PlainTextResponse(
                f"{provider} refused the connection ({reason}); run the connect command again",
                status_code=400,
            )
        try:
            account = await run_in_threadpool(complete, str(request.url))
        except Exception as exc:
            problems = getattr(exc, "problems", None) or ["the authorization could not be used"]
            log.warning("oauth callback refused", provider=provider, problem=problems[0])
            return PlainTextResponse("\n".join(problems), status_code=400)
        return HTMLResponse(
            f"<p>arbridge is connected to {provider} ({account}). You can close this page.</p>"
        )

    return Starlette(
        routes=[
            Route("/webhooks/{provider}", webhook, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/oauth/{provider}/callback", oauth_callback, methods=["GET"]),
        ]
    )
