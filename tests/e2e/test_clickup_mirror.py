"""The engine against the ClickUp emulator over real HTTP: the acceptance of the sync core."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from arbridge_clickup.settings import DEFAULT_STATUSES
from typer.testing import CliRunner

from arbridge.cli.main import app as cli
from arbridge.clock import FakeClock
from arbridge.demo.generator import CompanyGenerator, with_payment
from arbridge.demo.run import verify
from arbridge.loop.apply import CrashPoint
from arbridge.model.invoice import Customer, Invoice, SourceVersion
from arbridge.ports.connector import Emulator, discover
from arbridge.runtime.app import App
from arbridge.settings import Settings
from arbridge.testing.loopback import LoopbackServer


@dataclass
class Rig:
    app: App
    emulator: Emulator
    clock: FakeClock
    settings: Settings

    def requests(self) -> int:
        total: int = self.emulator.stats()["total"]
        return total

    def tasks(self) -> list[dict[str, Any]]:
        state: Any = self.emulator.app.emulator
        return list(state.tasks.values())


@pytest.fixture
def rig(tmp_path: Path, clock: FakeClock) -> Iterator[Rig]:
    emulator = discover()["clickup"].emulator(rate_limit=None)
    with LoopbackServer(emulator.app) as server:
        settings = Settings.model_validate(
            {
                "database_url": f"sqlite:///{tmp_path / 'e2e.db'}",
                # The emulator is unthrottled here; so is the client, or 500 creates take 5 min.
                "clickup": {**emulator.config(server.base_url), "requests_per_minute": 100_000},
                "sync": {"workers": 2},
                "server": {"port": 0},
            }
        )
        app = App.from_settings(settings, clock)
        yield Rig(app, emulator, clock, settings)
        app.sink.close()
        app.engine.dispose()


def book(clock: FakeClock, count: int) -> list[tuple[Invoice, Customer]]:
    return CompanyGenerator(seed=11).open_invoices(count, today=clock.now().date(), customers=30)


def test_500_invoices_make_500_correct_tasks_and_a_second_sync_sends_nothing(rig: Rig) -> None:
    invoices = book(rig.clock, 500)
    start = rig.requests()
    for invoice, customer in invoices:
        rig.app.reconciler.upsert(invoice, customer)
    assert rig.app.drain(2) == 500
    assert rig.requests() - start == 500
    checked = verify(rig.app, invoices)
    assert checked == {
        "tasks": 500,
        "duplicate_tasks": 0,
        "field_mismatches": 0,
        "missing_tasks": 0,
        "tasks_with_risk": 0,
    }
    before = rig.requests()
    report = rig.app.sync_once()
    assert (report.queued, report.applied) == (0, 0)
    assert rig.requests() == before


def test_balance_change_sends_exactly_one_request(rig: Rig) -> None:
    invoices = book(rig.clock, 20)
    for invoice, customer in invoices:
        rig.app.reconciler.upsert(invoice, customer)
    rig.app.drain(2)
    invoice, customer = invoices[3]
    credited = Invoice.model_validate(
        invoice.model_dump()
        | {
            "balance": invoice.balance - Decimal(1),
            "version": SourceVersion(updated_at=invoice.version.updated_at + timedelta(hours=1)),
        }
    )
    before = rig.requests()
    rig.app.reconciler.upsert(credited, customer)
    rig.app.drain(2)
    assert rig.requests() - before == 1
    assert verify(rig.app, [(credited, customer)])["field_mismatches"] == 0


def test_payment_updates_status_and_fields_on_the_real_task(rig: Rig) -> None:
    invoices = book(rig.clock, 5)
    for invoice, customer in invoices:
        rig.app.reconciler.upsert(invoice, customer)
    rig.app.drain(1)
    invoice, customer = invoices[0]
    paid = with_payment(
        invoice, invoice.balance, rig.clock.now().date(), rig.clock.now() + timedelta(hours=2)
    )
    rig.app.reconciler.upsert(paid, customer)
    rig.app.drain(1)
    task = next(t for t in rig.app.sink.iter_tasks() if t.key == invoice.key)
    assert task.status == "paid"
    assert task.fields["amount_due"] == "0"
    assert verify(rig.app, [(paid, customer)])["field_mismatches"] == 0


def test_crash_between_create_and_commit_still_leaves_one_task(rig: Rig) -> None:
    (invoice, customer), *_ = book(rig.clock, 1)
    rig.app.reconciler.upsert(invoice, customer)
    worker = rig.app.worker("doomed")

    def crash(point: str) -> None:
        if point == "after_remote_before_commit":
            raise CrashPoint(point)

    worker.crash_hook = crash
    with pytest.raises(CrashPoint):
        worker.drain()
    assert len(rig.tasks()) == 1
    rig.clock.advance(timedelta(seconds=rig.settings.sync.lease_s + 1))
    survivor = rig.app.worker("survivor")
    assert survivor.drain() == 1
    assert survivor.stats.adopted == 1
    assert len(rig.tasks()) == 1
    assert verify(rig.app, [(invoice, customer)]) == {
        "tasks": 1,
        "duplicate_tasks": 0,
        "field_mismatches": 0,
        "missing_tasks": 0,
        "tasks_with_risk": 0,
    }


def test_rate_limited_clickup_is_waited_out_not_dropped(rig: Rig) -> None:
    state: Any = rig.emulator.app
    state.faults.configure({"force_429": 3})
    invoices = book(rig.clock, 3)
    for invoice, customer in invoices:
        rig.app.reconciler.upsert(invoice, customer)
    assert rig.app.drain(1) == 3
    assert rig.emulator.stats()["http_429"] == 3
    assert verify(rig.app, invoices)["tasks"] == 3


def _config_file(tmp_path: Path, base_url: str, **clickup: Any) -> Path:
    import yaml

    section = {"token": "pk_demo_token", "base_url": f"{base_url}/api/v2", "list_id": "900100"}
    section.update(clickup)
    path = tmp_path / "config.yaml"
    path.write_text(
        yaml.safe_dump({"database_url": f"sqlite:///{tmp_path / 'c.db'}", "clickup": section})
    )
    return path


def test_config_check_names_missing_field_and_status_and_writes_nothing(tmp_path: Path) -> None:
    emulator = discover()["clickup"].emulator(rate_limit=None)
    with LoopbackServer(emulator.app) as server:
        statuses = dict(DEFAULT_STATUSES)
        statuses["overdue"] = "late"
        path = _config_file(
            tmp_path,
            server.base_url,
            fields={"arbridge_key": "arbridge key", "amount_due": "Balance left"},
            statuses=statuses,
        )
        result = CliRunner().invoke(cli, ["config", "check", "--config", str(path)])
    assert result.exit_code == 2
    assert 'the list has no custom field named "Balance left"' in result.output
    assert 'clickup.statuses.overdue: the list has no status "late"' in result.output
    assert not (tmp_path / "c.db").exists()


def test_wrong_token_is_a_config_error_that_never_shows_the_token(tmp_path: Path) -> None:
    emulator = discover()["clickup"].emulator(rate_limit=None)
    with LoopbackServer(emulator.app) as server:
        path = _config_file(tmp_path, server.base_url, token="pk_wrong_but_secret_123456")
        result = CliRunner().invoke(cli, ["sync", "--once", "--config", str(path)])
    assert result.exit_code == 2
    assert "clickup.token" in result.output
    assert "pk_wrong_but_secret_123456" not in result.output
    assert not (tmp_path / "c.db").exists()


def test_predictions_reach_the_task_and_stay_after_payment(rig: Rig) -> None:
    from arbridge.insight.generate import generate_history
    from arbridge.loop.payment_history import save_records
    from arbridge.store.db import transaction

    today = rig.clock.now().date()
    history = generate_history(30, 900, seed=3, start=today - timedelta(days=720))
    with transaction(rig.app.engine) as session:
        save_records(session, history, origin="import", now=rig.clock.now())
    rig.app.refresh_insight(force=True)
    invoices = book(rig.clock, 10)
    for invoice, customer in invoices:
        rig.app.reconciler.upsert(invoice, customer)
    assert rig.app.drain(2) == 10
    checked = verify(rig.app, invoices)
    assert (checked["tasks_with_risk"], checked["field_mismatches"]) == (10, 0)
    task = next(t for t in rig.app.sink.iter_tasks() if t.key == invoices[0][0].key)
    assert int(task.fields["risk_score"] or "-1") % 5 == 0
    assert task.fields["predicted_pay_date"] is not None

    invoice, customer = invoices[0]
    paid = with_payment(invoice, invoice.balance, today, rig.clock.now() + timedelta(hours=3))
    before = dict(rig.emulator.stats()["requests"])
    rig.app.reconciler.upsert(paid, customer)
    rig.app.drain(1)
    after = rig.emulator.stats()["requests"]
    assert after.get("DELETE /task/{task_id}/field/{field_id}", 0) == before.get(
        "DELETE /task/{task_id}/field/{field_id}", 0
    )
    kept = next(t for t in rig.app.sink.iter_tasks() if t.key == invoice.key)
    assert kept.fields["risk_score"] == task.fields["risk_score"]
    # The first pass ranks the follow-up queue (priority and "Queue rank" of the 9 still open);
    # a second pass within the refit interval moves nothing.
    assert rig.app.sync_once().queued == 2 * 9
    ranked = next(t for t in rig.app.sink.iter_tasks() if t.key == invoices[1][0].key)
    assert ranked.fields["queue_rank"] in {"1", "2", "3", "4"}
    assert rig.app.sync_once().queued == 0
    assert verify(rig.app, [(paid, customer), *invoices[1:]])["field_mismatches"] == 0


def test_the_daemon_mirrors_stored_invoices_and_stops_cleanly(rig: Rig) -> None:
    import threading

    invoices = book(rig.clock, 8)
    for invoice, customer in invoices:
        rig.app.reconciler.upsert(invoice, customer)
    stop = threading.Event()
    daemon = threading.Thread(target=rig.app.run, args=(stop,))
    daemon.start()
    # Generous: on a loaded 2-core machine the first pass (read-back, refit, resync) can be slow.
    pause = threading.Event()
    for _ in range(600):
        if len(rig.tasks()) == 8:
            break
        pause.wait(0.1)
    # The daemon serves its health endpoint while it runs.
    assert rig.app.http_server is not None
    assert httpx.get(f"{rig.app.http_server.base_url}/healthz").text == "ok"
    stop.set()
    daemon.join(timeout=30)
    assert not daemon.is_alive()
    assert len(rig.tasks()) == 8
    assert verify(rig.app, invoices)["field_mismatches"] == 0


def test_a_retried_comment_is_found_on_the_real_task_not_posted_again(rig: Rig) -> None:
    from arbridge.core.plan import OpKind
    from arbridge.store import outbox
    from arbridge.store.db import transaction

    (invoice, customer), *_ = book(rig.clock, 1)
    rig.app.reconciler.upsert(invoice, customer)
    rig.app.drain(1)
    with transaction(rig.app.engine) as session:
        outbox.enqueue(
            session,
            task_key=invoice.key,
            kind=OpKind.POST_COMMENT,
            payload={"text": "Invoice is due today", "marker": "arbridge ref due-1"},
            idempotency_key="due-1",
            now=rig.clock.now(),
        )
    worker = rig.app.worker("doomed")

    def crash(point: str) -> None:
        if point == "after_remote_before_commit":
            raise CrashPoint(point)

    worker.crash_hook = crash
    with pytest.raises(CrashPoint):
        worker.drain()
    rig.clock.advance(timedelta(seconds=rig.settings.sync.lease_s + 1))
    assert rig.app.worker("survivor").drain() == 1
    state: Any = rig.emulator.app.emulator
    (task,) = rig.tasks()
    texts = [c.text for c in state.comments_on(task.id)]
    assert texts == ["Invoice is due today\n\n(arbridge ref due-1)"]


def test_verify_repairs_drift_and_leaves_a_collectors_status_alone(rig: Rig) -> None:
    import httpx

    invoices = book(rig.clock, 4)
    for invoice, customer in invoices:
        rig.app.reconciler.upsert(invoice, customer)
    rig.app.drain(2)
    ids = {t.key: t.task_id for t in rig.app.sink.iter_tasks()}
    edited, deleted, promised, _ = (ids[invoice.key] for invoice, _ in invoices)
    state: Any = rig.emulator.app.emulator
    amount_due = state.field_by_name("900100", "Amount due").id
    with httpx.Client(
        base_url=rig.settings.clickup.base_url, headers={"Authorization": "pk_ada_token"}
    ) as person:
        person.post(f"/task/{edited}/field/{amount_due}", json={"value": 1}).raise_for_status()
        person.delete(f"/task/{deleted}").raise_for_status()
        person.put(f"/task/{promised}", json={"status": "promise to pay"}).raise_for_status()
    before = rig.emulator.stats()["requests"]
    report = rig.app.sync_once(verify=True)
    after = rig.emulator.stats()["requests"]
    sent = {
        k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)
    }
    assert sent == {
        "GET /list/{list_id}/task": 1,
        "POST /task/{task_id}/field/{field_id}": 1,
        "POST /list/{list_id}/task": 1,
    }
    assert report.applied == 2
    assert verify(rig.app, invoices)["field_mismatches"] == 1  # the promised task, on purpose
    tasks = {t.key: t for t in rig.app.sink.iter_tasks()}
    assert tasks[invoices[0][0].key].fields["amount_due"] == str(invoices[0][0].balance.normalize())
    assert state.tasks[promised].status == "promise to pay"
    assert len(tasks) == 4


def test_forecast_deviation_compares_collections_with_the_last_snapshot(rig: Rig) -> None:
    import json as jsonlib

    from arbridge.insight.generate import generate_history
    from arbridge.loop.payment_history import save_records
    from arbridge.loop.predictions import FORECAST_SNAPSHOT, forecast_deviation
    from arbridge.store import repo
    from arbridge.store.db import transaction

    today = rig.clock.now().date()
    history = generate_history(30, 900, seed=4, start=today - timedelta(days=720))
    with transaction(rig.app.engine) as session:
        save_records(session, history, origin="import", now=rig.clock.now())
    invoices = book(rig.clock, 40)
    for invoice, customer in invoices:
        rig.app.reconciler.upsert(invoice, customer)
    rig.app.refresh_insight(force=True)
    with transaction(rig.app.engine) as session:
        snapshot = jsonlib.loads(repo.get_cursor(session, FORECAST_SNAPSHOT) or "{}")
        assert forecast_deviation(session, today) == {
            code: -100.0
            for code, days in snapshot["expected"].items()
            if sum(Decimal(v) for d, v in days.items() if d <= today.isoformat())
        }

    # Four weeks on, most of the snapshot window is due; one invoice has been paid in it.
    rig.clock.advance(timedelta(days=28))
    later = rig.clock.now().date()

    def expected_by(code: str) -> Decimal:
        days = snapshot["expected"].get(code, {})
        return sum((Decimal(v) for d, v in days.items() if d <= later.isoformat()), Decimal(0))

    invoice, customer = next((i, c) for i, c in invoices if expected_by(i.currency) > 0)
    rig.app.reconciler.upsert(
        with_payment(invoice, invoice.balance, later, rig.clock.now() + timedelta(hours=1)),
        customer,
    )
    expected_today = expected_by(invoice.currency)
    with transaction(rig.app.engine) as session:
        found = forecast_deviation(session, later)
    want = (100 * (invoice.total - expected_today) / expected_today).quantize(Decimal("0.1"))
    assert found[invoice.currency] == float(want)

    from pathlib import Path

    from arbridge.loop.rules import RulesRunner

    rules = rig.settings.rules.model_copy(
        update={
            "directory": str(Path(__file__).resolve().parents[2] / "rules"),
            "packs": ["dunning"],
        }
    )
    packs = rig.settings.model_copy(update={"rules": rules})
    facts = RulesRunner(packs, rig.app.engine, rig.app.reconciler).facts_at(rig.clock.now())
    same = [
        f
        for key, f in facts.items()
        if key != invoice.key and f.get("invoice.currency") == invoice.currency
    ]
    assert same
    assert {f.get("insight.forecast_deviation_pct") for f in same} == {float(want)}
