"""Webhook intake speed: acknowledgements per second, their p99, and webhook-to-task latency.

    .venv/bin/python bench/webhooks.py --json [--events 400] [--tasks 40] [--runs 3]

Everything runs on loopback with durable writes (SQLite in WAL with synchronous=FULL, as the
daemon runs): the Stripe emulator issues invoices, its signed deliveries are POSTed to the
daemon's /webhooks/stripe by 8 concurrent clients (acks), then one at a time while the daemon's
own workers turn each into a ClickUp task in the emulator (webhook -> task: from the POST to
the task id being stored, i.e. ClickUp having accepted the create). The concurrent load comes
from a separate process. Figures are medians over ``--runs`` fresh stacks.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from arbridge_stripe.emulator.webhooks import signature_header

from arbridge.clock import SystemClock
from arbridge.demo.stack import ProductStack
from arbridge.logging import configure
from arbridge.store import repo
from arbridge.store.db import transaction

CLIENTS = 8


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def issue(stripe: Any, customer: str, n: int) -> None:
    stripe.issue_invoice(
        customer,
        currency="USD",
        amount=Decimal(100 + n),
        issue_date=date(2026, 3, 2),
        due_date=date(2026, 4, 1),
        terms="Net 30",
    )


def signed(stripe: Any, body: bytes) -> dict[str, str]:
    header = signature_header(body, [stripe.webhook_secret], int(time.time()))
    return {"content-type": "application/json", "stripe-signature": header}


def post_all(url: str, deliveries: list[tuple[bytes, dict[str, str]]]) -> tuple[list[float], float]:
    """POST every delivery from ``CLIENTS`` threads; per-request latencies and the wall time."""
    latencies: list[float] = []
    lock = threading.Lock()
    clients = [httpx.Client() for _ in range(CLIENTS)]

    def post(index: int) -> None:
        body, headers = deliveries[index]
        started = time.perf_counter()
        response = clients[index % CLIENTS].post(url, content=body, headers=headers)
        elapsed = time.perf_counter() - started
        response.raise_for_status()
        with lock:
            latencies.append(elapsed)

    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(post, range(len(deliveries))))
    wall = time.perf_counter() - started
    for client in clients:
        client.close()
    return latencies, wall


def take_deliveries(stripe: Any) -> list[Any]:
    deliveries = stripe.sender.pending()
    stripe.sender._queue.clear()
    return deliveries


def one_run(events: int, tasks: int) -> dict[str, float]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        ProductStack(
            SystemClock(),
            workdir=Path(tmp),
            sources=("stripe",),
            extra={"sync": {"workers": 2}},
        ) as product,
    ):
        stripe: Any = product.sources["stripe"]
        stripe.knobs.hold = True
        customer = stripe.add_customer("Bench Ltd", None)
        stop = threading.Event()
        daemon = threading.Thread(target=product.app.run, args=(stop,), kwargs={"serve": False})
        daemon.start()
        try:
            url = f"{product.daemon_url}/webhooks/stripe"
            # Acknowledgements: every delivery of `events` invoices' lifecycles, concurrently.
            for n in range(events):
                issue(stripe, customer, n)
            bodies = [d.body for d in take_deliveries(stripe)]
            # The load comes from another process, so its HTTP client does not share the
            # daemon's interpreter (and GIL).
            signed_bodies = [(body, signed(stripe, body)) for body in bodies]
            with multiprocessing.get_context("spawn").Pool(1) as pool:
                latencies, wall = pool.apply(post_all, (url, signed_bodies))
            # Let the daemon finish those before timing single deliveries.
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and product.app.status()["inbox"]["pending"]:
                time.sleep(0.05)
            to_task: list[float] = []
            with httpx.Client() as client:
                for n in range(tasks):
                    issue(stripe, customer, 10_000 + n)
                    (delivery, *_rest) = take_deliveries(stripe)
                    key = _key_of(product, delivery.body)
                    started = time.perf_counter()
                    client.post(url, content=delivery.body, headers=signed(stripe, delivery.body))
                    while not _has_task(product, key):
                        if time.perf_counter() - started > 60:
                            raise RuntimeError(f"no task for {key} after 60 s")
                        time.sleep(0.002)
                    to_task.append(time.perf_counter() - started)
        finally:
            stop.set()
            product.app.intake.inbox.wake.set()
            daemon.join(timeout=60)
    return {
        "acks_per_s": len(bodies) / wall,
        "ack_p99_ms": percentile(latencies, 0.99) * 1000,
        "webhook_to_task_p95_ms": percentile(to_task, 0.95) * 1000,
        "deliveries": float(len(bodies)),
    }


def _key_of(product: ProductStack, body: bytes) -> str:
    event = json.loads(body)
    account = product.settings.stripe.account if product.settings.stripe else "default"
    return f"stripe:{event.get('account') or account}:{event['data']['object']['id']}"


def _has_task(product: ProductStack, key: str) -> bool:
    with transaction(product.app.engine) as session:
        link = repo.get_link(session, key)
        return link is not None and link.task_id is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=400, help="invoices for the ack phase")
    parser.add_argument("--tasks", type=int, default=40, help="single webhooks timed to a task")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    configure(level="ERROR", fmt="json")
    runs = [one_run(args.events, args.tasks) for _ in range(args.runs)]
    result = {
        name: round(statistics.median(run[name] for run in runs), 1)
        for name in ("acks_per_s", "ack_p99_ms", "webhook_to_task_p95_ms")
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"runs: {args.runs}, deliveries per run: {int(runs[0]['deliveries'])}", file=sys.stderr)
    for name, value in result.items():
        print(f"{name}: {value}")
    print(f"measured {datetime.now(UTC).isoformat(timespec='seconds')}", file=sys.stderr)


if __name__ == "__main__":
    main()
