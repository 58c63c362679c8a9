"""The ClickUp API v2 emulator as a Starlette application.

Every request under ``/api/v2`` passes a gate before routing: it is counted by route template,
may be delayed, dropped, failed or throttled by the fault injector, is authenticated, and is
rate limited per token. Control endpoints under ``/_emulator`` bypass the gate.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Match, Route
from starlette.types import Message, Receive, Scope, Send

from arbridge_clickup.emulator.board import render_board
from arbridge_clickup.emulator.errors import ClickUpError
from arbridge_clickup.emulator.faults import (
    INTERNAL_ERROR_BODY,
    RATE_LIMIT_BODY,
    FaultConfig,
    FaultInjector,
    HeaderMode,
    RateDecision,
    RateLimiter,
)
from arbridge_clickup.emulator.fixture import default_workspace
from arbridge_clickup.emulator.model import Task, Token
from arbridge_clickup.emulator.query import TaskQuery
from arbridge_clickup.emulator.state import DROPPED, EmulatorState
from arbridge_clickup.emulator.webhooks import Collector, WebhookDispatcher, collector_named

API_PREFIX = "/api/v2"
_TOKEN_KEY = "clickup_emulator.token"  # noqa: S105 - a scope key, not a credential


class ConnectionDropped(Exception):
    """Aborts a request without a response where the server's socket cannot be reached."""


# --- the application ------------------------------------------------------------------------


class EmulatorApp(Starlette):
    """Starlette app whose ``emulator``, ``limiter``, ``faults`` and ``dispatcher`` are live."""

    def __init__(
        self,
        emulator: EmulatorState,
        limiter: RateLimiter,
        faults: FaultInjector,
        dispatcher: WebhookDispatcher,
    ) -> None:
        self.emulator = emulator
        self.limiter = limiter
        self.faults = faults
        self.dispatcher = dispatcher
        super().__init__(
            routes=_routes(self),
            exception_handlers={ClickUpError: _clickup_error, HTTPException: _http_error},
            lifespan=_lifespan,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX + "/"):
            await super().__call__(scope, receive, send)
            return
        self.emulator.count_request(self._route_key(scope))
        counted = self._counting(send)
        decision = self.faults.decide()
        if decision.latency:
            await asyncio.sleep(decision.latency)
        if decision.action == "drop":
            self.emulator.count_status(DROPPED)
            await _drop_connection(send)
            return
        if decision.action == "error":
            await JSONResponse(INTERNAL_ERROR_BODY, 500)(scope, receive, counted)
            return
        header = _header(scope, b"authorization")
        if decision.action == "throttle":
            forced = self.limiter.peek(_token_key(header))
            await self._throttled(forced, scope, receive, counted)
            return
        try:
            token = self.emulator.authenticate(header)
        except ClickUpError as exc:
            await JSONResponse(exc.body(), exc.status)(scope, receive, counted)
            return
        rate = self.limiter.hit(token.value)
        if rate is not None and not rate.allowed:
            await self._throttled(rate, scope, receive, counted)
            return
        scope[_TOKEN_KEY] = token
        if rate is not None and self.limiter.header_mode == "always":
            counted = _with_headers(counted, rate.headers())
        await super().__call__(scope, receive, counted)

    def collector(self, email: str = "ada@example.com") -> Collector:
        """Act as the workspace member with this e-mail (a test and demo hook)."""
        return collector_named(self.emulator, email)

    async def _throttled(
        self, rate: RateDecision | None, scope: Scope, receive: Receive, send: Send
    ) -> None:
        headers = rate.headers() if rate is not None else None
        await JSONResponse(RATE_LIMIT_BODY, 429, headers=headers)(scope, receive, send)

    def _route_key(self, scope: Scope) -> str:
        for route in self.router.routes:
            if isinstance(route, Route) and route.matches(scope)[0] is not Match.NONE:
                return f"{scope['method']} {route.path.removeprefix(API_PREFIX)}"
        return f"{scope['method']} <unmatched>"

    def _counting(self, send: Send) -> Send:
        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.emulator.count_status(int(message["status"]))
            await send(message)

        return counting_send


