"""The whole product over HTTP: QuickBooks and Stripe emulators send signed webhooks to the
daemon's server, the engine mirrors into the ClickUp emulator, polling heals what is lost."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import select

from arbridge.clock import FakeClock
from arbridge.demo.stack import ProductStack
from arbridge.loop.polling import SourceState
from arbridge.store.db import transaction
from arbridge.store.tables import InboxRow

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
QUIET = {"insight": {"enabled": False}, "sync": {"workers": 1}}


@pytest.fixture
def product(tmp_path: Any) -> Iterator[ProductStack]:
    with ProductStack(FakeClock(START), workdir=tmp_path, extra=QUIET) as stack:
        # The first poll is the (empty) backfill: from here on the cursors follow changes.
        stack.app.intake.poll_all()
        yield stack


def issue(
    emulator: Any, customer: str, amount: Decimal, *, due: date, currency: str = "USD"
) -> str:
    """An invoice issued on the first day; its terms follow from the due date."""
    days = (due - START.date()).days
    invoice_id: str = emulator.issue_invoice(
        customer,
        currency=currency,
        amount=amount,
        issue_date=START.date(),
        due_date=due,
        terms=f"Net {days}",
    )
    return invoice_id


def tasks_by_key(product: ProductStack) -> dict[str, dict[str, Any]]:
    """The emulated ClickUp's tasks, as the sink reads them back, by arbridge key."""
    found: dict[str, dict[str, Any]] = {}
    for task in product.app.sink.iter_tasks():
        assert task.key is not None
        assert task.key not in found, f"two tasks for {task.key}"
        found[task.key] = {"status": task.status, **task.fields}
    return found


def inbox_count(product: ProductStack) -> int:
    with transaction(product.app.engine) as session:
        return session.exec(select(func.count()).select_from(InboxRow)).one()


def test_stripe_and_quickbooks_webhooks_become_tasks(product: ProductStack) -> None:
    stripe, qbo = product.sources["stripe"], product.sources["quickbooks"]
    cus = stripe.add_customer("Hooli Inc", "ap@hooli.example")
    card = issue(stripe, cus, Decimal("150000"), due=date(2026, 4, 1), currency="JPY")
    acme = qbo.add_customer("Acme Ltd", "ap@acme.example")
    bill = issue(qbo, acme, Decimal("1250.50"), due=date(2026, 3, 17))
    product.settle()
    tasks = tasks_by_key(product)
    stripe_task = next(t for k, t in tasks.items() if k.startswith("stripe:") and k.endswith(card))
    qbo_task = next(t for k, t in tasks.items() if k.startswith("quickbooks:") and k.endswith(bill))
    assert stripe_task["amount_due"] == "150000"
    assert stripe_task["currency"] == "JPY"
    assert stripe_task["customer"] == "Hooli Inc"
    assert qbo_task["amount_due"] == "1250.5"
    assert qbo_task["customer"] == "Acme Ltd"
    assert {t["status"] for t in tasks.values()} == {"open"}
    # Paid at the source: the same tasks follow, no new ones.
    product.clock.advance(timedelta(days=1))  # type: ignore[attr-defined]
    stripe.pay_invoice(card, Decimal("150000"))
    qbo.pay_invoice(bill, Decimal("250.50"))
    product.settle()
    tasks = tasks_by_key(product)
    assert len(tasks) == 2
    by_source = {k.split(":")[0]: t for k, t in tasks.items()}
    assert by_source["stripe"]["status"] == "paid"
    assert by_source["quickbooks"]["status"] == "partially_paid"
    assert by_source["quickbooks"]["amount_due"] == "1000"


def test_a_dropped_webhook_is_healed_by_polling(product: ProductStack) -> None:
    stripe: Any = product.sources["stripe"]
    cus = stripe.add_customer("Wonka Co", None)
    invoice = issue(stripe, cus, Decimal("99.00"), due=date(2026, 4, 1))
    product.settle()
    product.clock.advance(timedelta(hours=3))  # type: ignore[attr-defined]
    stripe.knobs.drop_next = 10  # every event of the payment is lost
    stripe.pay_invoice(invoice, Decimal("99.00"))
    product.settle()
    (task,) = tasks_by_key(product).values()
    assert task["status"] == "open"
    product.app.intake.poll_all()
    product.app.drain(1)
    (task,) = tasks_by_key(product).values()
    assert task["status"] == "paid"


