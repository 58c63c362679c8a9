"""The reference stays true to the code; facts, templates and their filters."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from arbridge.automation import FACTS, FactSet, build_facts
from arbridge.automation.build import CollectionState, CustomerStats, InsightValues
from arbridge.automation.facts import SEGMENTS
from arbridge.automation.schema_base import ACTION_KINDS, EVENT_TYPES, OPERATORS
from arbridge.automation.templates import compile_template, context
from arbridge.errors import TemplateProblem
from arbridge.insight.segments import Segment
from arbridge.model.calendar import BusinessCalendar
from arbridge.model.invoice import Customer, Invoice, InvoiceStatus, Source, SourceVersion
from tests.automation.builders import MONDAY, facts

DOC = (Path(__file__).parents[2] / "docs" / "rules.md").read_text()


def test_every_fact_is_documented_with_its_type() -> None:
    rows = dict(re.findall(r"^\| `([a-z0-9_.]+)` \| ([^|]+) \| ", DOC, re.MULTILINE))
    documented = {name: kind.strip() for name, kind in rows.items() if "." in name}
    assert documented == {name: spec.type_label for name, spec in FACTS.items()}
    for name, spec in FACTS.items():
        nullable = re.search(rf"^\| `{re.escape(name)}` \| [^|]+ \| (yes)? \|", DOC, re.MULTILINE)
        assert nullable is not None, name
        assert (nullable.group(1) == "yes") is spec.nullable, name


@pytest.mark.parametrize("word", [*EVENT_TYPES, *OPERATORS, *ACTION_KINDS])
def test_every_event_operator_and_action_is_documented(word: str) -> None:
    assert f"`{word}`" in DOC


def test_segments_match_the_insight_model() -> None:
    assert tuple(s.value for s in Segment) == SEGMENTS


def test_factset_rejects_unknown_and_mistyped_facts() -> None:
    (complete,) = facts(MONDAY.date()).values()
    values = dict(complete.values)
    with pytest.raises(ValueError, match=r"unknown fact 'invoice.amont'; did you mean"):
        FactSet.create({**values, "invoice.amont": 1})
    with pytest.raises(ValueError, match=r"invoice.days_overdue is int: expected a whole number"):
        FactSet.create({**values, "invoice.days_overdue": "3"})
    missing = {k: v for k, v in values.items() if k != "invoice.balance"}
    with pytest.raises(ValueError, match=r"fact invoice.balance is required"):
        FactSet.create(missing)
    with pytest.raises(ValueError, match="last_reminder_at is datetime"):
        FactSet.create({**values, "invoice.last_reminder_at": datetime(2026, 3, 1)})


def _invoice(number: str, due: date, total: str, status: InvoiceStatus) -> Invoice:
    balance = Decimal(0) if status is InvoiceStatus.PAID else Decimal(total)
    return Invoice(
        source=Source("stripe"),
        source_account="acct",
        source_id=number,
        number=number,
        customer_id="cus_1",
        customer_name="Acme Ltd",
        issue_date=date(2026, 1, 1),
        due_date=due,
        currency="EUR",
        total=Decimal(total),
        amount_paid=Decimal(total) - balance,
        balance=balance,
        status=status,
        version=SourceVersion(updated_at=datetime(2026, 1, 1, tzinfo=UTC)),
    )


def test_build_facts_from_the_canonical_model() -> None:
    today = date(2026, 3, 9)
    late = _invoice("A-1", date(2026, 2, 27), "100.00", InvoiceStatus.OPEN)
    newer = _invoice("A-2", date(2026, 3, 20), "250.00", InvoiceStatus.OPEN)
    paid = _invoice("A-0", date(2026, 2, 1), "80.00", InvoiceStatus.PAID)
    customer = Customer(
        source=Source("stripe"),
        source_account="acct",
        source_id="cus_1",
        name="Acme Ltd",
        tags=("eu",),
        key_account=True,
    )
    result = build_facts(
        late,
        customer,
        today=today,
        calendar=BusinessCalendar(),
        collection=CollectionState(reminders_sent=2, task_status="overdue"),
        customer_invoices=[late, newer, paid],
        stats=CustomerStats(segment="chronic_late", preferred_weekday=4),
        insight=InsightValues(risk_score=80, p_late=0.9),
        event={"event.actor": "carla@example.com"},
    )
    v = result.values
    assert (v["invoice.days_overdue"], v["invoice.business_days_overdue"]) == (10, 6)
    assert (v["invoice.days_until_due"], v["invoice.aging_bucket"]) == (-10, "1-30")
    assert v["customer.total_outstanding"] == Decimal("350.00")
    assert (v["customer.open_invoice_count"], v["customer.overdue_count"]) == (2, 1)
    assert (v["customer.segment"], v["customer.preferred_weekday"]) == ("chronic_late", "friday")
    assert (v["customer.key_account"], v["customer.tags"]) == (True, ("eu",))
    assert (v["insight.risk_score"], v["insight.p_late"], v["insight.p_late_30"]) == (80, 0.9, None)
    assert v["event.actor"] == "carla@example.com"
    assert [s["number"] for s in result.customer_invoices] == ["A-1", "A-2"]


def render(source: str, **values: object) -> str:
    (fact_set,) = facts(MONDAY.date(), values).values()
    template = compile_template(source, {"who": "sam@example.com"})
    return template.render(context(fact_set, [fact_set], MONDAY, {"who": "sam@example.com"}))


@pytest.mark.parametrize(
    ("source", "values", "expected"),
    [
        ("{{ invoice.balance | money }}", {"invoice.amount": "1234.5"}, "1,234.50 USD"),
        ("{{ invoice.balance | money('JPY') }}", {"invoice.amount": "50000"}, "50,000 JPY"),
        (
            "{{ invoice.balance | money }}",
            {"invoice.amount": "1.25", "invoice.currency": "KWD"},
            "1.250 KWD",
        ),
        ("{{ invoice.link | money }}", {}, "n/a"),
        ("{{ invoice.due_date | date }}", {}, "2026-03-09"),
        ("{{ invoice.due_date | date('%d %B %Y') }}", {}, "09 March 2026"),
        ("{{ customer.segment | date }}", {}, "n/a"),
        ("{{ 1 | days }} and {{ invoice.days_overdue | days }}", {}, "1 day and 0 days"),
        ("{{ today }} {{ vars.who }}", {}, "2026-03-09 sam@example.com"),
        ("{{ customer_invoices | length }} {{ overdue_invoices | length }}", {}, "1 0"),
    ],
)
def test_filters_and_variables(source: str, values: dict[str, object], expected: str) -> None:
    assert render(source, **values) == expected


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ invoice.__class__ }}", "template uses unknown fact 'invoice.__class__'"),
        ("{{ today.__class__.__mro__ }}", "template error: access to attribute '__class__'"),
        ("{{ cycler.__init__.__globals__ }}", "access to attribute '__init__' of 'type' object"),
        ("{% for x in range(10**9) %}{% endfor %}", None),
    ],
)
def test_the_sandbox_keeps_templates_to_data(source: str, message: str | None) -> None:
    if message is None:
        # Huge ranges are refused by the sandbox at render time, not at load.
        template = compile_template(source, {})
        with pytest.raises(TemplateProblem, match=r"(?i)range too big"):
            template.render({})
        return
    with pytest.raises(TemplateProblem, match=re.escape(message)):
        compile_template(source, {})


def test_preferred_weekday_today_lets_a_rule_wait_for_the_customers_day() -> None:
    from datetime import UTC, date, datetime
    from decimal import Decimal

    from arbridge.automation.build import CustomerStats, build_facts
    from arbridge.model.calendar import BusinessCalendar
    from arbridge.model.invoice import Invoice, InvoiceStatus, Source, SourceVersion

    invoice = Invoice(
        source=Source("stripe"),
        source_account="acct",
        source_id="in_1",
        number="INV-1",
        customer_id="cus_1",
        customer_name="Acme",
        issue_date=date(2026, 2, 1),
        due_date=date(2026, 3, 1),
        currency="USD",
        total=Decimal("10.00"),
        amount_paid=Decimal(0),
        balance=Decimal("10.00"),
        status=InvoiceStatus.OPEN,
        version=SourceVersion(updated_at=datetime(2026, 2, 1, tzinfo=UTC)),
    )
    calendar = BusinessCalendar()
    thursday = CustomerStats(preferred_weekday=3)

    def fact(day: date, stats: CustomerStats | None) -> object:
        facts = build_facts(invoice, None, today=day, calendar=calendar, stats=stats)
        return facts.get("customer.preferred_weekday_today")

    assert fact(date(2026, 3, 5), thursday) is True  # a Thursday
    assert fact(date(2026, 3, 6), thursday) is False
    assert fact(date(2026, 3, 5), None) is None
