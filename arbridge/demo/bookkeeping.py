"""A company's bookkeeping acted out on the source emulators, one simulated day at a time.

The same generator as the rest of the demo decides customers, habits, amounts and terms; here
each customer lives in QuickBooks or in Stripe, and every issue, payment, void and dispute is an
API action on that emulator, which then sends its webhooks like the real service. What the
bookkeeping did is kept, so the end of the demo can check the store against it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from arbridge.demo.generator import CompanyGenerator, GeneratedCustomer
from arbridge.model.invoice import InvoiceStatus
from arbridge.ports.source import SourceEmulator

# Share of customers billed from QuickBooks; the rest pay through Stripe.
QUICKBOOKS_SHARE = 0.6


@dataclass
class Booked:
    source: str
    source_id: str
    owner: GeneratedCustomer
    currency: str
    total: Decimal
    due: date
    pay_on: date | None
    partial_on: date | None
    dispute: bool
    paid: Decimal = Decimal(0)
    status: InvoiceStatus = InvoiceStatus.OPEN

    @property
    def balance(self) -> Decimal:
        return Decimal(0) if self.status is InvoiceStatus.VOID else self.total - self.paid


class Bookkeeping:
    def __init__(
        self,
        seed: int,
        emulators: dict[str, SourceEmulator],
        *,
        invoices: int,
        start: date,
        customers: int = 60,
    ) -> None:
        self.generator = CompanyGenerator(seed=seed)
        self.random = self.generator.random
        self.emulators = emulators
        self.booked: dict[tuple[str, str], Booked] = {}
        self.events: Counter[str] = Counter()
        self.daily_new = max(1, invoices // 90)
        self._homes: dict[str, tuple[str, str]] = {}  # generated id -> (source, source id)
        owners = self.generator.make_customers(customers)
        for index, owner in enumerate(owners):
            source = "quickbooks" if index < len(owners) * QUICKBOOKS_SHARE else "stripe"
            if source not in emulators:
                source = next(iter(emulators))
            emulator = emulators[source]
            source_id = emulator.add_customer(owner.customer.name, owner.customer.email)
            self._homes[owner.customer.source_id] = (source, source_id)
        self._initial = invoices
        self.start = start

    def open_book(self) -> None:
        """The invoices already out on the start date (issued over the previous 45 days);
        those their customers would have paid by now are paid at once."""
        for _ in range(self._initial):
            owner = self.random.choice(self.generator.customers)
            issued = self.start - timedelta(days=self.random.randint(0, 45))
            booked = self._issue(owner, issued)
            if booked.pay_on is not None and booked.pay_on < self.start:
                self._pay(booked, booked.balance)
                booked.pay_on = None

    def _issue(self, owner: GeneratedCustomer, issued: date) -> Booked:
        draft = self.generator.invoice(owner, issued)
        assert draft.due_date is not None
        source, customer_id = self._homes[owner.customer.source_id]
        source_id = self.emulators[source].issue_invoice(
            customer_id,
            currency=draft.currency,
            amount=draft.total,
            issue_date=issued,
            due_date=draft.due_date,
            terms=draft.terms or "",
        )
        pay_on: date | None = draft.due_date + timedelta(days=self.generator.days_late(owner.habit))
        partial_on = None
        if self.random.random() < 0.15 and pay_on is not None:
            partial_on = issued + (pay_on - issued) / 2
        # Card payments get disputed: often by the habitual disputers, now and then by anyone.
        roll = self.random.random()
        dispute = roll < (0.5 if owner.habit == "disputer" else 0.08)
        booked = Booked(
            source,
            source_id,
            owner,
            draft.currency,
            draft.total,
            draft.due_date,
            pay_on,
            partial_on,
            dispute and source == "stripe",
        )
        self.booked[(source, source_id)] = booked
        self.events["issued"] += 1
        return booked

    def _pay(self, booked: Booked, amount: Decimal) -> None:
        self.emulators[booked.source].pay_invoice(booked.source_id, amount)
        booked.paid += amount
        booked.status = InvoiceStatus.PAID if booked.balance == 0 else InvoiceStatus.PARTIALLY_PAID

    def advance(self, day: date) -> None:
        """Everything that happens in the books on ``day``."""
        for booked in list(self.booked.values()):
            if booked.status in (InvoiceStatus.PAID, InvoiceStatus.VOID):
                continue
            if booked.partial_on == day and booked.balance > 1:
                half = (booked.balance / 2).quantize(booked.balance)
                self._pay(booked, half)
                self.events["partly_paid"] += 1
            elif booked.pay_on == day:
                self._pay(booked, booked.balance)
                self.events["paid"] += 1
                if booked.dispute:
                    # A customer who paid by card and then disputed the charge.
                    self.emulators[booked.source].dispute_invoice(booked.source_id, "fraudulent")
                    self.events["disputed"] += 1
            elif booked.paid == 0 and self.random.random() < 0.0015:
                self.emulators[booked.source].void_invoice(booked.source_id)
                booked.status = InvoiceStatus.VOID
                self.events["voided"] += 1
        if day.weekday() < 5:
            for _ in range(self.daily_new):
                self._issue(self.random.choice(self.generator.customers), day)

    def counts(self) -> dict[str, int]:
        return dict(Counter(booked.source for booked in self.booked.values()))
