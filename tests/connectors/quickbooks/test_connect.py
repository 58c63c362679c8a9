"""The OAuth connection, end to end against the emulator: browser redirect, code exchange,
encrypted storage, and the ``arbridge quickbooks connect`` command."""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from arbridge_quickbooks import cli as cli_quickbooks
from arbridge_quickbooks.plugin import PENDING_NAME, QuickBooksConnector, connector
from arbridge_quickbooks.settings import QuickBooksSettings
from pydantic import SecretStr
from typer.testing import CliRunner

from arbridge.cli.main import app
from arbridge.errors import ConfigError
from arbridge.ports.connector import discover
from arbridge.settings import Settings
from arbridge.store.credentials import SqlCredentialStore, new_key
from arbridge.store.db import make_engine
from arbridge.testing.credentials import MemoryCredentialStore
from tests.connectors.quickbooks.conftest import Company


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def browser(url: str) -> str:
    """Follow the authorization link to Intuit's redirect; the redirect's address."""
    answer = httpx.get(url)
    assert answer.status_code == 302
    return str(answer.headers["location"])


def test_connector_is_discovered_by_entry_point() -> None:
    found: Any = discover()["quickbooks"]
    assert isinstance(found, QuickBooksConnector)
    assert found is connector


def test_authorization_url_points_at_intuit_by_default() -> None:
    settings = QuickBooksSettings(client_id="abc", client_secret="s3cret")
    url = connector.authorization_url(settings, "xyz")
    assert url.startswith("https://appcenter.intuit.com/connect/oauth2?")
    assert "scope=com.intuit.quickbooks.accounting" in url
    assert "state=xyz" in url
    assert "s3cret" not in url


def test_connect_then_read(company: Company) -> None:
    realm = company.connect()
    source = company.source()
    try:
        customer = company.emulator.add_customer("First Customer")
        batches = list(source.backfill())
        assert [c.source_id for b in batches for c in b.customers] == [customer]
        assert source.health().ok
        assert realm in source.health().message
    finally:
        source.close()


@pytest.mark.parametrize(
    ("mangle", "problem"),
    [
        (lambda url: url.replace("state=state-1", "state=forged"), "state does not match"),
        (lambda url: url.split("?")[0] + "?error=access_denied&state=state-1", "access_denied"),
        (lambda url: url.split("?")[0] + "?state=state-1", "no code or realmId"),
    ],
)
def test_bad_redirects_are_config_errors(company: Company, mangle: Any, problem: str) -> None:
    redirect = browser(connector.authorization_url(company.settings, "state-1"))
    with pytest.raises(ConfigError, match=problem):
        connector.complete_authorization(
            company.settings, company.credentials, mangle(redirect), state="state-1"
        )
    assert company.credentials.load("quickbooks") is None


def test_a_code_works_once(company: Company) -> None:
    redirect = browser(connector.authorization_url(company.settings, "s"))
    connector.complete_authorization(company.settings, company.credentials, redirect, state="s")
    with pytest.raises(ConfigError, match="invalid_grant"):
        connector.complete_authorization(
            company.settings, MemoryCredentialStore(), redirect, state="s"
        )


def test_wrong_client_secret_says_which_setting(company: Company) -> None:
    wrong = company.settings.model_copy(update={"client_secret": SecretStr("not-the-secret")})
    redirect = browser(connector.authorization_url(wrong, "s"))
    with pytest.raises(ConfigError, match=r"quickbooks\.client_secret") as caught:
        connector.complete_authorization(wrong, company.credentials, redirect, state="s")
    assert "not-the-secret" not in str(caught.value)


def settings_for(company: Company, redirect_uri: str) -> Settings:
    section = company.settings.model_dump(mode="python")
    section["client_secret"] = company.settings.client_secret.get_secret_value()
    section["webhook_verifier_token"] = None
    section["redirect_uri"] = redirect_uri
    return Settings(clickup={"token": "pk_1_x", "list_id": "1"}, quickbooks=section)


