from __future__ import annotations

import pytest

from arbridge.insight.generate import generate_history
from arbridge.insight.history import PaymentRecord


@pytest.fixture(scope="session")
def book() -> list[PaymentRecord]:
    """The acceptance history: `arbridge sandbox history --customers 100 --invoices 2500`."""
    return generate_history(100, 2500, 1)
