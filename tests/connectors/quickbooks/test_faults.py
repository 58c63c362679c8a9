"""The Fault table, on Intuit's own error bodies, and how the client acts on it."""

from __future__ import annotations

import json

import pytest
from arbridge_quickbooks.faults import StaleObjectError, error_for, parse_fault
from arbridge_quickbooks.source import QuickBooksSource

from arbridge.errors import (
    AuthError,
    NotFoundError,
    PermanentError,
    RateLimitedError,
    TransientError,
)
from tests.connectors.quickbooks.conftest import Company, sample_bytes


def test_xml_throttle_sample_is_rate_limited_with_a_minute_wait() -> None:
    body = sample_bytes("error.throttle-429-3001.from-issue.xml")
    fault = parse_fault(body)
    assert fault is not None
    assert fault.codes == ("3001",)
    error = error_for(429, body, "POST /query")
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == 60.0
    assert error.code == "3001"


def test_throttle_fault_wins_over_a_403_status() -> None:
    error = error_for(403, sample_bytes("error.throttle-429-3001.from-issue.xml"), "GET /cdc")
    assert isinstance(error, RateLimitedError)


def test_lower_case_auth_body_is_an_auth_error_that_says_how_to_reconnect() -> None:
    error = error_for(401, sample_bytes("error.auth-401-3200.from-issue.json"), "GET /cdc")
    assert isinstance(error, AuthError)
    assert error.code == "3200"
    assert "arbridge quickbooks connect" in str(error)


def test_stale_sync_token_is_its_own_permanent_error() -> None:
    error = error_for(400, sample_bytes("error.stale-object-5010.from-issue.json"), "POST /invoice")
    assert isinstance(error, StaleObjectError)
    assert isinstance(error, PermanentError)
    assert "re-read" in str(error)


def test_fault_inside_a_200_is_still_an_error() -> None:
    body = json.dumps(
        {"Fault": {"Error": [{"Message": "Object Not Found", "code": "610"}], "type": "x"}}
    ).encode()
    assert isinstance(error_for(200, body, "GET /invoice/9"), NotFoundError)


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (400, b'{"Fault": {"Error": [{"code": "6240", "Message": "Duplicate"}]}}', PermanentError),
        (500, b"<html>gateway</html>", TransientError),
        (503, b"", TransientError),
        (400, sample_bytes("error.validation-fault.docs-shape.json"), PermanentError),
        (200, b'{"QueryResponse": {}}', type(None)),
    ],
)
def test_status_and_code_table(status: int, body: bytes, expected: type) -> None:
    assert type(error_for(status, body, "GET /x")) is expected


def test_client_waits_out_an_xml_throttle_then_succeeds(
    connected: tuple[Company, QuickBooksSource],
) -> None:
    company, source = connected
    company.emulator.gate.inject(
        429, sample_bytes("error.throttle-429-3001.from-issue.xml"), "application/xml"
    )
    rows = source.client.query("select * from Customer")
    assert rows.get("Customer") is None  # nothing in the company yet, but the query ran
    assert len(company.sleeps.waits) == 1
    assert company.sleeps.waits[0] >= 60.0


def test_client_gives_up_after_max_retries_on_server_errors(
    connected: tuple[Company, QuickBooksSource],
) -> None:
    company, source = connected
    for _ in range(company.settings.max_retries + 1):
        company.emulator.gate.inject(503, b"")
    with pytest.raises(TransientError, match="HTTP 503"):
        source.client.query("select * from Invoice")
    assert len(company.sleeps.waits) == company.settings.max_retries


def test_client_errors_never_show_the_client_secret(
    connected: tuple[Company, QuickBooksSource],
) -> None:
    company, source = connected
    secret = company.settings.client_secret.get_secret_value()
    company.emulator.gate.inject(
        400,
        json.dumps({"Fault": {"Error": [{"code": "2010", "Message": f"bad {secret}"}]}}).encode(),
    )
    with pytest.raises(PermanentError) as caught:
        source.client.query("select * from Invoice")
    assert secret not in str(caught.value)
    assert "***" in str(caught.value)