def create_app(
    state: EmulatorState | None = None,
    *,
    rate_limit: int | None = 100,
    rate_limit_headers: HeaderMode = "always",
    clock: Callable[[], float] = time.time,
    faults: FaultConfig | None = None,
    webhooks: bool = True,
    webhook_transport: httpx.BaseTransport | None = None,
) -> EmulatorApp:
    """Build the emulator around ``state`` (default: ``default_workspace()``).

    ``clock`` drives the rate-limit windows; ``webhooks=False`` keeps events queued in
    ``state.outbox`` until ``app.dispatcher.flush()`` is called.
    """
    emulator = state if state is not None else default_workspace()
    limiter = RateLimiter(rate_limit, clock=clock, header_mode=rate_limit_headers)
    injector = FaultInjector(faults if faults is not None else FaultConfig())
    dispatcher = WebhookDispatcher(emulator, enabled=webhooks, transport=webhook_transport)
    return EmulatorApp(emulator, limiter, injector, dispatcher)


@contextlib.asynccontextmanager
async def _lifespan(app: Starlette) -> AsyncIterator[None]:
    yield
    if isinstance(app, EmulatorApp):
        app.dispatcher.close()


async def _drop_connection(send: Send) -> None:
    # uvicorn's `send` is a bound method of its request cycle, which holds the socket's
    # transport. Closing it makes the client see the connection die with no response at all.
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None or not callable(getattr(transport, "close", None)):
        raise ConnectionDropped("fault injection dropped the connection")
    transport.close()
    # Let the server notice the disconnect before this request returns, so it neither logs
    # a missing response nor tries to send a 500 down the closed socket.
    await asyncio.sleep(0)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _token_key(header: str | None) -> str:
    value = (header or "").strip()
    return value[7:].strip() if value.lower().startswith("bearer ") else value


def _with_headers(send: Send, extra: Mapping[str, str]) -> Send:
    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            for key, value in extra.items():
                headers[key] = value
        await send(message)

    return send_with_headers


async def _clickup_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ClickUpError)
    return JSONResponse(exc.body(), exc.status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if request.url.path.startswith(API_PREFIX + "/"):
        body = {"err": "Route not found", "ECODE": "APP_001"}
        return JSONResponse(body, exc.status_code, headers=exc.headers)
    return Response(exc.detail, exc.status_code, headers=exc.headers)


# --- request helpers ------------------------------------------------------------------------


def _token(request: Request) -> Token:
    token = request.scope[_TOKEN_KEY]
    assert isinstance(token, Token)
    return token


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ClickUpError(400, "Body is not valid JSON", "INPUT_001") from None
    if not isinstance(body, dict):
        raise ClickUpError(400, "Body must be a JSON object", "INPUT_002")
    return body


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "").strip().lower() in ("true", "1")


def _params(request: Request) -> dict[str, list[str]]:
    return {key: request.query_params.getlist(key) for key in request.query_params}


# --- routes ---------------------------------------------------------------------------------


