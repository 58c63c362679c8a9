"""``arbridge demo``: the real engine against the emulated ClickUp, over HTTP, on a moving clock."""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlmodel import select

from arbridge.clock import FakeClock
from arbridge.core.desired import desired_task, task_status
from arbridge.core.held import keep_unmapped_status
from arbridge.demo.bookkeeping import Bookkeeping
from arbridge.demo.stack import ProductStack
from arbridge.insight.generate import generate_history
from arbridge.logging import configure
from arbridge.loop.payment_history import save_records
from arbridge.loop.predictions import get_predictions, insight_facts
from arbridge.loop.reconcile import rule_state
from arbridge.model.invoice import Customer, Invoice, InvoiceStatus
from arbridge.ports.connector import Emulator
from arbridge.runtime.app import App
from arbridge.store import repo
from arbridge.store.db import transaction
from arbridge.store.tables import TaskLinkRow

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


def verify(app: App, invoices: list[tuple[Invoice, Customer | None]]) -> dict[str, int]:
    """Read every task back from ClickUp and compare it with what the invoice says it should be."""
    today = app.reconciler.today()
    owned = app.sink.owned_facts()
    keys = [invoice.key for invoice, _ in invoices]
    with transaction(app.engine) as session:
        predictions = get_predictions(session, keys)
        collections = repo.get_collections(session, keys)
        links = repo.get_links(session, keys)
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
        # What rules and collectors decided counts as much as the invoice itself.
        rules = rule_state(collections.get(invoice.key))
        link = links.get(invoice.key)
        want = keep_unmapped_status(
            desired_task(
                invoice,
                customer,
                today,
                owned,
                insight_facts(predictions.get(invoice.key)),
                rules=rules,
            ),
            rules,
            None if link is None else link.planned,
            invoice.is_receivable,
        )
        task = tasks[0]
        due = None if want.due_date is None else want.due_date.isoformat()
        shown = {fact: task.fields.get(fact) for fact in want.fields}
        status_ok = task.status == want.status or (
            # A list status arbridge does not map ("promise to pay") reads back as None.
            task.status is None and rules is not None and rules.collector is not None
        )
        if not status_ok or task.due_date != due or shown != want.fields:
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
        # Comments without a reference are the collectors' own notes, not reminders.
        if start >= 0:
            found[comment.text[start:]] += 1
    return found


# Collectors in the emulated workspace, and how often they act on an overdue task each day.
COLLECTOR = "ada@example.com"
COLLECTOR_DAILY_SHARE = 0.03
# The daemon polls every 5 minutes; in simulated time a poll every other day is plenty to show
# dropped webhooks being healed.
POLL_EVERY_DAYS = 2


