from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest
import respx
from arbridge_clickup.client import ClickUpClient, auth_header, error_class

from arbridge.errors import (
    AuthError,
    ConnectorError,
    NotFoundError,
    PermanentError,
    RateLimitedError,
    TransientError,
)
from tests.connectors.clickup.conftest import BASE, TOKEN, FakeTime, make_settings

OK = httpx.Response(200, json={"id": "9hx"})


def test_personal_token_is_sent_bare_and_oauth_token_as_bearer() -> None:
    assert auth_header("pk_1_ABC") == "pk_1_ABC"
    assert auth_header("abc.def") == "Bearer abc.def"


def test_request_joins_the_base_url_and_sends_the_token(
    client: ClickUpClient, api: respx.MockRouter
) -> None:
    route = api.get("/list/901").mock(return_value=OK)
    assert client.request("GET", "/list/901", params={"include_closed": True}) == {"id": "9hx"}
    sent = route.calls.last.request
    assert str(sent.url) == f"{BASE}/list/901?include_closed=true"
    assert sent.headers["Authorization"] == TOKEN


def test_empty_success_body_decodes_to_none(client: ClickUpClient, api: respx.MockRouter) -> None:
    api.delete("/task/9hx/field/f1").mock(return_value=httpx.Response(200))
    assert client.request("DELETE", "/task/9hx/field/f1") is None


def test_retries_5xx_then_succeeds(
    client: ClickUpClient, api: respx.MockRouter, fake_time: FakeTime
) -> None:
    route = api.get("/task/9hx").mock(
        side_effect=[httpx.Response(500), httpx.Response(503, text="<html>"), OK]
    )
    assert client.request("GET", "/task/9hx") == {"id": "9hx"}
    assert route.call_count == 3
    assert len(fake_time.sleeps) == 2
    assert all(0 < s <= 30 for s in fake_time.sleeps)


def test_retries_timeouts_and_connection_errors_then_succeeds(
    client: ClickUpClient, api: respx.MockRouter, fake_time: FakeTime
) -> None:
    route = api.put("/task/9hx").mock(
        side_effect=[httpx.ReadTimeout("timed out"), httpx.ConnectError("refused"), OK]
    )
    assert client.request("PUT", "/task/9hx", json={"name": "x"}) == {"id": "9hx"}
    assert route.call_count == 3


def test_429_waits_until_the_reset_time(
    client: ClickUpClient, api: respx.MockRouter, fake_time: FakeTime
) -> None:
    reset = int(fake_time.now) + 20
    limited = httpx.Response(
        429,
        json={"err": "Rate limit reached", "ECODE": "APP_002"},
        headers={
            "X-RateLimit-Limit": "100",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(reset),
        },
    )
    route = api.post("/list/901/task").mock(side_effect=[limited, OK])
    start = fake_time.now
    assert client.request("POST", "/list/901/task", json={"name": "x"}) == {"id": "9hx"}
    assert route.call_count == 2
    assert fake_time.now - start >= 20
    assert fake_time.sleeps[0] >= 20


def test_exhausted_retry_budget_raises_the_last_transient_error(
    client: ClickUpClient, api: respx.MockRouter, fake_time: FakeTime
) -> None:
    route = api.get("/list/901/task").mock(return_value=httpx.Response(502, text="Bad Gateway"))
    with pytest.raises(TransientError) as caught:
        client.request("GET", "/list/901/task")
    assert route.call_count == 4  # max_retries=3 retries after the first attempt
    assert caught.value.status == 502
    assert "GET /list/901/task: 502" in str(caught.value)


def test_exhausted_budget_on_429_raises_rate_limited_with_retry_after(
    client: ClickUpClient, api: respx.MockRouter, fake_time: FakeTime
) -> None:
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(fake_time.now) + 5)}
    api.get("/team").mock(return_value=httpx.Response(429, headers=headers))
    with pytest.raises(RateLimitedError) as caught:
        client.request("GET", "/team")
    assert caught.value.retry_after is not None


def test_zero_retries_means_one_attempt(api: respx.MockRouter, fake_time: FakeTime) -> None:
    route = api.get("/team").mock(return_value=httpx.Response(500))
    with (
        ClickUpClient(make_settings(max_retries=0), sleep=fake_time.sleep) as client,
        pytest.raises(TransientError),
    ):
        client.request("GET", "/team")
    assert route.call_count == 1


def test_400_is_permanent_and_carries_err_and_ecode(
    client: ClickUpClient, api: respx.MockRouter, fake_time: FakeTime
) -> None:
    route = api.post("/task/9hx/field/f1").mock(
        return_value=httpx.Response(
            400, json={"err": "Value must be an option index or uuid", "ECODE": "FIELD_011"}
        )
    )
    with pytest.raises(PermanentError) as caught:
        client.request("POST", "/task/9hx/field/f1", json={"value": "paid"}, idempotent=True)
    error = caught.value
    assert type(error) is PermanentError
    assert error.status == 400
    assert error.code == "FIELD_011"
    assert "Value must be an option index or uuid" in str(error)
    assert route.call_count == 1
    assert fake_time.sleeps == []


def test_404_is_not_found(client: ClickUpClient, api: respx.MockRouter) -> None:
    api.get("/task/gone").mock(
        return_value=httpx.Response(404, json={"err": "Task not found", "ECODE": "ITEM_013"})
    )
    with pytest.raises(NotFoundError) as caught:
        client.request("GET", "/task/gone")
    assert caught.value.code == "ITEM_013"


def test_oauth_ecode_is_an_auth_error_whatever_the_status(
    client: ClickUpClient, api: respx.MockRouter
) -> None:
    api.get("/team").mock(
        return_value=httpx.Response(400, json={"err": "Team not authorized", "ECODE": "OAUTH_027"})
    )
    with pytest.raises(AuthError):
        client.request("GET", "/team")