def _routes(app: EmulatorApp) -> list[Route]:
    state = app.emulator

    def task_of(request: Request) -> Task:
        return state.task_for(
            _token(request),
            request.path_params["task_id"],
            custom_task_ids=_flag(request, "custom_task_ids"),
            team_id=request.query_params.get("team_id"),
        )

    def user_of(request: Request) -> int:
        return _token(request).user_id

    async def get_teams(request: Request) -> Response:
        return JSONResponse(state.teams_json(_token(request)))

    async def get_user(request: Request) -> Response:
        user = state.user(user_of(request)).as_json()
        user.update({"week_start_day": 1, "global_font_support": False, "timezone": "UTC"})
        return JSONResponse({"user": user})

    async def get_list(request: Request) -> Response:
        return JSONResponse(state.list_json(state.list_for(_token(request), _path(request))))

    async def get_fields(request: Request) -> Response:
        return JSONResponse(state.fields_json(state.list_for(_token(request), _path(request))))

    async def create_task(request: Request) -> Response:
        lst = state.list_for(_token(request), _path(request))
        task = state.create_task(lst.id, await _body(request), user_id=user_of(request))
        return JSONResponse(state.task_json(task, markdown=True))

    async def list_tasks(request: Request) -> Response:
        lst = state.list_for(_token(request), _path(request))
        return _task_page(request, [lst])

    async def team_tasks(request: Request) -> Response:
        team = state.team_for(_token(request), request.path_params["team_id"])
        return _task_page(request, [lst for lst in state.lists.values() if lst.team_id == team.id])

    def _task_page(request: Request, lists: list[Any]) -> Response:
        query = TaskQuery.from_params(_params(request))
        state.check_filters(lists, query)
        tasks, last_page = state.query_tasks(lists, query)
        rendered = [state.task_json(t, markdown=query.include_markdown) for t in tasks]
        return JSONResponse({"tasks": rendered, "last_page": last_page})

    async def get_task(request: Request) -> Response:
        task = task_of(request)
        markdown = _flag(request, "include_markdown_description")
        return JSONResponse(state.task_json(task, markdown=markdown))

    async def update_task(request: Request) -> Response:
        task = task_of(request)
        state.update_task(task, await _body(request), user_id=user_of(request))
        return JSONResponse(state.task_json(task))

    async def delete_task(request: Request) -> Response:
        state.delete_task(task_of(request), user_id=user_of(request))
        return Response(status_code=204)

    async def set_field(request: Request) -> Response:
        task = task_of(request)
        field_id = request.path_params["field_id"]
        state.set_field(task, field_id, await _body(request), user_id=user_of(request))
        return JSONResponse({})

    async def clear_field(request: Request) -> Response:
        task = task_of(request)
        state.clear_field(task, request.path_params["field_id"], user_id=user_of(request))
        return JSONResponse({})

    async def add_tag(request: Request) -> Response:
        task = task_of(request)
        state.add_tag(task, request.path_params["tag_name"], user_id=user_of(request))
        return JSONResponse({})

    async def create_comment(request: Request) -> Response:
        task = task_of(request)
        comment = state.add_comment(task, await _body(request), user_id=user_of(request))
        return JSONResponse({"id": comment.id, "hist_id": comment.hist_id, "date": comment.date})

    async def list_comments(request: Request) -> Response:
        task = task_of(request)
        start_raw = request.query_params.get("start")
        try:
            start = int(start_raw) if start_raw else None
        except ValueError:
            raise ClickUpError(
                400, "Invalid value for query parameter start", "INPUT_003"
            ) from None
        page = state.comments_page(task, start=start, start_id=request.query_params.get("start_id"))
        return JSONResponse({"comments": [state.comment_json(c) for c in page]})

    async def create_webhook(request: Request) -> Response:
        team = state.team_for(_token(request), request.path_params["team_id"])
        hook = state.create_webhook(team, await _body(request), user_id=user_of(request))
        return JSONResponse({"id": hook.id, "webhook": state.webhook_json(hook)})

    async def list_webhooks(request: Request) -> Response:
        team = state.team_for(_token(request), request.path_params["team_id"])
        hooks = [h for h in state.webhooks.values() if h.team_id == team.id]
        return JSONResponse({"webhooks": [state.webhook_json(h) for h in hooks]})

    async def update_webhook(request: Request) -> Response:
        hook = state.webhook_for(_token(request), request.path_params["webhook_id"])
        state.update_webhook(hook, await _body(request))
        return JSONResponse({"id": hook.id, "webhook": state.webhook_json(hook)})

    async def delete_webhook(request: Request) -> Response:
        state.delete_webhook(state.webhook_for(_token(request), request.path_params["webhook_id"]))
        return JSONResponse({})

    def api(path: str, endpoint: Callable[[Request], Any], method: str) -> Route:
        return Route(API_PREFIX + path, endpoint, methods=[method])

    routes = [
        api("/team", get_teams, "GET"),
        api("/user", get_user, "GET"),
        api("/list/{list_id}", get_list, "GET"),
        api("/list/{list_id}/field", get_fields, "GET"),
        api("/list/{list_id}/task", create_task, "POST"),
        api("/list/{list_id}/task", list_tasks, "GET"),
        api("/team/{team_id}/task", team_tasks, "GET"),
        api("/task/{task_id}", get_task, "GET"),
        api("/task/{task_id}", update_task, "PUT"),
        api("/task/{task_id}", delete_task, "DELETE"),
        api("/task/{task_id}/field/{field_id}", set_field, "POST"),
        api("/task/{task_id}/field/{field_id}", clear_field, "DELETE"),
        api("/task/{task_id}/tag/{tag_name}", add_tag, "POST"),
        api("/task/{task_id}/comment", create_comment, "POST"),
        api("/task/{task_id}/comment", list_comments, "GET"),
        api("/team/{team_id}/webhook", create_webhook, "POST"),
        api("/team/{team_id}/webhook", list_webhooks, "GET"),
        api("/webhook/{webhook_id}", update_webhook, "PUT"),
        api("/webhook/{webhook_id}", delete_webhook, "DELETE"),
    ]
    return routes + _control_routes(app)