def run_demo(
    *,
    invoices: int = 80,
    seed: int = 1,
    days: int = 90,
    serve: bool = False,
    as_json: bool = False,
    rate_limit: int = DEMO_RATE_LIMIT,
    workdir: Path | None = None,
    forecast_png: Path | None = None,
) -> dict[str, Any]:
    console = Console(quiet=as_json)
    configure(level="WARNING", fmt="console" if not as_json else "json")
    started = time.monotonic()
    clock = FakeClock(DEMO_START)
    extra = {
        "sync": {"workers": 2},
        "rules": {"directory": str(RULES_DIR), "packs": DEMO_PACKS, "vars": DEMO_VARS},
    }
    with ProductStack(
        clock, seed=seed, rate_limit=rate_limit, workdir=workdir, extra=extra
    ) as product:
        app, clickup, sources, settings = (
            product.app,
            product.clickup,
            product.sources,
            product.settings,
        )
        clickup_server, realm = product.clickup_server, product.realm
        stripe_knobs: Any = getattr(sources["stripe"], "knobs", None)
        qbo_outbox: Any = getattr(sources["quickbooks"], "outbox", None)
        books = Bookkeeping(seed, sources, invoices=invoices, start=DEMO_START.date())
        # Two years of the same customers' past payments, so tasks show risk from the start.
        history = generate_history(60, invoices * 3, seed, start=date(2024, 1, 1))
        with transaction(app.engine) as session:
            save_records(session, history, origin="import", now=clock.now())
        console.print(
            f"[bold]arbridge demo[/]: {invoices} invoices in QuickBooks (realm {realm}) and "
            f"Stripe, {days} simulated days; emulated ClickUp board at "
            f"{clickup_server.base_url}/_emulator/board"
        )
        deliveries = 0
        collector = clickup.app.collector(COLLECTOR)
        collector_actions: Counter[str] = Counter()
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        ) as progress:
            books.open_book()
            backfill = progress.add_task("backfilling QuickBooks and Stripe", total=None)
            app.intake.poll_all()
            app.refresh_insight(force=True)
            app.reconciler.resync_all(reason="after backfill")
            progress.update(backfill, total=1, completed=1)
            created = app.drain(settings.sync.workers)
            backfill_requests = clickup.stats()["total"]
            day_task = progress.add_task("simulating days", total=days)
            busiest_day = 0
            rng = books.random
            for day in range(days):
                day_started = clickup.stats()["total"]
                clock.advance(timedelta(days=1))
                today = clock.now().date()
                if stripe_knobs is not None:
                    stripe_knobs.drop_next = 1 if day % 3 == 0 else 0
                if qbo_outbox is not None:
                    qbo_outbox.duplicate_next = 1 if day % 2 == 0 else 0
                    qbo_outbox.reorder = day % 5 == 0
                books.advance(today)
                deliveries += product.deliver()
                # The safety net: a poll every other day finds what webhooks lost.
                if day % POLL_EVERY_DAYS == POLL_EVERY_DAYS - 1:
                    app.intake.poll_all()
                app.refresh_insight()
                app.reconciler.resync_all(reason="daily resync")
                app.run_rules()
                app.drain(settings.sync.workers)
                collector_actions.update(_collectors_act(app, collector, rng, today))
                deliveries += product.deliver()
                app.drain(settings.sync.workers)
                busiest_day = max(busiest_day, clickup.stats()["total"] - day_started)
                progress.advance(day_task)
        deliveries += product.deliver()
        app.intake.poll_all()
        app.drain(settings.sync.workers)
        before_noop = clickup.stats()["total"]
        report = app.sync_once()
        noop_requests = clickup.stats()["total"] - before_noop
        stats = clickup.stats()
        final = stored_book(app)
        checked = verify(app, final)
        source_check = compare_with_books(app, books)
        elapsed = time.monotonic() - started
        today = app.reconciler.today()
        statuses = Counter(task_status(invoice, today) for invoice, _ in final)
        comments = comment_markers(clickup)
        rules = app.rules.stats if app.rules is not None else None
        webhooks = app.intake.metrics.totals()
        summary: dict[str, Any] = {
            "invoices": len(final),
            "sources": dict(sorted(Counter(i.source.value for i, _ in final).items())),
            "source_invoices_booked": books.counts(),
            "source_mismatches": source_check,
            "tasks": checked["tasks"],
            "duplicate_tasks": checked["duplicate_tasks"],
            "field_mismatches": checked["field_mismatches"],
            "missing_tasks": checked["missing_tasks"],
            "tasks_with_risk_score": checked["tasks_with_risk"],
            "clickup_requests": stats["total"],
            "clickup_requests_backfill": backfill_requests,
            "clickup_requests_by_endpoint": stats["requests"],
            "clickup_quota_per_minute": 100,
            "clickup_requests_busiest_day": busiest_day,
            "source_requests": {name: em.stats()["total"] for name, em in sources.items()},
            "noop_sync_requests": noop_requests,
            "noop_sync_queued": report.queued,
            "http_429": stats["http_429"],
            "webhooks_received": int(sum(webhooks["received"].values())),
            "webhooks_duplicate": int(sum(webhooks["duplicate"].values())),
            "webhooks_rejected": int(sum(webhooks["rejected"].values())),
            "webhooks_by_provider": {
                kind: {k: int(v) for k, v in sorted(values.items())}
                for kind, values in webhooks.items()
            },
            "webhook_deliveries_sent": deliveries,
            "collector_actions": dict(collector_actions),
            "rules_fired": 0 if rules is None else rules.fired,
            "reminders_posted": 0 if rules is None else rules.reminders,
            "comments_posted": sum(comments.values()),
            "duplicate_reminders": sum(n - 1 for n in comments.values() if n > 1),
            "escalations": 0 if rules is None else rules.escalations,
            "tasks_by_status": dict(sorted(statuses.items())),
            "simulated_days": days,
            "events": dict(books.events),
            "initial_tasks_created": created,
            "elapsed_s": round(elapsed, 2),
        }
        if forecast_png is not None:
            summary["forecast_png"] = str(write_forecast(app, clock, forecast_png))
        if not as_json:
            _print_summary(console, summary)
        if serve:
            console.print(f"Board: {clickup_server.base_url}/_emulator/board  (Ctrl-C to stop)")
            with contextlib.suppress(KeyboardInterrupt):
                threading.Event().wait()
    return summary