@pytest.mark.parametrize(
    ("status", "ecode", "expected"),
    [
        (200, None, None),
        (204, None, None),
        (400, "FIELD_011", PermanentError),
        (401, "OAUTH_025", AuthError),
        (401, None, AuthError),
        (403, None, AuthError),
        (404, None, NotFoundError),
        (409, None, PermanentError),
        (422, "INPUT_002", PermanentError),
        (429, None, RateLimitedError),
        (500, None, TransientError),
        (502, None, TransientError),
        (504, None, TransientError),
        (400, "OAUTH_023", AuthError),
    ],
)
def test_error_table(status: int, ecode: str | None, expected: type[ConnectorError] | None) -> None:
    assert error_class(status, ecode) is expected


def test_post_is_not_resent_after_an_ambiguous_failure(
    client: ClickUpClient, api: respx.MockRouter, fake_time: FakeTime
) -> None:
    # ClickUp may have created the task before the timeout: the outbox decides (find_task).
    route = api.post("/list/901/task").mock(side_effect=[httpx.ReadTimeout("timed out"), OK])
    with pytest.raises(TransientError, match="timed out"):
        client.request("POST", "/list/901/task", json={"name": "x"})
    assert route.call_count == 1
    route = api.post("/task/9hx/comment").mock(side_effect=[httpx.Response(500), OK])
    with pytest.raises(TransientError):
        client.request("POST", "/task/9hx/comment", json={"comment_text": "hi"})
    assert route.call_count == 1


def test_post_is_resent_when_it_never_reached_the_server(
    client: ClickUpClient, api: respx.MockRouter
) -> None:
    route = api.post("/list/901/task").mock(
        side_effect=[httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), OK]
    )
    assert client.request("POST", "/list/901/task", json={"name": "x"}) == {"id": "9hx"}
    assert route.call_count == 3


def test_non_json_success_body_is_transient(client: ClickUpClient, api: respx.MockRouter) -> None:
    api.get("/team").mock(return_value=httpx.Response(200, text="<html>maintenance</html>"))
    with pytest.raises(TransientError, match="not JSON"):
        client.request("GET", "/team")


def test_every_request_passes_the_rate_limiter(api: respx.MockRouter, fake_time: FakeTime) -> None:
    api.get("/team").mock(return_value=httpx.Response(200, json={"teams": []}))
    settings = make_settings(requests_per_minute=3)
    with ClickUpClient(
        settings, sleep=fake_time.sleep, monotonic=fake_time.monotonic, wall=fake_time.wall
    ) as client:
        for _ in range(7):
            client.request("GET", "/team")
    assert fake_time.now - 1_800_000_000.0 >= 120


def test_server_headers_on_success_throttle_the_next_request(
    client: ClickUpClient, api: respx.MockRouter, fake_time: FakeTime
) -> None:
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(fake_time.now) + 30)}
    api.get("/team").mock(return_value=httpx.Response(200, json={}, headers=headers))
    client.request("GET", "/team")
    assert fake_time.sleeps == []
    client.request("GET", "/team")
    assert sum(fake_time.sleeps) >= 30


# --- the token never leaks ---------------------------------------------------------------


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: BaseException | None = exc
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__


def assert_no_token(exc: BaseException, logs: str) -> None:
    for link in _chain(exc):
        assert not isinstance(link, httpx.HTTPError), "the httpx request (with headers) leaked"
        assert TOKEN not in str(link)
        assert TOKEN not in repr(link)
        assert TOKEN not in repr(vars(link))
    assert TOKEN not in logs


def test_401_is_an_auth_error_without_the_token(
    client: ClickUpClient, api: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    api.get("/list/901").mock(
        return_value=httpx.Response(
            401, json={"err": f"Token invalid: {TOKEN}", "ECODE": "OAUTH_025"}
        )
    )
    with pytest.raises(AuthError) as caught:
        client.request("GET", "/list/901")
    error = caught.value
    assert "check clickup.token" in str(error)
    assert error.code == "OAUTH_025"
    assert error.status == 401
    assert_no_token(error, caplog.text)
    assert TOKEN not in repr(client)


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ReadTimeout("timed out"),
        httpx.ConnectError(f"cannot connect with {TOKEN}"),
        httpx.RemoteProtocolError("server hung up"),
    ],
)
def test_transport_errors_do_not_carry_the_request(
    client: ClickUpClient,
    api: respx.MockRouter,
    caplog: pytest.LogCaptureFixture,
    failure: Exception,
) -> None:
    caplog.set_level(logging.DEBUG)
    api.get("/list/901/task").mock(side_effect=failure)
    with pytest.raises(TransientError) as caught:
        client.request("GET", "/list/901/task")
    assert_no_token(caught.value, caplog.text)
    assert "retry 3 of 3" in caplog.text


def test_not_resent_errors_do_not_carry_the_request(
    client: ClickUpClient, api: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    api.post("/list/901/task").mock(side_effect=httpx.ReadTimeout("timed out"))
    with pytest.raises(TransientError) as caught:
        client.request("POST", "/list/901/task", json={})
    assert_no_token(caught.value, caplog.text)


def test_oauth_token_is_sent_as_bearer(api: respx.MockRouter, fake_time: FakeTime) -> None:
    route = api.get("/team").mock(return_value=httpx.Response(200, json={}))
    with ClickUpClient(make_settings(token="oauth-access-1"), sleep=fake_time.sleep) as client:
        client.request("GET", "/team")
    assert route.calls.last.request.headers["Authorization"] == "Bearer oauth-access-1"
