"""A simulated company over time: invoices issued, falling due, paid, partly paid and voided."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from arbridge.demo.generator import CompanyGenerator, GeneratedCustomer, with_payment
from arbridge.model.invoice import Customer, Invoice, InvoiceStatus, SourceVersion


@dataclass
class Tracked:
    invoice: Invoice
    owner: GeneratedCustomer
    pay_on: date | None
    partial_on: date | None


@dataclass
class DayEvents:
    changed: list[tuple[Invoice, Customer]] = field(default_factory=list)
    issued: int = 0
    paid: int = 0
    partly_paid: int = 0
    voided: int = 0


class CompanySimulation:
    """Deterministic from the seed: each customer's habit decides when its invoices get paid."""

    def __init__(self, seed: int, start: date, *, invoices: int, customers: int = 60) -> None:
        self.generator = CompanyGenerator(seed=seed)
        self.generator.make_customers(customers)
        self.random = self.generator.random
        self.start = start
        self.tracked: dict[str, Tracked] = {}
        self.daily_new = max(1, invoices // 90)
        for _ in range(invoices):
            owner = self.random.choice(self.generator.customers)
            issued = start - timedelta(days=self.random.randint(0, 90))
            self._track(self.generator.invoice(owner, issued), owner)

    def _track(self, invoice: Invoice, owner: GeneratedCustomer) -> None:
        assert invoice.due_date is not None
        pay_on: date | None = invoice.due_date + timedelta(
            days=self.generator.days_late(owner.habit)
        )
        partial_on = None
        if self.random.random() < 0.15 and pay_on is not None:
            partial_on = invoice.issue_date + (pay_on - invoice.issue_date) / 2
        if owner.habit == "disputer" and self.random.random() < 0.3:
            pay_on = None  # disputed and left open: the collectors' problem
        self.tracked[invoice.key] = Tracked(invoice, owner, pay_on, partial_on)

    def initial(self) -> list[tuple[Invoice, Customer]]:
        """The book on the start date: invoices due to have been paid already are paid."""
        result = []
        for entry in self.tracked.values():
            if entry.pay_on is not None and entry.pay_on < self.start:
                entry.invoice = self._pay(entry.invoice, entry.invoice.balance, entry.pay_on)
                entry.pay_on = None
            result.append((entry.invoice, entry.owner.customer))
        return result

    def _stamp(self, day: date) -> datetime:
        return datetime.combine(day, time(12, 0), tzinfo=UTC)

    def _pay(self, invoice: Invoice, amount: Decimal, day: date) -> Invoice:
        return with_payment(invoice, amount, day, self._stamp(day))

    def advance_to(self, day: date) -> DayEvents:
        events = DayEvents()
        for entry in list(self.tracked.values()):
            invoice = entry.invoice
            if invoice.status in (InvoiceStatus.PAID, InvoiceStatus.VOID):
                continue
            if entry.partial_on == day and invoice.balance > 1:
                half = (invoice.balance / 2).quantize(invoice.balance)
                entry.invoice = self._pay(invoice, half, day)
                events.partly_paid += 1
            elif entry.pay_on == day:
                entry.invoice = self._pay(invoice, invoice.balance, day)
                events.paid += 1
            elif invoice.amount_paid == 0 and self.random.random() < 0.0015:
                entry.invoice = Invoice.model_validate(
                    invoice.model_dump()
                    | {
                        "status": InvoiceStatus.VOID,
                        "balance": Decimal(0),
                        "version": SourceVersion(
                            updated_at=self._stamp(day), sequence=invoice.version.sequence + 1
                        ),
                    }
                )
                events.voided += 1
            else:
                continue
            events.changed.append((entry.invoice, entry.owner.customer))
        if day.weekday() < 5:
            for _ in range(self.daily_new):
                owner = self.random.choice(self.generator.customers)
                invoice = self.generator.invoice(owner, day, at=self._stamp(day))
                self._track(invoice, owner)
                events.changed.append((invoice, owner.customer))
                events.issued += 1
        return events

    def current(self) -> list[tuple[Invoice, Customer]]:
        return [(e.invoice, e.owner.customer) for e in self.tracked.values()]
