"""Entry point that lets arbridge discover the Stripe connector."""

from __future__ import annotations


class StripeConnector:
    name = "stripe"


connector = StripeConnector()
