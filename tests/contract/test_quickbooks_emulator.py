"""The QuickBooks emulator speaks Intuit's protocol: python-quickbooks (the community client)
works against it unchanged, and its payloads have the shapes of Intuit's samples and XSD in
``/work/shared/contracts/quickbooks``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
from arbridge_quickbooks.emulator import QuickBooksEmulator
from quickbooks import QuickBooks
from quickbooks.cdc import change_data_capture
from quickbooks.exceptions import AuthorizationException, ObjectNotFoundException
from quickbooks.objects.customer import Customer as QbCustomer
from quickbooks.objects.invoice import Invoice as QbInvoice
from quickbooks.objects.payment import Payment as QbPayment

from arbridge.clock import FakeClock
from tests.connectors.quickbooks.conftest import XSD, Company, sample, sample_bytes
from tests.connectors.quickbooks.conftest import company as company  # the served emulator

XS = "{http://www.w3.org/2001/XMLSchema}"


class HttpxSession:
    """What python-quickbooks needs of a session: ``access_token`` and ``request``."""

    def __init__(self, access_token: str) -> None:
        self.access_token = access_token
        self._http = httpx.Client()

    def request(
        self, method: str, url: str, headers: Any = None, params: Any = None, data: Any = None
    ) -> httpx.Response:
        content = data if isinstance(data, str | bytes) and data else None
        return self._http.request(method, url, headers=headers, params=params, content=content)

    def close(self) -> None:
        self._http.close()


@pytest.fixture
def qb(company: Company) -> Iterator[QuickBooks]:
    company.connect()
    client = QuickBooks(company_id=company.emulator.realm_id, minorversion=75, use_decimal=True)
    client.sandbox = True
    client.sandbox_api_url_v3 = f"{company.server.base_url}/v3"
    session = HttpxSession(company.credentials.values["quickbooks"]["access_token"])
    client.session = session
    yield client
    session.close()


def seed(emulator: QuickBooksEmulator, clock: FakeClock) -> tuple[str, str]:
    customer = emulator.add_customer("Sonnenschein Family Store", "family@example.test")
    invoice = emulator.issue_invoice(
        customer,
        currency="USD",
        amount=Decimal("362.07"),
        issue_date=clock.now().date(),
        due_date=clock.now().date() + timedelta(days=30),
        terms="Net 30",
    )
    return customer, invoice


def test_python_quickbooks_reads_invoices_customers_and_payments(
    company: Company, qb: QuickBooks
) -> None:
    customer_id, invoice_id = seed(company.emulator, company.clock)
    company.emulator.pay_invoice(invoice_id, Decimal("62.07"))
    invoice = QbInvoice.get(invoice_id, qb=qb)
    assert invoice.CustomerRef.value == customer_id
    assert invoice.CustomerRef.name == "Sonnenschein Family Store"
    assert invoice.TotalAmt == Decimal("362.07")
    assert invoice.Balance == Decimal("300.00")
    assert invoice.MetaData.LastUpdatedTime == company.clock.now().isoformat()
    assert type(invoice.Line[0]).__name__ == "SalesItemLine"
    assert invoice.SalesTermRef.name == "Net 30"
    customers = QbCustomer.all(qb=qb)
    assert [c.DisplayName for c in customers] == ["Sonnenschein Family Store"]
    assert customers[0].PrimaryEmailAddr.Address == "family@example.test"
    (payment,) = QbPayment.filter(CustomerRef=customer_id, qb=qb)
    assert payment.Line[0].LinkedTxn[0].TxnId == invoice_id
    assert payment.TotalAmt == Decimal("62.07")


def test_python_quickbooks_creates_and_updates_with_sync_tokens(
    company: Company, qb: QuickBooks
) -> None:
    _, invoice_id = seed(company.emulator, company.clock)
    invoice = QbInvoice.get(invoice_id, qb=qb)
    invoice.PrivateNote = "checked"
    saved = invoice.save(qb=qb)
    assert saved.SyncToken == "1"
    assert QbInvoice.get(invoice_id, qb=qb).PrivateNote == "checked"
    fresh = QbCustomer()
    fresh.DisplayName = "Amy's Bird Sanctuary"
    created = fresh.save(qb=qb)
    assert created.Id
    assert created.SyncToken == "0"


def test_python_quickbooks_exceptions_match_intuit(company: Company, qb: QuickBooks) -> None:
    with pytest.raises(ObjectNotFoundException):
        QbInvoice.get("404404", qb=qb)
    company.emulator.oauth.expire_access_tokens()
    with pytest.raises(AuthorizationException):
        QbInvoice.all(qb=qb)


def test_python_quickbooks_cdc_parses_live_and_deleted(company: Company, qb: QuickBooks) -> None:
    since = company.clock.now().isoformat()
    _, kept = seed(company.emulator, company.clock)
    _, gone = seed_second(company)
    company.emulator.delete_invoice(gone)
    response = change_data_capture([QbInvoice], since, qb=qb)
    assert [i.Id for i in response.Invoice] == [kept, gone]
    assert response.Invoice[1].status == "Deleted"


def seed_second(company: Company) -> tuple[str, str]:
    customer = company.emulator.add_customer("Second")
    invoice = company.emulator.issue_invoice(
        customer,
        currency="USD",
        amount=Decimal("1.00"),
        issue_date=company.clock.now().date(),
        due_date=company.clock.now().date(),
        terms="Net 30",
    )
    return customer, invoice


# --- shapes -------------------------------------------------------------------------------


def json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float | Decimal):
        return "number"
    return type(value).__name__


def emulator_json(company: Company, path: str, **params: str) -> Any:
    token = company.credentials.values["quickbooks"]["access_token"]
    answer = httpx.get(
        f"{company.server.base_url}/v3/company/{company.emulator.realm_id}/{path}",
        params={"minorversion": "75", **params},
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )
    return json.loads(answer.content, parse_float=Decimal)


def xsd_elements(type_name: str) -> set[str]:
    """Element names of an XSD complex type, its base types included."""
    types: dict[str, ElementTree.Element] = {}
    for path in Path(XSD).glob("*.xsd"):
        root = ElementTree.parse(path).getroot()  # noqa: S314 - Intuit's own XSD
        for node in root.iter(f"{XS}complexType"):
            if node.get("name"):
                types[node.get("name", "")] = node
    names: set[str] = set()
    pending = [type_name]
    while pending:
        node = types[pending.pop()]
        names |= {e.get("name", "") for e in node.iter(f"{XS}element") if e.get("name")}
        names |= {a.get("name", "") for a in node.iter(f"{XS}attribute") if a.get("name")}
        for extension in node.iter(f"{XS}extension"):
            pending.append(extension.get("base", "").split(":")[-1])
    return names


@pytest.mark.parametrize(
    ("entity", "sample_name", "xsd_type"),
    [
        ("Invoice", "invoice.object.json", "Invoice"),
        ("Payment", "payment.object.json", "Payment"),
        ("Customer", None, "Customer"),
    ],
)
def test_entities_have_the_sample_and_xsd_shapes(
    company: Company, entity: str, sample_name: str | None, xsd_type: str
) -> None:
    company.connect()
    _, invoice_id = seed(company.emulator, company.clock)
    company.emulator.pay_invoice(invoice_id, Decimal("2.07"))
    ids = {e: next(iter(company.emulator.company.objects[e])) for e in ("Customer", "Payment")}
    ids["Invoice"] = invoice_id
    body = emulator_json(company, f"{entity.lower()}/{ids[entity]}")
    assert set(body) == {entity, "time"}
    obj = body[entity]
    # Every field is one Intuit defines (``domain`` and ``sparse`` are XSD attributes).
    assert set(obj) - xsd_elements(xsd_type) == set()
    if sample_name is not None:
        expected = sample(sample_name)[entity]
        shared = set(obj) & set(expected)
        assert {"Id", "SyncToken", "MetaData", "CustomerRef", "TxnDate", "TotalAmt"} <= shared
        for key in shared:
            assert json_kind(obj[key]) == json_kind(expected[key]), key


def test_query_cdc_delete_and_error_shapes(company: Company) -> None:
    company.connect()
    since = company.clock.now().isoformat()
    _, invoice_id = seed(company.emulator, company.clock)
    query = emulator_json(company, "query", query="select * from Invoice")
    expected_query = sample("invoice.query-response.json")
    assert set(query) == set(expected_query)
    assert {"Invoice", "startPosition", "maxResults"} <= set(query["QueryResponse"])
    empty = emulator_json(company, "query", query="select * from CreditMemo")
    assert "CreditMemo" not in empty["QueryResponse"]  # absent, not [], when nothing matched
    company.emulator.delete_invoice(invoice_id)
    cdc = emulator_json(company, "cdc", entities="Invoice", changedSince=since)
    expected_cdc = sample("cdc.response.json")
    assert set(cdc) == set(expected_cdc)
    block = cdc["CDCResponse"][0]["QueryResponse"][0]
    stub = block["Invoice"][-1]
    expected_stub = expected_cdc["CDCResponse"][0]["QueryResponse"][1]["Estimate"][-1]
    assert set(stub) == set(expected_stub)
    missing = emulator_json(company, "invoice/999")
    expected_fault = sample("error.validation-fault.docs-shape.json")
    assert set(missing) == set(expected_fault)
    assert set(missing["Fault"]["Error"][0]) == set(expected_fault["Fault"]["Error"][0])


def test_auth_and_throttle_bodies_match_intuits(company: Company) -> None:
    answer = httpx.get(
        f"{company.server.base_url}/v3/company/{company.emulator.realm_id}/invoice/1",
        params={"minorversion": "75"},
    )
    assert set(answer.json()) == set(
        json.loads(sample_bytes("error.auth-401-3200.from-issue.json"))
    )
    company.connect()
    company.emulator.gate.rate_limit = 0
    company.emulator.gate.throttle_xml = True
    token = company.credentials.values["quickbooks"]["access_token"]
    throttled = httpx.get(
        f"{company.server.base_url}/v3/company/{company.emulator.realm_id}/invoice/1",
        params={"minorversion": "75"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert throttled.status_code == 429
    ours = ElementTree.fromstring(throttled.content)  # noqa: S314 - the emulator's answer
    theirs = ElementTree.fromstring(  # noqa: S314 - Intuit's sample
        sample_bytes("error.throttle-429-3001.from-issue.xml")
    )
    assert ours.tag == theirs.tag
    assert [e.tag for e in ours.iter()] == [e.tag for e in theirs.iter()]


def test_token_answers_match_the_oauth_samples(company: Company) -> None:
    company.connect()
    token_sample = sample("oauth.token-response.json")
    grant = company.emulator.oauth.refresh(
        company.credentials.values["quickbooks"]["refresh_token"]
    )
    assert set(token_sample) - {"id_token"} == set(grant)
    refused = httpx.post(
        f"{company.server.base_url}/oauth2/v1/tokens/bearer",
        data={"grant_type": "refresh_token", "refresh_token": "RT1-unknown"},
        auth=(company.settings.client_id, company.settings.client_secret.get_secret_value()),
    )
    assert refused.status_code == 400
    assert set(refused.json()) == set(sample("oauth.token-error.json"))
    assert refused.json()["error"] == "invalid_grant"
