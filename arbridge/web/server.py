"""Serve an ASGI app with uvicorn on a background thread: the daemon's HTTP server, and the
emulators' and tests' loopback servers."""

from __future__ import annotations

import socket
import threading
from types import TracebackType
from typing import Self

import uvicorn
from starlette.types import ASGIApp


class _Server(uvicorn.Server):
    """uvicorn's server, reporting the end of startup (successful or not) through an Event."""

    def __init__(self, config: uvicorn.Config, ready: threading.Event) -> None:
        super().__init__(config)
        self._ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self._ready.set()


class HttpServer:
    """Serve ``app`` with uvicorn on a background thread.

    ``port=0`` lets the OS choose a free port; the socket is bound before the thread starts,
    so ``base_url`` is known and connectable as soon as ``start()`` returns.

        with HttpServer(app) as server:
            httpx.get(server.base_url + "/health")
    """

    def __init__(
        self,
        app: ASGIApp,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        log_level: str = "warning",
        startup_timeout: float = 10.0,
        shutdown_timeout: int = 5,
    ) -> None:
        self.app = app
        self.host = host
        self._requested_port = port
        self.port = port
        self.log_level = log_level
        self.startup_timeout = startup_timeout
        self.shutdown_timeout = shutdown_timeout
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._error: BaseException | None = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the server is not running")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("the server is already running")
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # An explicit IPPROTO_TCP matters: asyncio only disables Nagle's algorithm on accepted
        # sockets whose proto says TCP, and with it on, each keep-alive request waits ~40 ms.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self._requested_port))
        except OSError:
            sock.close()
            raise
        self.port = int(sock.getsockname()[1])
        config = uvicorn.Config(
            self.app,
            log_level=self.log_level,
            # Leave the process's logging configuration alone; uvicorn's loggers propagate.
            log_config=None,
            lifespan="auto",
            timeout_graceful_shutdown=self.shutdown_timeout,
        )
        ready = threading.Event()
        server = _Server(config, ready)
        self._server, self._socket, self._error = server, sock, None
        self._thread = threading.Thread(
            target=self._serve, name=f"loopback-{self.port}", daemon=True
        )
        self._thread.start()
        if not ready.wait(self.startup_timeout) or not server.started:
            self.stop()
            raise RuntimeError(f"server did not start on {self.host}:{self.port}") from self._error

    def _serve(self) -> None:
        assert self._server is not None
        assert self._socket is not None
        try:
            self._server.run(sockets=[self._socket])
        except BaseException as exc:  # includes uvicorn's SystemExit on a failed startup
            self._error = exc

    def stop(self) -> None:
        server, thread, sock = self._server, self._thread, self._socket
        if server is None:
            return
        server.should_exit = True
        if thread is not None:
            thread.join(self.shutdown_timeout + 1)
            if thread.is_alive():
                server.force_exit = True
                thread.join(self.shutdown_timeout)
        if sock is not None:
            sock.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


# The name the tests and the demo know it by: they serve on 127.0.0.1 with a free port.
LoopbackServer = HttpServer
