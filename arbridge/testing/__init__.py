"""Helpers for running arbridge against local services in tests, the demo and the sandbox."""

from arbridge.testing.loopback import LoopbackServer

__all__ = ["LoopbackServer"]