def _collectors_act(app: App, collector: Any, rng: Any, today: date) -> Counter[str]:
    """A collector working the overdue tasks: a promise to pay, a logged reply, a dispute."""
    done: Counter[str] = Counter()
    with transaction(app.engine) as session:
        links = {
            link.invoice_key: link.task_id
            for link in session.exec(select(TaskLinkRow)).all()
            if link.task_id is not None
        }
        invoices = [i for i in repo.iter_invoices(session) if i.is_overdue(today)]
    for invoice in invoices:
        task_id = links.get(invoice.key)
        if task_id is None or rng.random() >= COLLECTOR_DAILY_SHARE:
            continue
        roll = rng.random()
        if roll < 0.5:
            collector.set_promise_date(task_id, today + timedelta(days=rng.randint(3, 14)))
            done["promise_to_pay"] += 1
        elif roll < 0.9:
            collector.comment(task_id, "Customer replied: payment is being processed.")
            done["customer_replied"] += 1
        else:
            sink: Any = app.settings.connector_sections()["clickup"]
            collector.set_status(task_id, sink.statuses["disputed"])
            done["disputed"] += 1
    return done


def stored_book(app: App) -> list[tuple[Invoice, Customer | None]]:
    with transaction(app.engine) as session:
        invoices = list(repo.iter_invoices(session))
        customers = repo.get_customers(session, {i.customer_key for i in invoices})
    return [(invoice, customers.get(invoice.customer_key)) for invoice in invoices]


def compare_with_books(app: App, books: Bookkeeping) -> int:
    """Invoices whose stored balance or status differs from what the bookkeeping did."""
    with transaction(app.engine) as session:
        stored = {(i.source.value, i.source_id): i for i in repo.iter_invoices(session)}
    wrong = 0
    for key, booked in books.booked.items():
        invoice = stored.get(key)
        if invoice is None or invoice.balance != booked.balance:
            wrong += 1
            continue
        expected = booked.status
        if invoice.status is InvoiceStatus.DISPUTED and booked.dispute:
            continue
        if invoice.status is not expected:
            wrong += 1
    return wrong


def write_forecast(app: App, clock: FakeClock, path: Path) -> Path:
    """The next 90 days' expected collections from the demo's open book, beside two what-ifs."""
    from arbridge.insight.forecast import build_forecast, write_png
    from arbridge.runtime.reporting import StoreReportData

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
    for source, count in summary["sources"].items():
        booked = summary["source_invoices_booked"].get(source, 0)
        table.add_row(f"invoices mirrored from {source}", f"{count} of {booked}")
    for key in (
        "source_mismatches",
        "tasks",
        "duplicate_tasks",
        "field_mismatches",
        "webhooks_received",
        "webhooks_duplicate",
        "webhooks_rejected",
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
    busiest = summary["clickup_requests_busiest_day"]
    quota = summary["clickup_quota_per_minute"]
    table.add_row(
        "clickup requests on the busiest day",
        f"{busiest} ({busiest / quota:.0f} min of a {quota}/min quota)",
    )
    for source, count in summary["source_requests"].items():
        table.add_row(f"{source} API requests", str(count))
    for action, count in summary["collector_actions"].items():
        table.add_row(f"collector in ClickUp: {action.replace('_', ' ')}", str(count))
    for status, count in summary["tasks_by_status"].items():
        table.add_row(f"tasks {status.replace('_', ' ')}", str(count))
    for event, count in summary["events"].items():
        table.add_row(f"simulated: {event.replace('_', ' ')}", str(count))
    console.print(table)
