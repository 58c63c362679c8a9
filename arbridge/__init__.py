"""arbridge: an accounts-receivable bridge from QuickBooks Online and Stripe to ClickUp."""

__version__ = "0.1.0"
