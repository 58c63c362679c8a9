"""Every ``--help`` of the ``arbridge`` program (connectors' commands included) reads as plain
text: no reST markup from docstrings, no type placeholders on flags."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import typer
from typer.testing import CliRunner

from arbridge.cli.main import app


def command_paths(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    for name, sub in getattr(command, "commands", {}).items():
        yield from command_paths(sub, (*path, name))


def test_help_text_is_clean() -> None:
    runner = CliRunner()
    paths = list(command_paths(typer.main.get_command(app)))
    assert ("quickbooks", "connect") in paths
    assert ("clickup", "webhook", "create") in paths
    problems = []
    for path in paths:
        result = runner.invoke(app, [*path, "--help"], terminal_width=100)
        assert result.exit_code == 0, (path, result.output)
        for mark in ("``", "<bool>", ":func:", ":class:"):
            if mark in result.output:
                problems.append(f"arbridge {' '.join(path)} --help shows {mark!r}")
    assert problems == [], "\n".join(problems)
