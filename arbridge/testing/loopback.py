"""Kept for imports: the server lives in ``arbridge.web.server``."""

from arbridge.web.server import HttpServer, LoopbackServer

__all__ = ["HttpServer", "LoopbackServer"]