def _book_of_three(product: ProductStack) -> None:
    stripe = product.sources["stripe"]
    cus = stripe.add_customer("Globex", None)
    ids = [issue(stripe, cus, Decimal(100 + n), due=date(2026, 3, 20)) for n in range(3)]
    product.clock.advance(timedelta(hours=1))  # type: ignore[attr-defined]
    stripe.pay_invoice(ids[0], Decimal(100))
    stripe.pay_invoice(ids[1], Decimal(50))
    stripe.void_invoice(ids[2])


def _final(product: ProductStack) -> list[dict[str, Any]]:
    return sorted(
        (
            {k: v for k, v in task.items() if k not in ("arbridge_key", "link")}
            for task in tasks_by_key(product).values()
        ),
        key=json.dumps,
    )


def test_duplicated_and_reordered_deliveries_end_like_a_clean_run(tmp_path: Any) -> None:
    results = []
    for mess in (False, True):
        workdir = tmp_path / ("messy" if mess else "clean")
        workdir.mkdir()
        with ProductStack(FakeClock(START), workdir=workdir, extra=QUIET) as stack:
            stack.app.intake.poll_all()
            knobs: Any = stack.sources["stripe"].knobs  # type: ignore[attr-defined]
            knobs.duplicate = mess
            knobs.reverse = mess
            _book_of_three(stack)
            stack.settle()
            results.append(_final(stack))
            if mess:
                totals = stack.app.intake.metrics.totals()
                assert totals["duplicate"]["stripe"] > 0
    clean, messy = results
    assert messy == clean
    assert {t["status"] for t in clean} == {"paid", "partially_paid", "void"}


def test_forged_stale_and_malformed_webhooks_are_refused_and_store_nothing(
    product: ProductStack,
) -> None:
    url = product.daemon_url
    stripe: Any = product.sources["stripe"]
    before = inbox_count(product)
    body = json.dumps({"id": "evt_x", "object": "event", "type": "invoice.paid"}).encode()
    forged = httpx.post(
        f"{url}/webhooks/stripe",
        content=body,
        headers={"content-type": "application/json", "stripe-signature": "t=1,v1=deadbeef"},
    )
    assert forged.status_code == 400
    stripe.knobs.stale_by_s = 3600  # a replay of an event signed an hour ago
    cus = stripe.add_customer("Initech", None)
    issue(stripe, cus, Decimal("10"), due=date(2026, 3, 20))
    stripe.flush_webhooks()
    qbo_forged = httpx.post(
        f"{url}/webhooks/quickbooks",
        content=b'{"eventNotifications": []}',
        headers={"content-type": "application/json", "intuit-signature": "Zm9yZ2Vk"},
    )
    assert qbo_forged.status_code in (400, 401)
    clickup_forged = httpx.post(
        f"{url}/webhooks/clickup",
        content=b'{"event": "taskStatusUpdated"}',
        headers={"content-type": "application/json", "x-signature": "00" * 32},
    )
    assert clickup_forged.status_code in (400, 401)
    malformed = httpx.post(
        f"{url}/webhooks/stripe", content=b"{", headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 400
    assert inbox_count(product) == before
    rejected = product.app.intake.metrics.totals()["rejected"]
    assert rejected["stripe"] >= 3  # forged, each stale delivery, malformed
    assert product.app.sink.iter_tasks is not None
    assert tasks_by_key(product) == {}


def test_a_refused_quickbooks_token_degrades_only_quickbooks(product: ProductStack) -> None:
    qbo: Any = product.sources["quickbooks"]
    stripe = product.sources["stripe"]
    qbo.oauth.revoke_all()
    qbo.oauth.expire_access_tokens()
    product.clock.advance(timedelta(hours=2))  # type: ignore[attr-defined]
    product.app.intake.poll_all()
    state = SourceState.load(product.app.engine, "quickbooks")
    assert state.auth_refused
    assert "arbridge quickbooks connect" in (state.last_error or "")
    ready = httpx.get(f"{product.daemon_url}/readyz")
    assert ready.status_code == 503
    assert any(p.startswith("quickbooks:") for p in ready.json()["problems"])
    assert not any(p.startswith("stripe:") for p in ready.json()["problems"])
    # Stripe goes on: a new invoice there still becomes a task.
    cus = stripe.add_customer("Stark Labs", None)
    issue(stripe, cus, Decimal("500"), due=date(2026, 4, 1))
    product.settle()
    assert [k.split(":")[0] for k in tasks_by_key(product)] == ["stripe"]
    status = product.app.status()
    assert status["sources"]["quickbooks"]["ok"] is False
    assert status["sources"]["stripe"]["ok"] is True
    # Reconnecting heals QuickBooks without a restart.
    product.connect_quickbooks()
    product.app.intake.poll_all()
    assert SourceState.load(product.app.engine, "quickbooks").auth_refused is False
