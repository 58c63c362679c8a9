"""The emulator's own rules: query language, SyncToken, void/delete, CDC limits, throttle."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from arbridge_quickbooks.emulator import QuickBooksEmulator
from arbridge_quickbooks.emulator.errors import QboFault
from arbridge_quickbooks.emulator.query import parse, run
from arbridge_quickbooks.source import QuickBooksSource

from arbridge.clock import FakeClock
from arbridge.errors import NotFoundError, PermanentError, RateLimitedError
from arbridge.testing import LoopbackServer
from tests.connectors.quickbooks.conftest import Company

ROWS: list[dict[str, Any]] = [
    {
        "Id": "1",
        "Balance": Decimal("0"),
        "DocNumber": "A-1",
        "MetaData": {"LastUpdatedTime": "2026-03-01T10:00:00+00:00"},
        "CustomerRef": {"value": "7"},
    },
    {
        "Id": "2",
        "Balance": Decimal("5.5"),
        "DocNumber": "B-2",
        "MetaData": {"LastUpdatedTime": "2026-03-02T10:00:00+00:00"},
        "CustomerRef": {"value": "8"},
    },
    {
        "Id": "10",
        "Balance": Decimal("7"),
        "DocNumber": "A-10",
        "MetaData": {"LastUpdatedTime": "2026-03-03T10:00:00+00:00"},
        "CustomerRef": {"value": "7"},
    },
]


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("select * from Invoice", ["1", "2", "10"]),
        ("SELECT * FROM invoice WHERE Balance > '0' ORDERBY Id DESC", ["10", "2"]),
        ("select * from Invoice where Id in ('1', '10')", ["1", "10"]),
        ("select * from Invoice where DocNumber like 'A-%'", ["1", "10"]),
        ("select * from Invoice where CustomerRef = '7' and Balance >= '7'", ["10"]),
        (
            "select * from Invoice where MetaData.LastUpdatedTime > '2026-03-01T12:00:00+00:00'",
            ["2", "10"],
        ),
        ("select * from Invoice startposition 2 maxresults 1", ["2"]),
    ],
)
def test_query_subset(text: str, ids: list[str]) -> None:
    page, _ = run(parse(text), ROWS)
    assert [row["Id"] for row in page] == ids


@pytest.mark.parametrize(
    "text",
    [
        "select Id from Invoice",
        "select * from Invoice where Balance = '0' or Id = '1'",
        "select * from Invoice maxresults 1001",
        "select * from Invoice where Id ~ '1'",
        "delete from Invoice",
    ],
)
def test_query_outside_the_subset_is_a_parser_fault(text: str) -> None:
    with pytest.raises(QboFault) as caught:
        parse(text)
    assert caught.value.status == 400


def test_default_page_is_100() -> None:
    rows = [{"Id": str(i)} for i in range(1, 150)]
    page, total = run(parse("select * from Customer"), rows)
    assert (len(page), total) == (100, 149)


def api(company: Company, method: str, path: str, **kwargs: Any) -> httpx.Response:
    token = company.credentials.values["quickbooks"]["access_token"]
    url = f"{company.server.base_url}/v3/company/{company.emulator.realm_id}/{path}"
    params = {"minorversion": "75", **kwargs.pop("params", {})}
    return httpx.request(
        method, url, params=params, headers={"Authorization": f"Bearer {token}"}, **kwargs
    )


def test_stale_sync_token_is_refused_with_5010(connected: tuple[Company, QuickBooksSource]) -> None:
    company, _ = connected
    customer = company.emulator.add_customer("Acme")
    answer = api(
        company,
        "POST",
        "customer",
        json={"Id": customer, "SyncToken": "0", "sparse": True, "CompanyName": "Acme Co"},
    )
    assert answer.status_code == 200
    assert answer.json()["Customer"]["SyncToken"] == "1"
    stale = api(
        company,
        "POST",
        "customer",
        json={"Id": customer, "SyncToken": "0", "sparse": True, "CompanyName": "Late"},
    )
    assert stale.status_code == 400
    assert stale.json()["Fault"]["Error"][0]["code"] == "5010"


def test_void_zeroes_amounts_and_marks_the_note(
    connected: tuple[Company, QuickBooksSource],
) -> None:
    company, _ = connected
    customer = company.emulator.add_customer("Acme")
    invoice_id = company.emulator.issue_invoice(
        customer,
        currency="USD",
        amount=Decimal("12.50"),
        issue_date=company.clock.now().date(),
        due_date=company.clock.now().date(),
        terms="Net 0",
    )
    answer = api(
        company,
        "POST",
        "invoice",
        params={"operation": "void"},
        json={"Id": invoice_id, "SyncToken": "0"},
    )
    body = answer.json()["Invoice"]
    assert (body["TotalAmt"], body["Balance"], body["PrivateNote"]) == (0, 0, "Voided")
    assert body["Line"][0]["Amount"] == 0
    assert body["SyncToken"] == "1"


def test_delete_is_refused_while_payments_point_at_the_invoice(
    connected: tuple[Company, QuickBooksSource],
) -> None:
    company, _ = connected
    customer = company.emulator.add_customer("Acme")
    invoice_id = company.emulator.issue_invoice(
        customer,
        currency="USD",
        amount=Decimal("12.50"),
        issue_date=company.clock.now().date(),
        due_date=company.clock.now().date(),
        terms="Net 0",
    )
    company.emulator.pay_invoice(invoice_id, Decimal("2.50"))
    token = company.emulator.company.get("Invoice", invoice_id)["SyncToken"]
    refused = api(
        company,
        "POST",
        "invoice",
        params={"operation": "delete"},
        json={"Id": invoice_id, "SyncToken": token},
    )
    assert refused.status_code == 400
    missing = api(company, "GET", "invoice/999")
    assert missing.json()["Fault"]["Error"][0]["code"] == "610"


def test_cdc_refuses_more_than_30_days_and_caps_at_1000(
    connected: tuple[Company, QuickBooksSource],
) -> None:
    company, source = connected
    since = (company.clock.now() - timedelta(days=31)).isoformat()
    with pytest.raises(PermanentError, match="30 days"):
        source.client.cdc(["Invoice"], since)
    for number in range(1001):
        company.emulator.company.create("Customer", {"DisplayName": f"Customer {number}"})
    found = source.client.cdc(["Customer", "Invoice"], company.clock.now().isoformat())
    assert sum(len(rows) for rows in found.values()) == 1000


def test_deleted_stubs_follow_live_objects_in_cdc(
    connected: tuple[Company, QuickBooksSource],
) -> None:
    company, source = connected
    customer = company.emulator.add_customer("Acme")
    ids = [
        company.emulator.issue_invoice(
            customer,
            currency="USD",
            amount=Decimal(1),
            issue_date=company.clock.now().date(),
            due_date=company.clock.now().date(),
            terms="Net 0",
        )
        for _ in range(2)
    ]
    company.emulator.delete_invoice(ids[0])
    rows = source.client.cdc(["Invoice"], company.clock.now().isoformat())["Invoice"]
    assert [(row["Id"], row.get("status")) for row in rows] == [(ids[1], None), (ids[0], "Deleted")]


def test_minorversion_below_75_is_refused(connected: tuple[Company, QuickBooksSource]) -> None:
    company, _ = connected
    answer = api(company, "GET", "invoice/1", params={"minorversion": "70"})
    assert answer.status_code == 400
    assert "minorversion" in answer.json()["Fault"]["Error"][0]["Detail"]


def test_throttle_after_500_requests_a_minute(
    connected: tuple[Company, QuickBooksSource],
) -> None:
    company, source = connected
    company.emulator.gate.rate_limit = 3
    company.emulator.gate.throttle_xml = True
    for _ in range(3):
        source.client.query("select * from Customer")
    with pytest.raises(RateLimitedError):
        source.client.request("POST", "query", text_body="select * from Customer")
    assert company.emulator.stats()["http_429"] == company.settings.max_retries + 1
    assert company.sleeps.waits
    assert min(company.sleeps.waits) >= 60.0


def test_default_emulator_throttles_at_500_a_minute(clock: FakeClock) -> None:
    now = [0.0]
    emulator = QuickBooksEmulator(clock=clock, monotonic=lambda: now[0])
    assert emulator.gate.rate_limit == 500
    admitted = 0
    while emulator.gate.enter():
        emulator.gate.leave()
        admitted += 1
    assert admitted == 500
    now[0] = 60.0
    assert emulator.gate.enter()


def test_concurrency_cap_of_10(clock: FakeClock) -> None:
    emulator = QuickBooksEmulator(clock=clock)
    assert all(emulator.gate.enter() for _ in range(10))
    assert not emulator.gate.enter()


def test_unauthenticated_data_requests_get_the_gateway_401(clock: FakeClock) -> None:
    emulator = QuickBooksEmulator(clock=clock)
    with LoopbackServer(emulator.app) as server:
        answer = httpx.get(
            f"{server.base_url}/v3/company/{emulator.realm_id}/invoice/1",
            params={"minorversion": "75"},
        )
    assert answer.status_code == 401
    assert answer.json()["fault"]["error"][0]["code"] == "3200"


def test_not_found_maps_to_not_found_error(connected: tuple[Company, QuickBooksSource]) -> None:
    _, source = connected
    with pytest.raises(NotFoundError):
        source.client.request("GET", "invoice/424242")


def test_disputes_are_not_a_quickbooks_thing(clock: FakeClock) -> None:
    with pytest.raises(NotImplementedError):
        QuickBooksEmulator(clock=clock).dispute_invoice("1", "fraud")
