"""``arbridge demo``: the real engine against the emulated ClickUp, over HTTP, on a moving clock."""

from __future__ import annotations

import contextlib
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from arbridge.app import App
from arbridge.clock import FakeClock
from arbridge.connector import Emulator, discover
from arbridge.demo.simulation import CompanySimulation
from arbridge.insight.generate import generate_history
from arbridge.logging import configure
from arbridge.model.invoice import Customer, Invoice
from arbridge.settings import Settings
from arbridge.store.db import transaction
from arbridge.store.history import save_records
from arbridge.sync.desired import desired_task, task_status
from arbridge.sync.insight import get_predictions, insight_facts
from arbridge.testing.loopback import LoopbackServer

RULES_DIR = Path(__file__).resolve().parents[2] / "rules"

# Mid-morning: each simulated day's rule evaluation comes after the packs' 09:00 schedules.
DEMO_START = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
DEMO_PACKS = ["disputes", "paid", "dunning", "key_accounts", "large_invoices", "tone"]
# The packs' people, as members of the emulated workspace.
DEMO_VARS = {
    "dunning": {"senior_collector": "sam@example.com", "manager": "mia@example.com"},
    "key_accounts": {"account_manager": "sam@example.com"},
    "large_invoices": {"senior_collector": "sam@example.com"},
    "disputes": {"dispute_handler": "ada@example.com"},
}
# The emulated workspace is on a plan with a high quota so the demo ends in seconds; the
# request count it reports is what matters on a 100/min plan.
DEMO_RATE_LIMIT = 10_000


def verify(app: App, invoices: list[tuple[Invoice, Customer]]) -> dict[str, int]:
    """Read every task back from ClickUp and compare it with what the invoice says it should be."""
    today = app.reconciler.today()
    owned = app.sink.owned_facts()
    with transaction(app.engine) as session:
        predictions = get_predictions(session, [invoice.key for invoice, _ in invoices])
    by_key: dict[str, list[Any]] = {}
    for task in app.sink.iter_tasks():
        by_key.setdefault(task.key or "", []).append(task)
    duplicates = sum(len(tasks) - 1 for tasks in by_key.values() if len(tasks) > 1)
    mismatches = 0
    missing = 0
    for invoice, customer in invoices:
        tasks = by_key.get(invoice.key)
        if not tasks:
            missing += 1
            continue
        want = desired_task(
            invoice, customer, today, owned, insight_facts(predictions.get(invoice.key))
        )
        task = tasks[0]
        due = None if want.due_date is None else want.due_date.isoformat()
        shown = {fact: task.fields.get(fact) for fact in want.fields}
        if task.status != want.status or task.due_date != due or shown != want.fields:
            mismatches += 1
    with_risk = sum(
        1 for tasks in by_key.values() for t in tasks if t.fields.get("risk_score") is not None
    )
    orphans = sum(len(v) for k, v in by_key.items() if k not in {i.key for i, _ in invoices})
    return {
        "tasks": sum(len(v) for v in by_key.values()),
        "duplicate_tasks": duplicates + orphans,
        "field_mismatches": mismatches,
        "missing_tasks": missing,
        "tasks_with_risk": with_risk,
    }


def comment_markers(emulator: Emulator) -> Counter[str]:
    """Comments on the emulated tasks by their arbridge reference: any count above one is a
    reminder posted twice."""
    state: Any = emulator.app.emulator
    found: Counter[str] = Counter()
    for comment in state.comments.values():
        start = comment.text.rfind("(arbridge ref ")
        found[comment.text[start:] if start >= 0 else comment.text] += 1
    return found


def _emulator(rate_limit: int, seed: int) -> Emulator:
    connectors = discover()
    return connectors["clickup"].emulator(rate_limit=rate_limit, seed=seed)


