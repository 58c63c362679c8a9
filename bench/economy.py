"""API economy and sync speed against the ClickUp emulator running in its own process.

    .venv/bin/python bench/economy.py --json [--invoices 1000] [--runs 3]

Prints requests per invoice for a create, a no-op sync, a balance change and a status change,
plus backfill speed and this process's CPU per invoice (the emulator's CPU is not counted: it
runs in a separate process). Figures are medians over ``--runs`` fresh runs.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from arbridge.clock import FakeClock
from arbridge.demo.generator import CompanyGenerator, with_payment
from arbridge.logging import configure
from arbridge.model.invoice import Invoice, SourceVersion
from arbridge.runtime.app import App
from arbridge.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_emulator() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "arbridge.cli.main",
            "sandbox",
            "clickup",
            "--port",
            str(port),
            "--rate-limit",
            "0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/_emulator/stats", timeout=1).raise_for_status()
            return process, base
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the ClickUp emulator did not start")


def requests_made(base: str) -> int:
    total: int = httpx.get(f"{base}/_emulator/stats").json()["total"]
    return total - 1  # this stats call itself is not counted by the emulator's API routes


def one_run(count: int, seed: int) -> dict[str, float]:
    process, base = start_emulator()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings.model_validate(
                {
                    "database_url": f"sqlite:///{Path(tmp) / 'bench.db'}",
                    "clickup": {
                        "token": "pk_demo_token",
                        "base_url": f"{base}/api/v2",
                        "list_id": "900100",
                        "requests_per_minute": 1_000_000,
                    },
                    "sync": {"workers": 2},
                }
            )
            clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
            app = App.from_settings(settings, clock)
            pairs = CompanyGenerator(seed=seed).open_invoices(
                count, today=clock.now().date(), customers=50
            )

            def measure(step: Any) -> tuple[float, float, float]:
                before = requests_made(base)
                wall, cpu = time.perf_counter(), time.process_time()
                step()
                app.drain(settings.sync.workers)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                return (requests_made(base) - before) / count, wall, cpu

            def create() -> None:
                for invoice, customer in pairs:
                    app.reconciler.upsert(invoice, customer)

            create_r, create_wall, create_cpu = measure(create)
            noop_r, _, _ = measure(app.sync_once)
            later = clock.now() + timedelta(hours=1)
            credited = [
                (
                    Invoice.model_validate(
                        inv.model_dump()
                        | {
                            "balance": inv.balance - Decimal(1),
                            "version": SourceVersion(updated_at=later),
                        }
                    ),
                    cust,
                )
                for inv, cust in pairs
            ]
            balance_r, _, _ = measure(
                lambda: [app.reconciler.upsert(inv, cust) for inv, cust in credited]
            )
            paid = [
                (with_payment(inv, inv.balance, clock.now().date(), later + timedelta(1)), cust)
                for inv, cust in credited
            ]
            status_r, _, _ = measure(
                lambda: [app.reconciler.upsert(inv, cust) for inv, cust in paid]
            )
            app.sink.close()
            app.engine.dispose()
            return {
                "create": create_r,
                "noop": noop_r,
                "balance_change": balance_r,
                "status_change": status_r,
                "backfill_invoices_per_s": count / create_wall,
                "cpu_ms_per_invoice": create_cpu * 1000 / count,
            }
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    configure(level="WARNING", fmt="json")
    runs = [one_run(args.invoices, args.seed + i) for i in range(args.runs)]
    result = {key: round(statistics.median(r[key] for r in runs), 3) for key in runs[0]}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{args.runs} runs of {args.invoices} invoices (medians):")
        for key, value in result.items():
            print(f"  {key:28} {value}")


if __name__ == "__main__":
    main()
