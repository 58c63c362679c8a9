"""One scheduled rule evaluation over a large book: time and peak memory.

    .venv/bin/python bench/rules.py --json [--invoices 100000] [--rules 50] [--runs 3]
        [--explain] [--render]

Builds the facts of ``--invoices`` open invoices (20 per customer) in memory and evaluates
``--rules`` rules (the shipped packs' rules, cloned with new ids until there are enough) as one
schedule tick, with an empty firing history. Prints the median tick time of ``--runs`` runs and
the process's peak RSS. Building the facts is not timed: it is the store's work, not the engine's.
The tick runs as the daemon runs it, without the per-invoice trace; ``--explain`` builds it.
Every firing is decided (rule, invoice, occurrence key, intents, conflicts, stops, pauses);
comment and subtask texts render when the daemon applies a firing, and ``--render`` renders
every one of them inside the timed tick as well.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from arbridge.automation.build import build_facts
from arbridge.automation.engine import evaluate
from arbridge.automation.history import MemoryHistory
from arbridge.automation.loader import load_rules
from arbridge.automation.policy import ScheduleTick
from arbridge.model.calendar import BusinessCalendar
from arbridge.model.invoice import Customer, Invoice, InvoiceStatus, Source, SourceVersion

RULES = Path(__file__).resolve().parents[1] / "rules"


def ruleset(count: int) -> object:
    loaded = load_rules(sorted(p for p in RULES.glob("*.yaml") if ".tests." not in p.name))
    base = list(loaded.rules)
    rules = []
    index = 0
    while len(rules) < count:
        rule = base[index % len(base)]
        copy = rule if index < len(base) else _renamed(rule, f"{rule.id}-{index}")
        rules.append(copy)
        index += 1
    return type(loaded.rules)(rules=tuple(rules))


def _renamed(rule: object, new_id: str) -> object:
    from dataclasses import replace

    return replace(rule, id=new_id)  # type: ignore[type-var]


def book(count: int, today: date) -> dict[str, object]:
    calendar = BusinessCalendar()
    facts = {}
    for n in range(count):
        customer_id = f"C{n // 20:05d}"
        customer = Customer(
            source=Source("stripe"), source_account="acct", source_id=customer_id, name=customer_id
        )
        due = today + timedelta(days=(n % 120) - 60)
        invoice = Invoice(
            source=Source("stripe"),
            source_account="acct",
            source_id=f"in_{n}",
            number=f"INV-{n}",
            customer_id=customer_id,
            customer_name=customer_id,
            issue_date=due - timedelta(days=30),
            due_date=due,
            terms="Net 30",
            currency="USD",
            total=Decimal("1000.00") + n % 5000,
            amount_paid=Decimal(0),
            balance=Decimal("1000.00") + n % 5000,
            status=InvoiceStatus.OPEN,
            billing_email="ap@example.com",
            version=SourceVersion(updated_at=datetime(2026, 1, 1, tzinfo=UTC)),
        )
        facts[invoice.key] = build_facts(invoice, customer, today=today, calendar=calendar)
    return facts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--rules", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--explain", action="store_true", help="build the full trace")
    parser.add_argument("--render", action="store_true", help="render every comment too")
    args = parser.parse_args()
    now = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    rules = ruleset(args.rules)
    facts = book(args.invoices, now.date())
    times = []
    cpu = []
    firings = 0
    for _ in range(args.runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        evaluation = evaluate(
            rules,  # type: ignore[arg-type]
            ScheduleTick(),
            facts,  # type: ignore[arg-type]
            MemoryHistory(),
            now,
            BusinessCalendar(),
            "UTC",
            explain=args.explain,
        )
        if args.render:
            for firing in evaluation.firings:
                firing.intents  # noqa: B018 - reading them renders the texts
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        firings = len(evaluation.firings)
        del evaluation  # the daemon holds one tick's evaluation at a time
    result = {
        "invoices": args.invoices,
        "rules": args.rules,
        "explain": args.explain,
        "render": args.render,
        "firings": firings,
        "tick_s": round(statistics.median(times), 3),
        # CPU time of the tick: what wall time would be on an idle machine.
        "tick_cpu_s": round(statistics.median(cpu), 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(result) if args.json else result)


if __name__ == "__main__":
    main()
