"""A deterministic company: customers with payment habits and their invoices, from a seed."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from arbridge.insight.generate import CURRENCIES, HABITS, TERMS
from arbridge.model.invoice import Customer, Invoice, InvoiceStatus, Source, SourceVersion
from arbridge.model.money import quantize

NAMES = (
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Stark",
    "Wayne",
    "Wonka",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Vandelay",
    "Pied Piper",
    "Dunder Mifflin",
    "Gringotts",
    "Monarch",
    "Oscorp",
    "Aperture",
    "Black Mesa",
    "Massive Dynamic",
)
SUFFIXES = ("Ltd", "Inc", "GmbH", "LLC", "Co", "Group", "Labs", "Partners")


DEMO_SOURCE = Source("quickbooks")


@dataclass(frozen=True)
class GeneratedCustomer:
    customer: Customer
    habit: str
    currency: str
    terms: tuple[int, str]


class CompanyGenerator:
    """Same seed, same company: every run of the demo and every test sees identical data."""

    def __init__(
        self, seed: int = 1, *, account: str = "demo-realm", source: Source = DEMO_SOURCE
    ) -> None:
        self.random = random.Random(seed)
        self.account = account
        self.source = source
        self.customers: list[GeneratedCustomer] = []
        self._number = 1000

    def make_customers(self, count: int) -> list[GeneratedCustomer]:
        for index in range(count):
            roll = self.random.random()
            habit = HABITS[-1][0]
            for name, share, _ in HABITS:
                if roll < share:
                    habit = name
                    break
                roll -= share
            currency = self.random.choices(
                [c for c, _ in CURRENCIES], weights=[w for _, w in CURRENCIES]
            )[0]
            base = NAMES[index % len(NAMES)]
            suffix = SUFFIXES[(index // len(NAMES)) % len(SUFFIXES)]
            name = f"{base} {suffix}" if index < len(NAMES) * len(SUFFIXES) else f"{base} {index}"
            customer = Customer(
                source=self.source,
                source_account=self.account,
                source_id=f"C{index + 1:04d}",
                name=name,
                email=f"ap@{base.lower().replace(' ', '')}.example",
                key_account=self.random.random() < 0.1,
            )
            self.customers.append(
                GeneratedCustomer(customer, habit, currency, self.random.choice(TERMS))
            )
        return self.customers

    def _amount(self, currency: str) -> Decimal:
        # Log-normal: many small invoices, a few large ones (median near 1,800).
        value = Decimal(str(round(self.random.lognormvariate(7.5, 1.0), 2)))
        if currency == "JPY":
            value *= 150
        return quantize(max(value, Decimal("25")), currency)

    def days_late(self, habit: str) -> int:
        for name, _, (low, high) in HABITS:
            if name == habit:
                return self.random.randint(low, high)
        raise ValueError(habit)

    def invoice(
        self, owner: GeneratedCustomer, issued: date, *, at: datetime | None = None
    ) -> Invoice:
        self._number += 1
        total = self._amount(owner.currency)
        days, terms = owner.terms
        stamp = at or datetime.combine(issued, time(9, 0), tzinfo=UTC)
        return Invoice(
            source=self.source,
            source_account=self.account,
            source_id=str(self._number),
            number=f"INV-{self._number}",
            customer_id=owner.customer.source_id,
            customer_name=owner.customer.name,
            issue_date=issued,
            due_date=issued + timedelta(days=days),
            terms=terms,
            currency=owner.currency,
            total=total,
            amount_paid=Decimal(0),
            balance=total,
            status=InvoiceStatus.OPEN,
            link=f"https://app.qbo.intuit.com/app/invoice?txnId={self._number}",
            billing_email=owner.customer.email,
            version=SourceVersion(updated_at=stamp, sequence=0),
        )

    def open_invoices(
        self, count: int, *, today: date, customers: int = 40
    ) -> list[tuple[Invoice, Customer]]:
        """``count`` open invoices issued over the 90 days before ``today``."""
        if not self.customers:
            self.make_customers(customers)
        result = []
        for _ in range(count):
            owner = self.random.choice(self.customers)
            issued = today - timedelta(days=self.random.randint(0, 90))
            result.append((self.invoice(owner, issued), owner.customer))
        return result


def with_payment(invoice: Invoice, amount: Decimal, paid_on: date, at: datetime) -> Invoice:
    """The invoice after a payment of ``amount`` (a new, newer source version)."""
    paid = invoice.amount_paid + amount
    # From the balance, not the total: a credit note may already have lowered it.
    balance = invoice.balance - amount
    status = InvoiceStatus.PAID if balance == 0 else InvoiceStatus.PARTIALLY_PAID
    return Invoice.model_validate(
        invoice.model_dump()
        | {
            "amount_paid": paid,
            "balance": balance,
            "status": status,
            "paid_date": paid_on if balance == 0 else None,
            "version": SourceVersion(updated_at=at, sequence=invoice.version.sequence + 1),
        }
    )