def test_cli_flow_with_the_local_listener(company: Company) -> None:
    port = free_port()
    settings = settings_for(company, f"http://127.0.0.1:{port}/oauth/quickbooks/callback")
    lines: list[str] = []
    shown = threading.Event()

    def echo(text: str) -> None:
        lines.append(text)
        if text.startswith("  http"):
            shown.set()

    result: list[str] = []
    worker = threading.Thread(
        target=lambda: result.append(
            cli_quickbooks.connect_company(
                connector,
                settings,
                company.credentials,
                redirect_url=None,
                timeout_s=20,
                echo=echo,
            )
        )
    )
    worker.start()
    assert shown.wait(10)
    url = next(line.strip() for line in lines if line.startswith("  http"))
    # The "browser": follows Intuit's redirect to the listener on the redirect_uri.
    landed = httpx.get(url, follow_redirects=True)
    worker.join(20)
    assert landed.status_code == 200
    assert "close this tab" in landed.text
    assert result == [company.emulator.realm_id]
    assert company.credentials.load("quickbooks") is not None
    assert company.credentials.load(PENDING_NAME) == {"state": None, "realm_id": result[0]}


def test_cli_flow_with_a_pasted_redirect(company: Company) -> None:
    settings = settings_for(company, "http://localhost:8080/oauth/quickbooks/callback")
    urls: list[str] = []
    realm = cli_quickbooks.connect_company(
        connector,
        settings,
        company.credentials,
        redirect_url=None,
        timeout_s=5,
        paste=True,
        echo=urls.append,
        prompt=lambda _text: browser(urls[1].strip()),
    )
    assert realm == company.emulator.realm_id


def test_cli_waits_for_the_daemon_when_it_owns_the_callback(company: Company) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        settings = settings_for(company, f"http://127.0.0.1:{port}/oauth/quickbooks/callback")
        urls: list[str] = []

        def daemon_callback(text: str) -> None:
            urls.append(text)
            if text.startswith("That address is served"):
                redirect = browser(urls[1].strip())
                threading.Thread(
                    target=connector.complete_pending,
                    args=(settings, company.credentials, redirect),
                ).start()

        realm = cli_quickbooks.connect_company(
            connector,
            settings,
            company.credentials,
            redirect_url=None,
            timeout_s=10,
            echo=daemon_callback,
        )
    assert realm == company.emulator.realm_id


def test_connect_command_stores_tokens_encrypted(
    company: Company, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = f"sqlite:///{tmp_path / 'arbridge.db'}"
    settings = settings_for(company, "http://localhost:8080/oauth/quickbooks/callback")
    config = {
        "database_url": database,
        "clickup": {"token": "pk_1_x", "list_id": "1"},
        "quickbooks": settings.model_dump(mode="json")["quickbooks"]
        | {"client_secret": company.settings.client_secret.get_secret_value()},
    }
    path = tmp_path / "arbridge.yaml"
    path.write_text(yaml.safe_dump(config))
    key = new_key()
    monkeypatch.setenv("ARBRIDGE_SECRET_KEY", key)

    def fake_listener(redirect_uri: str, timeout_s: float) -> str:
        # The browser: the pending state is in the store; approve and land on the redirect.
        store = SqlCredentialStore(make_engine(database), key)
        state = str((store.load(PENDING_NAME) or {})["state"])
        return browser(connector.authorization_url(settings, state))

    monkeypatch.setattr(cli_quickbooks, "listen_for_redirect", fake_listener)
    outcome = CliRunner().invoke(app, ["quickbooks", "connect", "-c", str(path)])
    assert outcome.exit_code == 0, outcome.output
    assert f"Connected QuickBooks company {company.emulator.realm_id}" in outcome.output
    store = SqlCredentialStore(make_engine(database), key)
    record = store.load("quickbooks")
    assert record is not None
    assert record["realm_id"] == company.emulator.realm_id
    raw = (tmp_path / "arbridge.db").read_bytes()
    assert record["refresh_token"].encode() not in raw
    assert record["access_token"].encode() not in raw


def test_connect_command_without_a_key_explains(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "arbridge.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "database_url": f"sqlite:///{tmp_path / 'a.db'}",
                "clickup": {"token": "pk_1_x", "list_id": "1"},
                "quickbooks": {"client_id": "abc", "client_secret": "shh"},
            }
        )
    )
    monkeypatch.delenv("ARBRIDGE_SECRET_KEY", raising=False)
    outcome = CliRunner().invoke(app, ["quickbooks", "connect", "-c", str(path)])
    assert outcome.exit_code == 2
    assert "ARBRIDGE_SECRET_KEY" in outcome.output


def test_emulator_approves_without_a_browser(company: Company) -> None:
    url = connector.begin_authorization(company.settings, company.credentials)
    redirect = company.emulator.approve(url)
    realm = connector.complete_pending(company.settings, company.credentials, redirect)
    assert realm == company.emulator.realm_id
    with pytest.raises(ConfigError, match="no connection was started"):
        connector.complete_pending(company.settings, company.credentials, redirect)
