"""Webhooks over HTTP: verified events are stored once, then become tasks; bad ones store none."""

from __future__ import annotations

import json
from datetime import date, timedelta

import httpx
from sqlalchemy import func
from sqlmodel import select

from arbridge.clock import FakeClock
from arbridge.store.db import transaction
from arbridge.store.tables import InboxRow
from arbridge.testing.loopback import LoopbackServer
from tests.intake.conftest import SECRET_TOKEN, Rig


def inbox_rows(rig: Rig) -> int:
    with transaction(rig.app.engine) as session:
        return session.exec(select(func.count()).select_from(InboxRow)).one()


def test_a_verified_webhook_is_stored_acknowledged_and_becomes_one_task(rig: Rig) -> None:
    rig.source.add_customer("cus_1", "Acme Ltd")
    event = rig.source.issue("in_1", "cus_1", "120.00", date(2026, 3, 30))
    response = rig.deliver(event)
    assert response.status_code == 200
    assert response.json() == {"stored": 1, "duplicates": 0}
    # Acknowledged before any processing: nothing reached the task tool yet.
    assert rig.sink.total_requests == 0
    rig.process()
    assert rig.sink.requests["create_task"] == 1
    (task,) = rig.sink.tasks.values()
    assert task.key == "stripe:fake-acct:in_1"
    assert task.fields["customer"] == "Acme Ltd"


def test_a_redelivered_event_is_a_no_op(rig: Rig) -> None:
    rig.source.add_customer("cus_1", "Acme Ltd")
    event = rig.source.issue("in_1", "cus_1", "120.00", date(2026, 3, 30))
    assert rig.deliver(event).json() == {"stored": 1, "duplicates": 0}
    rig.process()
    requests = rig.sink.total_requests
    again = rig.deliver(event)
    assert again.status_code == 200
    assert again.json() == {"stored": 0, "duplicates": 1}
    rig.process()
    assert inbox_rows(rig) == 1
    assert rig.sink.total_requests == requests
    totals = rig.app.intake.metrics.totals()
    assert totals["received"] == {"stripe": 1}
    assert totals["duplicate"] == {"stripe": 1}


def test_reordered_deliveries_end_in_the_same_state(rig: Rig, clock: FakeClock) -> None:
    rig.source.add_customer("cus_1", "Acme Ltd")
    issued = rig.source.issue("in_1", "cus_1", "100.00", date(2026, 3, 30))
    clock.advance(timedelta(hours=1))
    paid = rig.source.pay("in_1", "100.00")
    # The payment arrives first, then the older "finalized" event.
    rig.deliver(paid)
    rig.process()
    rig.deliver(issued)
    rig.process()
    (task,) = rig.sink.tasks.values()
    assert task.status == "paid"
    assert task.fields["amount_due"] == "0"


def test_forged_malformed_and_oversized_deliveries_are_refused_and_store_nothing(
    rig: Rig,
) -> None:
    rig.source.add_customer("cus_1", "Acme Ltd")
    body, headers = rig.source.delivery(rig.source.issue("in_1", "cus_1", "5.00", date(2026, 4, 1)))
    forged = rig.http.post(
        "/webhooks/stripe", content=body, headers={**headers, "x-fake-signature": "00" * 32}
    )
    assert forged.status_code == 400
    assert forged.json() == {"error": "signature does not match"}
    unsigned = rig.http.post(
        "/webhooks/stripe", content=body, headers={"content-type": "application/json"}
    )
    assert unsigned.status_code == 400
    junk = b"not json at all"
    malformed = rig.http.post(
        "/webhooks/stripe",
        content=junk,
        headers={"content-type": "application/json", "x-fake-signature": rig.source.sign(junk)},
    )
    assert malformed.status_code == 400
    assert malformed.json() == {"error": "body is not a fake event"}
    wrong_type = rig.http.post(
        "/webhooks/stripe", content=body, headers={**headers, "content-type": "text/plain"}
    )
    assert wrong_type.status_code == 415
    huge = json.dumps({"id": "evt_big", "type": "x", "object": "y" * 5000}).encode()
    oversized = rig.http.post(
        "/webhooks/stripe",
        content=huge,
        headers={"content-type": "application/json", "x-fake-signature": rig.source.sign(huge)},
    )
    assert oversized.status_code == 413
    unknown = rig.http.post("/webhooks/paypal", content=body, headers=headers)
    assert unknown.status_code == 404
    not_configured = rig.http.post("/webhooks/quickbooks", content=body, headers=headers)
    assert not_configured.status_code == 404
    assert inbox_rows(rig) == 0
    rejected = rig.app.intake.metrics.totals()["rejected"]
    assert rejected == {"stripe": 5, "unknown": 1, "quickbooks": 1}


def test_a_store_failure_is_not_acknowledged(rig: Rig) -> None:
    from sqlalchemy import create_engine

    from arbridge.store.inbox_writer import GroupCommitter
    from arbridge.web.app import create_web_app

    rig.source.add_customer("cus_1", "Acme Ltd")
    event = rig.source.issue("in_1", "cus_1", "5.00", date(2026, 4, 1))
    context = rig.app.intake.web_context()
    # A store whose file cannot be created: the write fails, so the provider must retry.
    context.engine = create_engine("sqlite:////nonexistent-dir/arbridge.db")
    context.store = GroupCommitter(context.engine).store
    with LoopbackServer(create_web_app(context)) as server:
        body, headers = rig.source.delivery(event)
        response = httpx.post(f"{server.base_url}/webhooks/stripe", content=body, headers=headers)
    assert response.status_code == 503
    assert response.json() == {"error": "could not store the event; retry"}
    assert inbox_rows(rig) == 0


def test_health_readiness_and_metrics_never_show_secrets(rig: Rig) -> None:
    assert rig.http.get("/healthz").text == "ok"
    ready = rig.http.get("/readyz")
    # No poll has run yet: not ready, and it says why.
    assert ready.status_code == 503
    assert ready.json()["problems"] == ["stripe: the first poll has not finished yet"]
    rig.app.intake.poll_all()
    ready = rig.http.get("/readyz")
    assert ready.status_code == 200, ready.json()
    metrics = rig.http.get("/metrics").text
    assert "arbridge_inbox_pending" in metrics
    for page in (ready.text, metrics):
        assert SECRET_TOKEN not in page
        assert rig.source.secret not in page
