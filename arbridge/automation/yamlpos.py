"""YAML loading that remembers where every key and value came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from arbridge.errors import YamlError

Loc = tuple[str | int, ...]


@dataclass
class Document:
    """Parsed data plus the position of each key (``keys``) and value (``values``) by path."""

    path: str
    data: Any
    keys: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    values: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    duplicates: list[tuple[Loc, tuple[int, int]]] = field(default_factory=list)

    def where(self, loc: Loc, *, key: bool = False) -> tuple[int, int]:
        """The position of ``loc``, or of its nearest recorded ancestor."""
        for end in range(len(loc), -1, -1):
            part = tuple(loc[:end])
            table = self.keys if key and end == len(loc) else self.values
            mark = table.get(part) or self.values.get(part)
            if mark is not None:
                return mark
        return (1, 1)


def _mark(node: yaml.Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def _record(doc: Document, node: yaml.Node, loc: Loc) -> None:
    doc.values[loc] = _mark(node)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key == "<<":
                continue
            if key in seen:
                doc.duplicates.append(((*loc, key), _mark(key_node)))
            seen.add(key)
            doc.keys[(*loc, key)] = _mark(key_node)
            _record(doc, value_node, (*loc, key))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record(doc, item, (*loc, index))


def parse_yaml(text: str, path: str) -> Document:
    """Parse one YAML document (safe types only), raising YamlError with its position."""
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise YamlError(path, line, col, f"invalid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise YamlError(path, 1, 1, f"invalid YAML: {exc}") from None
    doc = Document(path=path, data=data)
    if node is not None:
        _record(doc, node, ())
    return doc


def load_yaml(path: Path) -> Document:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise YamlError(str(path), 1, 1, f"cannot read file: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise YamlError(str(path), 1, 1, "cannot read file: not UTF-8 text") from None
    return parse_yaml(text, str(path))
