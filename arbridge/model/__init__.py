"""The canonical domain: pure, validated types with no I/O."""

from arbridge.model.calendar import BusinessCalendar
from arbridge.model.invoice import (
    AgingBucket,
    Customer,
    Dispute,
    Invoice,
    InvoiceStatus,
    Payment,
    Source,
    SourceVersion,
)
from arbridge.model.money import Money, minor_units

__all__ = [
    "AgingBucket",
    "BusinessCalendar",
    "Customer",
    "Dispute",
    "Invoice",
    "InvoiceStatus",
    "Money",
    "Payment",
    "Source",
    "SourceVersion",
    "minor_units",
]
