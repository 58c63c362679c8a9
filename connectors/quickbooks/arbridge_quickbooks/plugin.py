"""Entry point that lets arbridge discover the QuickBooks Online connector."""

from __future__ import annotations


class QuickBooksConnector:
    name = "quickbooks"


connector = QuickBooksConnector()
