"""``config.example.yaml`` documents every registered config section, and what it shows parses.

Optional connector sections are shown commented out; each is uncommented here and validated by
its connector's own section class, so an example that drifts from the code fails.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
import yaml

from arbridge.ports.connector import discover
from arbridge.settings import ConnectorSettings, load_settings, settings_class

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.yaml"


def section_text(text: str, name: str) -> str:
    """The block of ``name:`` (live or commented out), uncommented."""
    lines = text.splitlines()
    start = next(
        i for i, line in enumerate(lines) if re.fullmatch(rf"(# )?{name}:\s*", line.rstrip())
    )
    commented = lines[start].startswith("# ")
    block = [lines[start].removeprefix("# ")]
    for line in lines[start + 1 :]:
        body = line.removeprefix("#") if commented else line
        if not body.startswith("  "):
            break
        block.append(body)
    return "\n".join(block)


def test_the_example_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLICKUP_TOKEN", "pk_example_123456")
    settings = load_settings(EXAMPLE)
    assert settings.sink in discover()


@pytest.mark.parametrize("name", sorted(discover()))
def test_every_connector_section_is_documented_and_parses(name: str) -> None:
    section = getattr(discover()[name], "settings_section", None)
    if section is None:
        pytest.skip(f"{name} has no config section")
    assert issubclass(section, ConnectorSettings)
    text = EXAMPLE.read_text(encoding="utf-8")
    block = section_text(text, name)
    # ${VARIABLES} stand for secrets kept in the environment: any value will do here.
    loaded = yaml.safe_load(re.sub(r"\$\{[^}]*\}", "example-value", block))[name]
    for key in section.model_fields:
        assert key in loaded, f"config.example.yaml does not document {name}.{key}"
    section.model_validate(loaded)


def test_every_section_of_the_engine_is_documented() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    for name in settings_class().model_fields:
        assert re.search(rf"^(# )?{name}:", text, re.M), f"{name} is not in config.example.yaml"


def test_section_text_reads_a_commented_block() -> None:
    text = textwrap.dedent(
        """\
        # demo:
        #   a: 1
        #   b: x   # note
        other: 2
        """
    )
    assert yaml.safe_load(section_text(text, "demo")) == {"demo": {"a": 1, "b": "x"}}
