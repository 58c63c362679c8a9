"""Hostile webhooks against a live daemon: no 5xx, nothing stored from a refusal, and no valid
delivery refused because of a bad neighbour.

    .venv/bin/python bench/fuzz.py --json [--requests 10000] [--valid-every 4] [--seed 1]

The daemon is a separate process (this script with ``--serve``): the three emulators on
loopback, arbridge's engine and its webhook server, with durable SQLite writes, running its
workers as ``arbridge run`` does. This process sends the requests from ``CLIENTS`` threads, one
in ``--valid-every`` a correctly signed delivery, the others each with one defect drawn from
``tests/web/hostile.py`` (the same catalogue the property test draws from). At the end the
inbox is read: every event id contains its request's marker, so what a refused request stored
and which valid delivery is missing can be counted. ``rss_growth_mb`` is the daemon's resident
memory at the end minus after the first 500 requests (allocator warm-up excluded).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.web.hostile

from tests.web.hostile import (  # noqa: E402
    Request,
    Secrets,
    hostile_request,
    stack_secrets,
    valid_request,
    wire_headers,
)

CLIENTS = 8
WARMUP = 500
MARKER = re.compile(r"fz\d{7}x")


def serve(workdir: Path) -> None:
    """The daemon: prints its URL, secrets and database path, runs until stdin closes."""
    from arbridge.clock import SystemClock
    from arbridge.demo.stack import ProductStack
    from arbridge.logging import configure

    configure(level="CRITICAL", fmt="json")
    with ProductStack(SystemClock(), workdir=workdir) as product:
        stop = threading.Event()
        daemon = threading.Thread(target=product.app.run, args=(stop,), kwargs={"serve": False})
        daemon.start()
        secrets = stack_secrets(product)
        print(
            json.dumps(
                {
                    "url": product.daemon_url,
                    "database": str(workdir / "arbridge.db"),
                    "secrets": secrets.__dict__,
                }
            ),
            flush=True,
        )
        sys.stdin.read()
        stop.set()
        product.app.intake.inbox.wake.set()
        daemon.join(timeout=60)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def stored_markers(database: str) -> set[str]:
    """The markers of every stored event (ClickUp's event id is a hash: its payload has it)."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT event_id || ' ' || payload FROM inbox").fetchall()
    return {marker for (text,) in rows for marker in MARKER.findall(text)}


def run(count: int, valid_every: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="arbridge-fuzz-") as tmp:
        daemon = subprocess.Popen(
            [sys.executable, __file__, "--serve", tmp],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert daemon.stdout is not None
            started = json.loads(daemon.stdout.readline())
            secrets = Secrets(**started["secrets"])
            requests = [
                valid_request(("stripe", "quickbooks", "clickup")[n % 3], f"fz{n:07d}x", secrets)
                if n % valid_every == 0
                else hostile_request(rng, f"fz{n:07d}x", secrets)
                for n in range(count)
            ]
            statuses, rss_warm = send(started["url"], requests, daemon.pid)
            rss_end = rss_mb(daemon.pid)
            stored = stored_markers(started["database"])
        finally:
            assert daemon.stdin is not None
            daemon.stdin.close()
            daemon.wait(timeout=120)
    by_status = Counter(str(statuses[i]) for i in range(count))
    refused = {r.marker for i, r in enumerate(requests) if not 200 <= statuses[i] < 300}
    hostile = {r.marker for r in requests if r.defect}
    return {
        "requests": count,
        "hostile": len(hostile),
        "by_status": dict(sorted(by_status.items())),
        "five_xx": sum(n for status, n in by_status.items() if status.startswith("5")),
        "hostile_accepted": len(hostile - refused),
        "stored_from_refused": len(stored & refused),
        "valid_refused": sum(1 for r in requests if not r.defect and r.marker in refused),
        "valid_missing": sum(1 for r in requests if not r.defect and r.marker not in stored),
        "by_defect": dict(sorted(Counter(r.defect or "valid" for r in requests).items())),
        "rss_growth_mb": round(rss_end - rss_warm, 1),
    }


def send(url: str, requests: list[Request], pid: int) -> tuple[dict[int, int], float]:
    """POST every request from ``CLIENTS`` threads: the status of each (599: no answer) and
    the daemon's RSS after the first ``WARMUP``."""
    statuses: dict[int, int] = {}
    warm = [0.0]
    lock = threading.Lock()
    local = threading.local()

    def post(index: int) -> None:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(base_url=url, timeout=60)
        request = requests[index]
        try:
            response = client.post(
                request.path, content=request.body, headers=wire_headers(request)
            )
            status = response.status_code
        except httpx.HTTPError:
            status = 599  # counted as a 5xx: the daemon did not answer
        with lock:
            statuses[index] = status
            if len(statuses) == WARMUP:
                warm[0] = rss_mb(pid)

    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(post, range(len(requests))))
    return statuses, warm[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--valid-every", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    started = time.perf_counter()
    result = run(args.requests, args.valid_every, args.seed)
    result["wall_s"] = round(time.perf_counter() - started, 1)
    if args.json:
        print(json.dumps(result))
        return
    for name, value in result.items():
        print(f"{name}: {value}")


if __name__ == "__main__":
    main()
