"""Insight: payment history, predicted pay dates and risk, customer segments, the backtest.

From the engine it imports ``arbridge.model`` and ``arbridge.errors``; the history generator
also borrows the demo company's payment habits. numpy and scikit-learn load with
``arbridge.insight.model`` and ``arbridge.insight.backtest``, not with this package.
"""

from arbridge.errors import HistoryImportError
from arbridge.insight.history import COLUMNS, PaymentRecord, parse_history_csv, write_history_csv

__all__ = [
    "COLUMNS",
    "HistoryImportError",
    "PaymentRecord",
    "parse_history_csv",
    "write_history_csv",
]
