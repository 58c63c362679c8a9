"""Token lifecycle against the emulated Intuit OAuth server: refresh before expiry, refresh
token rotation with crashes around the credential commit, refused tokens."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from arbridge_quickbooks.auth import CREDENTIAL_NAME
from arbridge_quickbooks.source import QuickBooksSource

from arbridge.errors import AuthError
from arbridge.testing.credentials import CrashInjected
from tests.connectors.quickbooks.conftest import Company


def stored_refresh_token(company: Company) -> str:
    return str(company.credentials.values[CREDENTIAL_NAME]["refresh_token"])


def test_connect_stores_tokens_and_realm(company: Company) -> None:
    realm = company.connect()
    assert realm == company.emulator.realm_id
    record = company.credentials.values[CREDENTIAL_NAME]
    assert record["realm_id"] == realm
    assert record["access_token"]
    assert record["refresh_token"]
    assert record["access_expires_at"] == (company.clock.now() + timedelta(hours=1)).isoformat()


def test_token_is_refreshed_before_it_expires(connected: tuple[Company, QuickBooksSource]) -> None:
    company, source = connected
    cursor = source.start_cursor()
    company.clock.advance(timedelta(minutes=30))
    source.poll(cursor)
    assert company.emulator.stats()["token_refreshes"] == 0
    before = company.credentials.values[CREDENTIAL_NAME]["access_token"]
    company.clock.advance(timedelta(minutes=26))  # 4 minutes left: inside the 5-minute margin
    source.poll(cursor)
    stats = company.emulator.stats()
    assert stats["token_refreshes"] == 1
    assert stats["http_401"] == 0  # no request ever went out with a dying token
    assert company.credentials.values[CREDENTIAL_NAME]["access_token"] != before


def test_refresh_within_a_day_keeps_the_refresh_token(
    connected: tuple[Company, QuickBooksSource],
) -> None:
    company, source = connected
    first = stored_refresh_token(company)
    company.clock.advance(timedelta(hours=2))
    source.poll(source.start_cursor())
    assert stored_refresh_token(company) == first
    assert company.emulator.stats()["refresh_rotations"] == 0


def test_rotated_refresh_token_is_committed_and_the_old_one_is_dead(
    connected: tuple[Company, QuickBooksSource],
) -> None:
    company, source = connected
    old = stored_refresh_token(company)
    company.clock.advance(timedelta(hours=25))
    source.poll(source.start_cursor())
    new = stored_refresh_token(company)
    assert new != old
    assert company.emulator.stats()["refresh_rotations"] == 1
    with pytest.raises(Exception, match="invalid_grant"):
        company.emulator.oauth.refresh(old)


def test_crash_after_the_commit_loses_nothing(connected: tuple[Company, QuickBooksSource]) -> None:
    """The rotated refresh token and the new access token were committed before the process
    died, so a restarted source goes on with them without even refreshing again."""
    company, source = connected
    company.clock.advance(timedelta(hours=25))
    company.credentials.crash_after_save = True
    with pytest.raises(CrashInjected):
        source.poll(source.start_cursor())
    refreshes = company.emulator.stats()["token_refreshes"]
    restarted = company.source()
    try:
        restarted.poll(restarted.start_cursor())
        assert restarted.health().ok
        assert company.emulator.stats()["token_refreshes"] == refreshes
    finally:
        restarted.close()


def test_crash_before_the_commit_without_rotation_recovers(
    connected: tuple[Company, QuickBooksSource],
) -> None:
    """Within 24 h Intuit answers a refresh with the same refresh token, so the stored one is
    still good: the restarted source simply refreshes again."""
    company, source = connected
    company.clock.advance(timedelta(hours=2))
    company.credentials.crash_before_save = True
    with pytest.raises(CrashInjected):
        source.poll(source.start_cursor())
    restarted = company.source()
    try:
        restarted.poll(restarted.start_cursor())
        assert restarted.health().ok
        assert company.emulator.stats()["token_refreshes"] == 2
    finally:
        restarted.close()


def test_crash_before_the_commit_of_a_rotated_token_needs_a_reconnect(
    connected: tuple[Company, QuickBooksSource],
) -> None:
    """Intuit rotated the refresh token and the process died before the new one reached the
    store: the stored one is now refused. Nothing can recover it (the new token existed only
    in the lost process), so the restarted source says exactly that: health not ok with the
    reconnect instruction, AuthError on reads. Committing before use keeps this window to the
    one round trip of the refresh itself; the new access token was never used."""
    company, source = connected
    company.clock.advance(timedelta(hours=25))
    company.credentials.crash_before_save = True
    with pytest.raises(CrashInjected):
        source.poll(source.start_cursor())
    restarted = company.source()
    try:
        with pytest.raises(AuthError, match="invalid_grant"):
            restarted.poll(restarted.start_cursor())
        health = restarted.health()
        assert not health.ok
        assert "arbridge quickbooks connect" in health.message
    finally:
        restarted.close()


def test_refused_token_stops_the_source_without_more_network_calls(
    connected: tuple[Company, QuickBooksSource],
) -> None:
    company, source = connected
    company.emulator.oauth.revoke_all()
    company.clock.advance(timedelta(hours=2))
    with pytest.raises(AuthError):
        source.poll(source.start_cursor())
    health = source.health()
    assert not health.ok
    assert "arbridge quickbooks connect" in health.message
    calls = company.requests()
    for _ in range(3):
        with pytest.raises(AuthError):
            source.poll(source.start_cursor())
    with pytest.raises(AuthError):
        list(source.backfill())
    assert company.requests() == calls


def test_a_401_mid_hour_refreshes_once_and_retries(
    connected: tuple[Company, QuickBooksSource],
) -> None:
    company, source = connected
    company.emulator.oauth.expire_access_tokens()
    source.poll(source.start_cursor())
    stats = company.emulator.stats()
    assert stats["http_401"] == 1
    assert stats["token_refreshes"] == 1
    assert source.health().ok


def test_a_revoked_company_gives_up_after_one_refresh(
    connected: tuple[Company, QuickBooksSource],
) -> None:
    company, source = connected
    company.emulator.oauth.revoke_all()
    with pytest.raises(AuthError):
        source.poll(source.start_cursor())
    assert company.emulator.stats()["http_401"] == 1
    assert not source.health().ok


def test_not_connected_source_builds_and_reports_it(company: Company) -> None:
    source = company.source()
    try:
        health = source.health()
        assert not health.ok
        assert "not connected" in health.message
        with pytest.raises(AuthError, match="arbridge quickbooks connect"):
            source.poll(None)
        assert company.requests() == 0
    finally:
        source.close()


def test_concurrent_callers_share_one_refresh(
    connected: tuple[Company, QuickBooksSource],
) -> None:
    company, source = connected
    company.clock.advance(timedelta(minutes=58))
    errors: list[BaseException] = []

    def read() -> None:
        try:
            source.client.query("select * from Customer")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert company.emulator.stats()["token_refreshes"] == 1


def test_reprs_show_no_tokens(connected: tuple[Company, QuickBooksSource]) -> None:
    company, source = connected
    record = company.credentials.values[CREDENTIAL_NAME]
    text = repr(source) + repr(source.client) + repr(source._tokens) + repr(source._tokens.tokens())
    assert record["access_token"] not in text
    assert record["refresh_token"] not in text


def test_reconnecting_resumes_without_a_restart(
    connected: tuple[Company, QuickBooksSource],
) -> None:
    company, source = connected
    company.emulator.oauth.revoke_all()
    with pytest.raises(AuthError):
        source.poll(source.start_cursor())
    assert not source.health().ok
    company.connect(state="again")
    assert source.health().ok
    source.poll(source.start_cursor())


def test_connecting_after_start_needs_no_restart(company: Company) -> None:
    source = company.source()
    try:
        assert not source.health().ok
        company.connect()
        assert source.health().ok
        source.poll(source.start_cursor())
    finally:
        source.close()
