"""Settled and open invoices as payment history, and its CSV import/export.

The CSV has one invoice per row with the columns in ``COLUMNS``; any other column is kept as an
invoice attribute (region, billing channel, ...) the model may learn from. Import is all or
nothing: every problem in the file is reported with its line number, and a file with any
problem yields no records.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from arbridge.errors import HistoryImportError
from arbridge.model.invoice import Invoice
from arbridge.model.money import minor_units, quantize

COLUMNS = (
    "customer_id",
    "invoice_id",
    "issue_date",
    "due_date",
    "amount",
    "currency",
    "paid_date",
    "disputed",
)
ISO_DATE = "%Y-%m-%d"
_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0", ""})


@dataclass(frozen=True, slots=True)
class PaymentRecord:
    """One invoice and, once settled, when it was paid. ``paid_date`` None means still open."""

    customer_id: str
    invoice_id: str
    issue_date: date
    due_date: date
    amount: Decimal
    currency: str
    paid_date: date | None = None
    disputed: bool = False
    attributes: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_settled(self) -> bool:
        return self.paid_date is not None

    @property
    def days_late(self) -> int | None:
        """Calendar days paid after the due date (0 when on time or early); None while open."""
        if self.paid_date is None:
            return None
        return max(0, (self.paid_date - self.due_date).days)

    @property
    def terms_days(self) -> int:
        return (self.due_date - self.issue_date).days


def record_from_invoice(
    invoice: Invoice, *, attributes: Mapping[str, str] | None = None, disputed: bool = False
) -> PaymentRecord:
    """A canonical invoice as history (settled when it is paid), e.g. to score it.

    An invoice without a due date is due on receipt. ``attributes`` should use the same names as
    the imported history's extra columns for the model to recognise them.
    """
    return PaymentRecord(
        customer_id=invoice.customer_id,
        invoice_id=invoice.key,
        issue_date=invoice.issue_date,
        due_date=invoice.due_date or invoice.issue_date,
        amount=invoice.total,
        currency=invoice.currency,
        paid_date=invoice.paid_date,
        disputed=disputed,
        attributes=dict(attributes or {}),
    )


def parse_history_csv(
    path: Path | str,
    *,
    mapping: Mapping[str, str] | None = None,
    date_format: str | None = None,
) -> list[PaymentRecord]:
    """Every row of ``path`` as a record, or ``HistoryImportError`` listing every problem.

    ``mapping`` renames columns: ``{"invoice_id": "Invoice No"}`` reads the file's "Invoice No"
    column as ``invoice_id``. ``date_format`` is a ``strptime`` format (default ISO ``%Y-%m-%d``).
    """
    path = Path(path)
    fmt = date_format or ISO_DATE
    label = str(path)
    try:
        # utf-8-sig: spreadsheets often save a byte-order mark before the header.
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return _parse(csv.reader(handle), label, dict(mapping or {}), fmt)
    except OSError as exc:
        raise HistoryImportError([f"{label}: cannot read: {exc.strerror or exc}"]) from exc
    except UnicodeDecodeError as exc:
        raise HistoryImportError([f"{label}: not UTF-8 text: {exc.reason}"]) from exc
    except csv.Error as exc:
        raise HistoryImportError([f"{label}: not a CSV file: {exc}"]) from exc


def _parse(
    reader: Iterable[list[str]], label: str, mapping: dict[str, str], fmt: str
) -> list[PaymentRecord]:
    rows = iter(reader)
    header = next(rows, None)
    if header is None:
        raise HistoryImportError([f"{label}:1: the file is empty (expected a header row)"])
    names, problems = _header(header, label, mapping)
    if problems:
        raise HistoryImportError(problems)

    records: list[PaymentRecord] = []
    seen: dict[str, int] = {}
    line_num = getattr(reader, "line_num", 1)
    for row in rows:
        # A quoted field may span lines: the record starts on the line after the previous one.
        line = line_num + 1
        line_num = getattr(reader, "line_num", line)
        if not any(cell.strip() for cell in row):
            continue
        where = f"{label}:{line}"
        if len(row) != len(names):
            problems.append(f"{where}: expected {len(names)} fields, found {len(row)}")
            continue
        values = {name: cell.strip() for name, cell in zip(names, row, strict=True)}
        record, row_problems = _record(values, fmt)
        problems.extend(f"{where}: {problem}" for problem in row_problems)
        if record is None:
            continue
        first = seen.setdefault(record.invoice_id, line)
        if first != line:
            problems.append(f"{where}: invoice_id: {record.invoice_id!r} already on line {first}")
            continue
        records.append(record)
    if problems:
        raise HistoryImportError(problems)
    return records


def _header(header: list[str], label: str, mapping: dict[str, str]) -> tuple[list[str], list[str]]:
    names = [cell.strip() for cell in header]
    problems: list[str] = []
    renames = {old: new for new, old in mapping.items()}
    for new, old in mapping.items():
        if old not in names:
            problems.append(f"{label}:1: --map {new}={old}: no column named {old!r}")
    names = [renames.get(name, name) for name in names]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"{label}:1: column {name!r} appears more than once")
    for name in COLUMNS:
        if name not in names:
            problems.append(f"{label}:1: missing column {name!r}")
    if "" in names:
        problems.append(f"{label}:1: a column has no name")
    return names, problems


def _record(values: dict[str, str], fmt: str) -> tuple[PaymentRecord | None, list[str]]:
    problems: list[str] = []
    for name in ("customer_id", "invoice_id"):
        if not values[name]:
            problems.append(f"{name}: must not be empty")
    issue = _date(values, "issue_date", fmt, problems, required=True)
    due = _date(values, "due_date", fmt, problems, required=True)
    paid = _date(values, "paid_date", fmt, problems, required=False)
    currency = values["currency"].upper()
    try:
        minor_units(currency)
    except ValueError:
        problems.append(f"currency: not an ISO 4217 code: {values['currency']!r}")
        currency = ""
    amount = _amount(values["amount"], currency, problems)
    disputed = values["disputed"].lower()
    if disputed not in _TRUE | _FALSE:
        problems.append(f"disputed: expected true or false: {values['disputed']!r}")
    if issue and due and due < issue:
        problems.append(f"due_date: {due.isoformat()} is before issue_date {issue.isoformat()}")
    if issue and paid and paid < issue:
        problems.append(f"paid_date: {paid.isoformat()} is before issue_date {issue.isoformat()}")
    if problems or issue is None or due is None or amount is None:
        return None, problems
    attributes = {k: v for k, v in values.items() if k not in COLUMNS}
    record = PaymentRecord(
        customer_id=values["customer_id"],
        invoice_id=values["invoice_id"],
        issue_date=issue,
        due_date=due,
        amount=amount,
        currency=currency,
        paid_date=paid,
        disputed=disputed in _TRUE,
        attributes=attributes,
    )
    return record, problems


def _date(
    values: dict[str, str], name: str, fmt: str, problems: list[str], *, required: bool
) -> date | None:
    text = values[name]
    if not text:
        if required:
            problems.append(f"{name}: must not be empty")
        return None
    try:
        # A calendar date has no zone; UTC only satisfies the aware-datetime rule.
        return datetime.strptime(text, fmt).replace(tzinfo=UTC).date()
    except ValueError:
        problems.append(f"{name}: not a date in format {fmt}: {text!r}")
        return None


def _amount(text: str, currency: str, problems: list[str]) -> Decimal | None:
    try:
        amount = Decimal(text.replace(",", "")) if text else None
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        problems.append(f"amount: not a number: {text!r}")
        return None
    if amount < 0:
        problems.append(f"amount: must not be negative: {text!r}")
        return None
    if currency:
        exact = quantize(amount, currency)
        if exact != amount:
            problems.append(
                f"amount: {text!r} has more decimals than {currency} allows "
                f"({minor_units(currency)})"
            )
            return None
        return exact
    return amount


def write_history_csv(path: Path | str, records: Sequence[PaymentRecord]) -> None:
    """Write ``records`` in the import format; attribute columns follow, sorted by name."""
    extra = sorted({key for record in records for key in record.attributes})
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*COLUMNS, *extra])
        for r in records:
            writer.writerow(
                [
                    r.customer_id,
                    r.invoice_id,
                    r.issue_date.isoformat(),
                    r.due_date.isoformat(),
                    str(r.amount),
                    r.currency,
                    r.paid_date.isoformat() if r.paid_date else "",
                    "true" if r.disputed else "false",
                    *(r.attributes.get(key, "") for key in extra),
                ]
            )
