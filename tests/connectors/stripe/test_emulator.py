"""The Stripe emulator's own behaviour over raw HTTP: encoding, paging, the invoice state
machine and its events, idempotency, auth, and the webhook delivery knobs."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from arbridge_stripe.emulator import DEMO_API_KEY, TokenBucket, parse_form
from arbridge_stripe.emulator.forms import FormError

from .conftest import Receiver
from .kit import START, Served

AUTH = {"Authorization": f"Bearer {DEMO_API_KEY}"}


def call(env: Served, method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = {**AUTH, **kwargs.pop("headers", {})}
    return httpx.request(method, env.base_url + path, headers=headers, **kwargs)


def test_bracket_notation_forms() -> None:
    parsed = parse_form(
        "metadata[terms]=Net+30&expand[0]=customer&expand[1]=payments"
        "&created[gte]=5&types[]=a&types[]=b&payment[type]=payment_intent"
    )
    assert parsed == {
        "metadata": {"terms": "Net 30"},
        "expand": ["customer", "payments"],
        "created": {"gte": "5"},
        "types": ["a", "b"],
        "payment": {"type": "payment_intent"},
    }
    with pytest.raises(FormError):
        parse_form("bad]name=1")


def test_invoice_lifecycle_over_http_emits_stripes_events(env: Served) -> None:
    customer = call(env, "POST", "/v1/customers", data={"name": "Acme", "email": "a@acme.test"})
    assert customer.status_code == 200
    cid = customer.json()["id"]
    draft = call(
        env,
        "POST",
        "/v1/invoices",
        data={
            "customer": cid,
            "currency": "usd",
            "collection_method": "send_invoice",
            "days_until_due": "30",
            "metadata[terms]": "Net 30",
        },
    ).json()
    assert (draft["status"], draft["number"], draft["hosted_invoice_url"]) == ("draft", None, None)
    assert draft["due_date"] == int(START.timestamp()) + 30 * 86400
    iid = draft["id"]
    item = call(env, "POST", "/v1/invoiceitems", data={"invoice": iid, "amount": "12000"})
    assert item.status_code == 200
    opened = call(env, "POST", f"/v1/invoices/{iid}/finalize").json()
    assert opened["status"] == "open"
    assert opened["number"].endswith("-0001")
    assert opened["hosted_invoice_url"].startswith("https://invoice.stripe.com/")
    assert opened["status_transitions"]["finalized_at"] == int(START.timestamp())
    assert (opened["total"], opened["amount_remaining"]) == (12000, 12000)

    env.clock.advance(timedelta(days=3))
    partial = call(env, "POST", f"/v1/invoices/{iid}/pay", data={"amount": "2000"}).json()
    assert (partial["status"], partial["amount_paid"], partial["amount_remaining"]) == (
        "open",
        2000,
        10000,
    )
    paid = call(env, "POST", f"/v1/invoices/{iid}/pay").json()
    assert (paid["status"], paid["amount_remaining"]) == ("paid", 0)
    assert paid["status_transitions"]["paid_at"] == int((START + timedelta(days=3)).timestamp())

    kinds = [e["type"] for e in reversed(call(env, "GET", "/v1/events?limit=100").json()["data"])]
    assert kinds == [
        "customer.created",
        "invoice.created",
        "invoice.updated",  # the invoice item
        "invoice.finalized",
        "invoice.updated",  # partial payment
        "invoice.paid",
        "invoice.payment_succeeded",
        "invoice.updated",
    ]
    last_three = env.emulator.state.events[-3:]
    assert len({e["created"] for e in last_three}) == 1  # the same second, as Stripe does
    assert last_three[-1]["data"]["previous_attributes"]["status"] == "open"
    payments = call(env, "GET", f"/v1/invoice_payments?invoice={iid}").json()["data"]
    assert sorted(p["amount_paid"] for p in payments) == [2000, 10000]


def test_invalid_transitions_are_400s(env: Served) -> None:
    cid = env.emulator.add_customer("Acme")
    iid = env.emulator.draft_invoice(cid, currency="USD", amount=Decimal(10))
    assert call(env, "POST", f"/v1/invoices/{iid}/pay").status_code == 400
    assert call(env, "POST", f"/v1/invoices/{iid}/finalize").status_code == 200
    again = call(env, "POST", f"/v1/invoices/{iid}/finalize")
    assert again.status_code == 400
    assert again.json()["error"]["type"] == "invalid_request_error"
    assert call(env, "DELETE", f"/v1/invoices/{iid}").status_code == 400  # only drafts
    assert call(env, "POST", f"/v1/invoices/{iid}/mark_uncollectible").status_code == 200
    assert call(env, "POST", f"/v1/invoices/{iid}/void").status_code == 200
    assert call(env, "POST", f"/v1/invoices/{iid}/void").status_code == 400
    missing = call(env, "GET", "/v1/invoices/in_nope")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "resource_missing"


def test_paging_and_filters(env: Served) -> None:
    cid = env.emulator.add_customer("Acme")
    ids = []
    for n in range(25):
        ids.append(env.emulator.draft_invoice(cid, currency="USD", amount=Decimal(n + 1)))
        env.clock.advance(timedelta(seconds=10))
    newest_first = list(reversed(ids))
    first = call(env, "GET", "/v1/invoices?limit=10").json()
    assert first["object"] == "list"
    assert first["url"] == "/v1/invoices"
    assert [i["id"] for i in first["data"]] == newest_first[:10]
    assert first["has_more"] is True
    rest = call(env, "GET", f"/v1/invoices?limit=100&starting_after={newest_first[9]}").json()
    assert [i["id"] for i in rest["data"]] == newest_first[10:]
    assert rest["has_more"] is False
    before = call(env, "GET", f"/v1/invoices?limit=3&ending_before={newest_first[9]}").json()
    assert [i["id"] for i in before["data"]] == newest_first[6:9]
    assert before["has_more"] is True
    since = int((START + timedelta(seconds=200)).timestamp())
    recent = call(env, "GET", f"/v1/invoices?limit=100&created[gte]={since}").json()["data"]
    assert [i["id"] for i in recent] == newest_first[:5]
    assert call(env, "GET", "/v1/invoices?limit=101").status_code == 400
    assert call(env, "GET", "/v1/invoices?status=open").json()["data"] == []


def test_event_type_filters_and_30_day_retention(env: Served) -> None:
    cid = env.emulator.add_customer("Acme")
    env.clock.advance(timedelta(days=20))
    env.emulator.draft_invoice(cid, currency="USD", amount=Decimal(1))

    def types(query: str) -> list[str]:
        return [e["type"] for e in call(env, "GET", f"/v1/events?{query}").json()["data"]]

    assert types("type=invoice.*") == ["invoice.created"]
    assert types("types[]=customer.created&types[]=invoice.created") == [
        "invoice.created",
        "customer.created",
    ]
    assert call(env, "GET", "/v1/events?type=a&types[]=b").status_code == 400
    event_id = env.emulator.state.events[0]["id"]
    assert call(env, "GET", f"/v1/events/{event_id}").status_code == 200
    env.clock.advance(timedelta(days=11))
    assert types("limit=100") == ["invoice.created"]
    assert call(env, "GET", f"/v1/events/{event_id}").status_code == 404


def test_auth_errors_in_stripes_shape(env: Served) -> None:
    none = httpx.get(env.base_url + "/v1/invoices")
    assert none.status_code == 401
    assert "did not provide an API key" in none.json()["error"]["message"]
    bad = httpx.get(
        env.base_url + "/v1/invoices",
        headers={"Authorization": "Bearer sk_test_0123456789abcdefWRONG"},
    )
    assert bad.status_code == 401
    error = bad.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert "0123456789abcdef" not in error["message"]
    assert bad.headers["Request-Id"].startswith("req_")
    assert env.emulator.stats()["http_401"] == 2


def test_idempotent_replay_and_mismatch(env: Served) -> None:
    key = {"Idempotency-Key": "create-acme-1"}
    first = call(env, "POST", "/v1/customers", data={"name": "Acme"}, headers=key)
    replay = call(env, "POST", "/v1/customers", data={"name": "Acme"}, headers=key)
    assert replay.json()["id"] == first.json()["id"]
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert len(env.emulator.state.find("customer", None)) == 1
    other = call(env, "POST", "/v1/customers", data={"name": "Other"}, headers=key)
    assert other.status_code == 400
    assert other.json()["error"]["type"] == "idempotency_error"
    event = env.emulator.state.events[0]
    assert event["request"] == {
        "id": first.headers["Request-Id"],
        "idempotency_key": "create-acme-1",
    }


def test_request_counters(env: Served) -> None:
    call(env, "GET", "/v1/invoices")
    call(env, "GET", "/v1/invoices")
    call(env, "GET", "/v1/customers/cus_x")
    stats = env.emulator.stats()
    assert stats["requests"] == {"GET /v1/invoices": 2, "GET /v1/customers/{id}": 1}
    assert stats["total"] == 3


def test_connected_account_objects_need_the_header(env: Served) -> None:
    cid = env.emulator.add_customer("Theirs", account="acct_1X")
    assert call(env, "GET", f"/v1/customers/{cid}").status_code == 404
    scoped = call(env, "GET", f"/v1/customers/{cid}", headers={"Stripe-Account": "acct_1X"})
    assert scoped.status_code == 200
    [event] = env.emulator.state.events
    assert event["account"] == "acct_1X"


# ---------------------------------------------------------------------- deliveries


def test_deliveries_are_signed_with_real_time_while_the_clock_moves(
    env: Served, receiver: Receiver
) -> None:
    env.clock.advance(timedelta(days=90))
    env.emulator.add_customer("Acme")
    assert env.emulator.flush_webhooks() == 1
    [event] = receiver.events
    assert event.occurred_at == START + timedelta(days=90)
    assert receiver.rejected == []


def test_failed_deliveries_are_retried(env: Served, receiver: Receiver) -> None:
    receiver.fail_next = 2
    env.emulator.add_customer("Acme")
    assert env.emulator.flush_webhooks() == 3
    assert len(receiver.events) == 1
    stats = env.emulator.stats()
    assert (stats["webhooks_sent"], stats["webhooks_delivered"]) == (3, 1)
    receiver.fail_next = 5
    env.emulator.add_customer("Initech")
    assert env.emulator.flush_webhooks() == 3
    assert env.emulator.stats()["webhooks_failed"] == 1


def test_duplicate_held_and_reversed_deliveries(env: Served, receiver: Receiver) -> None:
    knobs = env.emulator.knobs
    knobs.hold = True
    first = env.emulator.add_customer("First")
    second = env.emulator.add_customer("Second")
    assert env.emulator.flush_webhooks() == 0
    assert len(env.emulator.sender.pending()) == 2
    knobs.hold, knobs.reverse, knobs.duplicate = False, True, True
    assert env.emulator.flush_webhooks() == 4
    order = [e.payload["data"]["object"]["id"] for e in receiver.events]
    assert order == [second, second, first, first]


def test_stale_and_rotated_signatures(env: Served, receiver: Receiver) -> None:
    env.emulator.knobs.stale_by_s = 400
    env.emulator.knobs.max_attempts = 1
    env.emulator.add_customer("Replayed")
    env.emulator.flush_webhooks()
    assert receiver.events == []
    assert receiver.rejected == [
        "Stripe-Signature timestamp is older than 300 s (stale or replayed)"
    ]
    env.emulator.knobs.stale_by_s = 0
    env.emulator.knobs.extra_secrets = ("whsec_nextSecretDuringRotation0000000",)
    env.emulator.add_customer("Rotated")
    env.emulator.flush_webhooks()
    assert len(receiver.events) == 1


def test_signature_header_format(env: Served) -> None:
    captured: list[httpx.Request] = []

    def keep(request: httpx.Request) -> httpx.Response:
        captured.append(request)
        return httpx.Response(200)

    env.emulator.sender.use_transport(httpx.MockTransport(keep))
    env.emulator.subscribe("https://example.test/hook")
    env.emulator.knobs.extra_secrets = ("whsec_second",)
    env.emulator.add_customer("Acme")
    env.emulator.flush_webhooks()
    [request] = captured
    parts = request.headers["Stripe-Signature"].split(",")
    assert parts[0].startswith("t=")
    assert abs(int(parts[0][2:]) - time.time()) < 60
    assert [p[:3] for p in parts[1:]] == ["v1=", "v1="]


def test_http_test_hooks(env: Served) -> None:
    cid = env.emulator.add_customer("Acme")
    iid = env.emulator.issue_invoice(
        cid,
        currency="USD",
        amount=Decimal(50),
        issue_date=START.date(),
        due_date=START.date(),
        terms="Due on receipt",
    )
    assert call(env, "POST", f"/_test/invoices/{iid}/fail_payment").json()["attempt_count"] == 1
    assert call(env, "POST", f"/_test/invoices/{iid}/overdue").status_code == 200
    assert call(env, "POST", f"/_test/invoices/{iid}/dispute").status_code == 400  # unpaid
    env.emulator.pay_invoice(iid, Decimal(50))
    opened = call(env, "POST", f"/_test/invoices/{iid}/dispute", data={"reason": "fraudulent"})
    dispute = opened.json()
    assert (dispute["reason"], dispute["amount"], dispute["status"]) == (
        "fraudulent",
        5000,
        "needs_response",
    )
    closed = call(env, "POST", f"/_test/disputes/{dispute['id']}/close", data={"won": "true"})
    assert closed.json()["status"] == "won"
    kinds = [e["type"] for e in env.emulator.state.events]
    assert kinds[3:5] == ["invoice.payment_failed", "invoice.overdue"]
    assert kinds[-2:] == ["charge.dispute.created", "charge.dispute.closed"]


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_rate_limit_answers_429_like_stripe(env: Served) -> None:
    ticks = Ticks()
    env.emulator.http.limiter = TokenBucket(3, monotonic=ticks)
    answers = [call(env, "GET", "/v1/customers").status_code for _ in range(5)]
    assert answers == [200, 200, 200, 429, 429]
    limited = call(env, "GET", "/v1/customers")
    assert limited.json()["error"]["code"] == "rate_limit"
    ticks.now += 1.0  # a second later the bucket is full again
    assert [call(env, "GET", "/v1/customers").status_code for _ in range(4)] == [200] * 3 + [429]
    assert env.emulator.stats()["http_429"] == 4


def test_idempotency_keys_expire_after_a_day(env: Served) -> None:
    key = {"Idempotency-Key": "k1"}
    first = call(env, "POST", "/v1/customers", data={"name": "Acme"}, headers=key).json()
    env.clock.advance(timedelta(hours=25))
    again = call(env, "POST", "/v1/customers", data={"name": "Acme"}, headers=key).json()
    assert again["id"] != first["id"]
