"""Request details against Intuit's real hosts (mocked with respx) and the realm limiter."""

from __future__ import annotations

import threading
from datetime import timedelta

import httpx
import pytest
import respx
from arbridge_quickbooks.auth import CREDENTIAL_NAME, Tokens
from arbridge_quickbooks.client import PRODUCTION_API, SANDBOX_API, api_base_url
from arbridge_quickbooks.plugin import connector
from arbridge_quickbooks.ratelimit import RealmLimiter
from arbridge_quickbooks.settings import QuickBooksSettings

from arbridge.clock import FakeClock
from arbridge.testing.credentials import MemoryCredentialStore

REALM = "4620816365"


def stored(clock: FakeClock) -> MemoryCredentialStore:
    store = MemoryCredentialStore()
    tokens = Tokens(REALM, "access-abc", clock.now() + timedelta(hours=1), "refresh-xyz", None)
    store.save(CREDENTIAL_NAME, tokens.to_record())
    return store


def test_real_hosts_by_environment() -> None:
    production = QuickBooksSettings(client_id="a", client_secret="b")
    sandbox = QuickBooksSettings(client_id="a", client_secret="b", environment="sandbox")
    assert api_base_url(production) == PRODUCTION_API == "https://quickbooks.api.intuit.com"
    assert api_base_url(sandbox) == SANDBOX_API == "https://sandbox-quickbooks.api.intuit.com"


def test_query_request_carries_minorversion_bearer_and_text_body(clock: FakeClock) -> None:
    settings = QuickBooksSettings(
        client_id="a", client_secret="b", environment="sandbox", minorversion=76
    )
    source = connector.build_source(
        settings, credentials=stored(clock), clock=clock, secrets=[], sleep=lambda _s: None
    )
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(f"{SANDBOX_API}/v3/company/{REALM}/query").mock(
            return_value=httpx.Response(200, json={"QueryResponse": {}, "time": "x"})
        )
        assert source.client.query("select * from Invoice") == {}
    request = route.calls.last.request
    assert request.url.params["minorversion"] == "76"
    assert request.headers["authorization"] == "Bearer access-abc"
    assert request.headers["content-type"] == "application/text"
    assert request.content == b"select * from Invoice"
    source.close()


def test_amounts_are_decoded_as_decimals(clock: FakeClock) -> None:
    settings = QuickBooksSettings(client_id="a", client_secret="b")
    source = connector.build_source(settings, credentials=stored(clock), clock=clock, secrets=[])
    body = b'{"QueryResponse": {"Invoice": [{"Id": "1", "TotalAmt": 0.1}]}}'
    with respx.mock() as mock:
        mock.post(f"{PRODUCTION_API}/v3/company/{REALM}/query").mock(
            return_value=httpx.Response(200, content=body)
        )
        rows = source.client.query("select * from Invoice")["Invoice"]
    assert str(rows[0]["TotalAmt"]) == "0.1"
    source.close()


def test_transport_errors_are_transient_and_never_carry_the_token(clock: FakeClock) -> None:
    from arbridge.errors import TransientError

    settings = QuickBooksSettings(client_id="a", client_secret="b", max_retries=1)
    source = connector.build_source(
        settings, credentials=stored(clock), clock=clock, secrets=[], sleep=lambda _s: None
    )
    with respx.mock() as mock:
        mock.post(f"{PRODUCTION_API}/v3/company/{REALM}/query").mock(
            side_effect=httpx.ConnectError("refused")
        )
        with pytest.raises(TransientError) as caught:
            source.client.query("select * from Invoice")
    assert "access-abc" not in repr(caught.value)
    assert caught.value.__context__ is None or "access-abc" not in repr(caught.value.__context__)
    source.close()


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_limiter_allows_500_a_minute_then_waits() -> None:
    time = FakeTime()
    limiter = RealmLimiter(500, 10, monotonic=time.monotonic, sleep=time.sleep)
    for _ in range(500):
        limiter.acquire_rate()
    assert time.slept == []
    time.now = 12.0
    limiter.acquire_rate()
    assert time.slept == [pytest.approx(48.0)]


def test_limiter_caps_concurrency() -> None:
    limiter = RealmLimiter(1000, 2)
    first, second = limiter.slot(), limiter.slot()
    first.__enter__()
    second.__enter__()
    entered = threading.Event()

    def third() -> None:
        with limiter.slot():
            entered.set()

    worker = threading.Thread(target=third)
    worker.start()
    assert not entered.wait(0.3)  # both slots are held: the third request waits
    first.__exit__(None, None, None)
    assert entered.wait(5)
    worker.join()
    second.__exit__(None, None, None)
