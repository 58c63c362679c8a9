"""A CliRunner that hands each command the context object the test set up."""

from __future__ import annotations

from typing import Any

from click.testing import Result
from typer.testing import CliRunner

from arbridge.cli.context import CliContext


class ContextRunner(CliRunner):
    """``runner.context`` is the ``ctx.obj`` every invocation gets (an empty one by default:
    no store-backed data)."""

    def __init__(self) -> None:
        super().__init__()
        self.context = CliContext()

    def invoke(self, app: Any, args: Any = None, **kwargs: Any) -> Result:  # type: ignore[override]
        kwargs.setdefault("obj", self.context)
        return super().invoke(app, args, **kwargs)
