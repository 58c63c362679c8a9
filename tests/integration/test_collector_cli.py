"""``arbridge clickup webhook create`` against the emulator: registers once, stores the secret."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from arbridge_clickup.cli import CREDENTIAL_NAME
from arbridge_clickup.emulator import EmulatorState
from arbridge_clickup.plugin import connector
from typer.testing import CliRunner

from arbridge.cli.main import app
from arbridge.store.credentials import KEY_ENV, SqlCredentialStore, new_key
from arbridge.store.db import make_engine
from arbridge.testing.loopback import LoopbackServer

PUBLIC = "https://arbridge.example.com"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[EmulatorState, Path]]:
    emulator = connector.emulator(rate_limit=None)
    emulator.app.dispatcher.pause()
    with LoopbackServer(emulator.app) as server:
        config: dict[str, Any] = {
            "database_url": f"sqlite:///{tmp_path / 'cli.db'}",
            "clickup": emulator.config(server.base_url),
            "server": {"public_url": PUBLIC + "/"},
        }
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(config))
        yield emulator.app.emulator, path


def test_webhook_create_registers_once_and_stores_the_secret_never_printing_it(
    served: tuple[EmulatorState, Path],
) -> None:
    state, config = served
    key = new_key()
    runner = CliRunner()
    first = runner.invoke(
        app, ["clickup", "webhook", "create", "-c", str(config)], env={KEY_ENV: key}
    )
    assert first.exit_code == 0, first.output
    (hook,) = state.webhooks.values()
    assert hook.endpoint == PUBLIC + "/webhooks/clickup"
    assert hook.id in first.output
    assert hook.secret not in first.output
    again = runner.invoke(
        app, ["clickup", "webhook", "create", "-c", str(config)], env={KEY_ENV: key}
    )
    assert again.exit_code == 0, again.output
    assert len(state.webhooks) == 1
    assert hook.id in again.output
    engine = make_engine(f"sqlite:///{config.parent / 'cli.db'}")
    try:
        saved = SqlCredentialStore(engine, key).load(CREDENTIAL_NAME)
    finally:
        engine.dispose()
    assert saved == {"webhook_id": hook.id, "secret": hook.secret, "endpoint": hook.endpoint}
    assert connector.webhook_secret(_settings(config), _Store(saved)) == hook.secret


def test_an_explicit_url_wins_and_a_missing_key_or_url_exits_2(
    served: tuple[EmulatorState, Path], tmp_path: Path
) -> None:
    state, config = served
    runner = CliRunner()
    url = "https://hooks.example.com/webhooks/clickup"
    done = runner.invoke(
        app,
        ["clickup", "webhook", "create", "-c", str(config), "--url", url],
        env={KEY_ENV: new_key()},
    )
    assert done.exit_code == 0, done.output
    assert [h.endpoint for h in state.webhooks.values()] == [url]
    no_key = runner.invoke(
        app, ["clickup", "webhook", "create", "-c", str(config)], env={KEY_ENV: ""}
    )
    assert no_key.exit_code == 2
    assert KEY_ENV in no_key.output
    raw = yaml.safe_load(config.read_text())
    del raw["server"]
    bare = tmp_path / "bare.yaml"
    bare.write_text(yaml.safe_dump(raw))
    no_url = runner.invoke(
        app, ["clickup", "webhook", "create", "-c", str(bare)], env={KEY_ENV: "k"}
    )
    assert no_url.exit_code == 2
    assert "server.public_url: is not set" in no_url.output
    assert len(state.webhooks) == 1


class _Store:
    def __init__(self, value: dict[str, Any] | None) -> None:
        self.value = value

    def load(self, name: str) -> dict[str, Any] | None:
        return self.value if name == CREDENTIAL_NAME else None

    def save(self, name: str, value: dict[str, Any]) -> None:
        raise AssertionError("not written")


def _settings(config: Path) -> Any:
    from arbridge.settings import load_settings

    return load_settings(config)


def test_a_configured_secret_wins_over_the_stored_one(served: tuple[EmulatorState, Path]) -> None:
    _, config = served
    raw = yaml.safe_load(config.read_text())
    raw["clickup"]["webhook_secret"] = "configured-secret"
    config.write_text(yaml.safe_dump(raw))
    settings = _settings(config)
    assert connector.webhook_secret(settings, _Store({"secret": "stored"})) == "configured-secret"
    raw["clickup"].pop("webhook_secret")
    config.write_text(yaml.safe_dump(raw))
    assert connector.webhook_secret(_settings(config), _Store(None)) is None