def _path(request: Request) -> str:
    value = request.path_params["list_id"]
    assert isinstance(value, str)
    return value


def _control_routes(app: EmulatorApp) -> list[Route]:
    state = app.emulator

    async def stats(request: Request) -> Response:
        return JSONResponse(state.stats())

    async def reset_stats(request: Request) -> Response:
        state.reset_stats()
        return JSONResponse(state.stats())

    async def reset(request: Request) -> Response:
        state.reset(webhooks=_flag(request, "webhooks"))
        app.limiter.reset()
        return JSONResponse({"ok": True})

    def fault_settings() -> dict[str, Any]:
        return {
            **app.faults.config.as_json(),
            "rate_limit": app.limiter.limit,
            "rate_limit_headers": app.limiter.header_mode,
        }

    async def get_faults(request: Request) -> Response:
        return JSONResponse(fault_settings())

    async def set_faults(request: Request) -> Response:
        body = dict(await _body(request))
        limit = body.pop("rate_limit", app.limiter.limit)
        mode = body.pop("rate_limit_headers", app.limiter.header_mode)
        if limit is not None and (
            not isinstance(limit, int) or isinstance(limit, bool) or limit < 1
        ):
            raise ClickUpError(400, "rate_limit must be a positive integer or null", "EMU_001")
        if mode not in ("always", "on_429"):
            raise ClickUpError(400, "rate_limit_headers must be always or on_429", "EMU_001")
        try:
            if body.pop("reset", False):
                app.faults.reset()
            app.faults.configure(body)
        except (TypeError, ValueError) as exc:
            raise ClickUpError(400, str(exc), "EMU_001") from None
        app.limiter.limit = limit
        app.limiter.header_mode = mode
        return JSONResponse(fault_settings())

    async def flush_webhooks(request: Request) -> Response:
        reverse, duplicate = _flag(request, "reverse"), _flag(request, "duplicate")
        attempts = await asyncio.to_thread(
            app.dispatcher.flush, reverse=reverse, duplicate=duplicate
        )
        return JSONResponse({"attempts": len(attempts), "ok": sum(a.ok for a in attempts)})

    async def pause_webhooks(request: Request) -> Response:
        app.dispatcher.pause()
        return JSONResponse({"paused": True, "pending": len(app.dispatcher.pending())})

    async def resume_webhooks(request: Request) -> Response:
        app.dispatcher.resume()
        return JSONResponse({"paused": False, "pending": len(app.dispatcher.pending())})

    async def board(request: Request) -> Response:
        list_id = request.query_params.get("list_id")
        if list_id is not None and list_id not in state.lists:
            return Response("Unknown list", 404)
        return HTMLResponse(render_board(state, list_id=list_id))

    async def home(request: Request) -> Response:
        return RedirectResponse("/_emulator/board", status_code=307)

    return [
        Route("/_emulator/stats", stats, methods=["GET"]),
        Route("/_emulator/stats/reset", reset_stats, methods=["POST"]),
        Route("/_emulator/reset", reset, methods=["POST"]),
        Route("/_emulator/faults", get_faults, methods=["GET"]),
        Route("/_emulator/faults", set_faults, methods=["POST"]),
        Route("/_emulator/webhooks/pause", pause_webhooks, methods=["POST"]),
        Route("/_emulator/webhooks/resume", resume_webhooks, methods=["POST"]),
        Route("/_emulator/webhooks/flush", flush_webhooks, methods=["POST"]),
        Route("/_emulator/board", board, methods=["GET"]),
        Route("/", home, methods=["GET"]),
    ]