def run_demo(
    *,
    invoices: int = 400,
    seed: int = 1,
    days: int = 60,
    serve: bool = False,
    as_json: bool = False,
    rate_limit: int = DEMO_RATE_LIMIT,
    workdir: Path | None = None,
    forecast_png: Path | None = None,
) -> dict[str, Any]:
    console = Console(quiet=as_json)
    configure(level="WARNING", fmt="console" if not as_json else "json")
    started = time.monotonic()
    emulator = _emulator(rate_limit, seed)
    with (
        tempfile.TemporaryDirectory(prefix="arbridge-demo-") as tmp,
        LoopbackServer(emulator.app) as server,
    ):
        base = Path(workdir or tmp)
        settings = Settings.model_validate(
            {
                "database_url": f"sqlite:///{base / 'demo.db'}",
                "clickup": {**emulator.config(server.base_url), "requests_per_minute": rate_limit},
                "sync": {"workers": 2},
                "rules": {"directory": str(RULES_DIR), "packs": DEMO_PACKS, "vars": DEMO_VARS},
            }
        )
        clock = FakeClock(DEMO_START)
        app = App.from_settings(settings, clock)
        simulation = CompanySimulation(seed, DEMO_START.date(), invoices=invoices)
        # Two years of the same customers' past payments, so tasks show risk from the start.
        history = generate_history(
            len(simulation.generator.customers), invoices * 3, seed, start=date(2024, 1, 1)
        )
        with transaction(app.engine) as session:
            save_records(session, history, origin="import", now=clock.now())
        app.refresh_insight(force=True)
        counts: Counter[str] = Counter()
        console.print(
            f"[bold]arbridge demo[/]: {invoices} invoices, {days} simulated days, "
            f"emulated ClickUp at {server.base_url}/_emulator/board"
        )
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        ) as progress:
            book = simulation.initial()
            task = progress.add_task("mirroring the book", total=len(book))
            for invoice, customer in book:
                app.ingest(invoice, customer, reason="backfill")
                progress.advance(task)
            created = app.drain(settings.sync.workers)
            backfill_requests = emulator.stats()["total"]
            day_task = progress.add_task("simulating days", total=days)
            for _ in range(days):
                clock.advance(timedelta(days=1))
                events = simulation.advance_to(clock.now().date())
                counts.update(
                    issued=events.issued,
                    paid=events.paid,
                    partly_paid=events.partly_paid,
                    voided=events.voided,
                )
                for invoice, customer in events.changed:
                    app.ingest(invoice, customer, reason="source change")
                app.refresh_insight()
                app.reconciler.resync_all(reason="daily resync")
                app.run_rules()
                app.drain(settings.sync.workers)
                progress.advance(day_task)
        before_noop = emulator.stats()["total"]
        report = app.sync_once()
        noop_requests = emulator.stats()["total"] - before_noop
        stats = emulator.stats()
        final = simulation.current()
        checked = verify(app, final)
        elapsed = time.monotonic() - started
        today = app.reconciler.today()
        statuses = Counter(task_status(invoice, today) for invoice, _ in final)
        comments = comment_markers(emulator)
        rules = app.rules.stats if app.rules is not None else None
        summary: dict[str, Any] = {
            "invoices": len(final),
            "tasks": checked["tasks"],
            "duplicate_tasks": checked["duplicate_tasks"],
            "field_mismatches": checked["field_mismatches"],
            "missing_tasks": checked["missing_tasks"],
            "tasks_with_risk_score": checked["tasks_with_risk"],
            "clickup_requests": stats["total"],
            "clickup_requests_backfill": backfill_requests,
            "clickup_requests_by_endpoint": stats["requests"],
            "noop_sync_requests": noop_requests,
            "noop_sync_queued": report.queued,
            "http_429": stats["http_429"],
            "rules_fired": 0 if rules is None else rules.fired,
            "reminders_posted": 0 if rules is None else rules.reminders,
            "comments_posted": sum(comments.values()),
            "duplicate_reminders": sum(n - 1 for n in comments.values() if n > 1),
            "escalations": 0 if rules is None else rules.escalations,
            "tasks_by_status": dict(sorted(statuses.items())),
            "simulated_days": days,
            "events": dict(counts),
            "initial_tasks_created": created,
            "elapsed_s": round(elapsed, 2),
        }
        if forecast_png is not None:
            summary["forecast_png"] = str(write_forecast(app, clock, forecast_png))
        if not as_json:
            _print_summary(console, summary)
        if serve:
            console.print(f"Board: {server.base_url}/_emulator/board  (Ctrl-C to stop)")
            with contextlib.suppress(KeyboardInterrupt):
                threading.Event().wait()
        app.sink.close()
        app.engine.dispose()
    return summary


def write_forecast(app: App, clock: FakeClock, path: Path) -> Path:
    """The next 90 days' expected collections from the demo's open book, beside two what-ifs."""
    from arbridge.insight.forecast import build_forecast, write_png
    from arbridge.reporting import StoreReportData

    data = StoreReportData(app.settings, app.engine, clock)
    today = data.today()
    forecast = build_forecast(
        [item.invoice for item in data.items(today)],
        data.estimates(today),
        start=today,
        days=90,
        scenarios=["top:10 delay:14d", "all delay:7d"],
    )
    write_png(forecast, path)
    return path


def _print_summary(console: Console, summary: dict[str, Any]) -> None:
    table = Table(title="arbridge demo summary", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    for key in (
        "invoices",
        "tasks",
        "duplicate_tasks",
        "field_mismatches",
        "clickup_requests",
        "clickup_requests_backfill",
        "noop_sync_requests",
        "tasks_with_risk_score",
        "rules_fired",
        "reminders_posted",
        "comments_posted",
        "duplicate_reminders",
        "escalations",
        "http_429",
        "elapsed_s",
    ):
        table.add_row(key.replace("_", " "), str(summary[key]))
    for status, count in summary["tasks_by_status"].items():
        table.add_row(f"tasks {status}", str(count))
    for event, count in summary["events"].items():
        table.add_row(f"simulated: {event.replace('_', ' ')}", str(count))
    console.print(table)
