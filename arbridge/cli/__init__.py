"""The ``arbridge`` command line."""

from arbridge.cli.main import main

__all__ = ["main"]
