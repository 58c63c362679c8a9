"""The engine names no vendor: outside the demo composition (``arbridge/demo``) and the shipped
testing kit (``arbridge/testing``), no identifier or string literal of ``arbridge`` mentions
ClickUp, Stripe or QuickBooks. A vendor's name belongs to its connector package; the engine
learns it from the installed connectors. Comments and docstrings may name one as an example.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "arbridge"
EXEMPT = ("demo", "testing")
VENDOR = re.compile(r"clickup|stripe|quickbooks|qbo", re.IGNORECASE)


def docstrings(tree: ast.AST) -> set[int]:
    """ids of the constant nodes that are docstrings (module, class, function)."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
        ):
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def names_in(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """Every identifier and string literal of the code, with its line."""
    skip = docstrings(tree)
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            yield line, node.value
        elif isinstance(node, ast.Name):
            yield line, node.id
        elif isinstance(node, ast.Attribute):
            yield line, node.attr
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            yield line, node.name
        elif isinstance(node, ast.arg) or (isinstance(node, ast.keyword) and node.arg):
            yield line, node.arg
        elif isinstance(node, ast.alias):
            yield line, node.name
            if node.asname:
                yield line, node.asname
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield line, node.module


def engine_files() -> list[Path]:
    return sorted(
        path for path in ROOT.rglob("*.py") if path.relative_to(ROOT).parts[0] not in EXEMPT
    )


def vendor_names(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [
        f"{path.relative_to(ROOT.parent) if path.is_relative_to(ROOT) else path}:{line}: {text!r}"
        for line, text in names_in(tree)
        if VENDOR.search(text)
    ]


def test_the_engine_names_no_vendor() -> None:
    found = [problem for path in engine_files() for problem in vendor_names(path)]
    assert found == [], "vendor names in engine code:\n" + "\n".join(found)


def test_the_check_sees_code_and_skips_docstrings_and_comments(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        '"""Mirrors into ClickUp, for example."""\n'
        "# Stripe sends webhooks\n"
        "def build(name: str = 'quickbooks') -> None:\n"
        '    """Like QBO does."""\n'
        "    clickup_sink = name\n"
        "    print(f'{clickup_sink} via Stripe')\n"
    )
    found = sorted(entry.split(": ", 1)[1] for entry in vendor_names(sample))
    assert found == ["' via Stripe'", "'clickup_sink'", "'clickup_sink'", "'quickbooks'"]
