"""History CSV import: all or nothing, every problem with its line, renames and date formats."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from arbridge.errors import HistoryImportError
from arbridge.insight.history import (
    PaymentRecord,
    parse_history_csv,
    record_from_invoice,
    write_history_csv,
)
from arbridge.model.invoice import Invoice, InvoiceStatus, Source, SourceVersion

HEADER = "customer_id,invoice_id,issue_date,due_date,amount,currency,paid_date,disputed"


def write(tmp_path: Path, *lines: str, name: str = "history.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_good_file_reads_every_column(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER,
        "C1,INV-1,2024-01-05,2024-02-04,1200.50,usd,2024-02-10,false",
        "C1,INV-2,2024-02-05,2024-03-06,99,EUR,,TRUE",
        "C2,INV-3,2024-03-01,2024-03-01,5000,JPY,2024-03-01,0",
    )
    first, second, third = parse_history_csv(path)
    assert first == PaymentRecord(
        customer_id="C1",
        invoice_id="INV-1",
        issue_date=date(2024, 1, 5),
        due_date=date(2024, 2, 4),
        amount=Decimal("1200.50"),
        currency="USD",
        paid_date=date(2024, 2, 10),
        disputed=False,
        attributes={},
    )
    assert first.days_late == 6
    assert first.terms_days == 30
    assert second.paid_date is None
    assert second.days_late is None
    assert second.disputed is True
    assert third.amount == Decimal(5000)
    assert third.days_late == 0


def test_bad_rows_are_all_reported_with_line_numbers_and_nothing_is_returned(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        HEADER,
        "C1,INV-1,2024-01-05,2024-02-04,100,USD,2024-02-10,false",
        "C1,INV-2,2024-01-05,2024-13-01,100,USD,,false",
        "C1,INV-3,2024-01-05,2024-02-04,ten,USD,,false",
        ",INV-4,2024-01-05,2024-02-04,100,XXX,,maybe",
        "C1,INV-1,2024-01-05,2024-02-04,100,USD,,false",
        "C1,INV-6,2024-03-05,2024-02-04,100,USD,2024-03-01,false",
        "C1,INV-7,2024-01-05,2024-02-04,100.123,USD,,false",
        "C1,INV-8,2024-01-05",
    )
    with pytest.raises(HistoryImportError) as caught:
        parse_history_csv(path)
    name = str(path)
    assert caught.value.problems == [
        f"{name}:3: due_date: not a date in format %Y-%m-%d: '2024-13-01'",
        f"{name}:4: amount: not a number: 'ten'",
        f"{name}:5: customer_id: must not be empty",
        f"{name}:5: currency: not an ISO 4217 code: 'XXX'",
        f"{name}:5: disputed: expected true or false: 'maybe'",
        f"{name}:6: invoice_id: 'INV-1' already on line 2",
        f"{name}:7: due_date: 2024-02-04 is before issue_date 2024-03-05",
        f"{name}:7: paid_date: 2024-03-01 is before issue_date 2024-03-05",
        f"{name}:8: amount: '100.123' has more decimals than USD allows (2)",
        f"{name}:9: expected 8 fields, found 3",
    ]


def test_a_quoted_field_spanning_lines_keeps_later_line_numbers_right(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER + ",note",
        'C1,INV-1,2024-01-05,2024-02-04,100,USD,,false,"two',
        'lines"',
        "C1,INV-2,2024-01-05,2024-02-04,100,USD,,nope,x",
    )
    with pytest.raises(HistoryImportError) as caught:
        parse_history_csv(path)
    assert caught.value.problems == [f"{path}:4: disputed: expected true or false: 'nope'"]


def test_missing_columns_are_reported_on_the_header_line(tmp_path: Path) -> None:
    path = write(
        tmp_path, "customer_id,invoice_id,issue_date,amount,currency", "C1,I,2024-01-01,1,USD"
    )
    with pytest.raises(HistoryImportError) as caught:
        parse_history_csv(path)
    assert caught.value.problems == [
        f"{path}:1: missing column 'due_date'",
        f"{path}:1: missing column 'paid_date'",
        f"{path}:1: missing column 'disputed'",
    ]


def test_empty_and_unreadable_files_are_problems_too(tmp_path: Path) -> None:
    empty = write(tmp_path, "", name="empty.csv")
    empty.write_text("", encoding="utf-8")
    with pytest.raises(HistoryImportError, match="empty"):
        parse_history_csv(empty)
    with pytest.raises(HistoryImportError, match="cannot read"):
        parse_history_csv(tmp_path / "absent.csv")


def test_map_renames_columns(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "Customer,Invoice No,issue_date,due_date,Total,currency,paid_date,disputed",
        "C1,INV-1,2024-01-05,2024-02-04,100,USD,,false",
    )
    (record,) = parse_history_csv(
        path, mapping={"customer_id": "Customer", "invoice_id": "Invoice No", "amount": "Total"}
    )
    assert (record.customer_id, record.invoice_id, record.amount) == ("C1", "INV-1", Decimal(100))
    assert record.attributes == {}


def test_map_naming_an_absent_column_is_a_problem(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER, "C1,INV-1,2024-01-05,2024-02-04,100,USD,,false")
    with pytest.raises(HistoryImportError) as caught:
        parse_history_csv(path, mapping={"amount": "Total"})
    assert f"{path}:1: --map amount=Total: no column named 'Total'" in caught.value.problems


def test_date_format_parses_other_date_styles(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER, "C1,INV-1,05/01/2024,04/02/2024,100,USD,10/02/2024,false")
    (record,) = parse_history_csv(path, date_format="%d/%m/%Y")
    assert (record.issue_date, record.due_date, record.paid_date) == (
        date(2024, 1, 5),
        date(2024, 2, 4),
        date(2024, 2, 10),
    )
    with pytest.raises(HistoryImportError) as caught:
        parse_history_csv(path)
    assert caught.value.problems[0] == (
        f"{path}:2: issue_date: not a date in format %Y-%m-%d: '05/01/2024'"
    )


def test_extra_columns_are_kept_as_attributes(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER + ",region,billing channel",
        "C1,INV-1,2024-01-05,2024-02-04,100,USD,,false,europe,post",
    )
    (record,) = parse_history_csv(path)
    assert record.attributes == {"region": "europe", "billing channel": "post"}


def test_a_spreadsheet_byte_order_mark_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(
        ("\ufeff" + HEADER + "\nC1,INV-1,2024-01-05,2024-02-04,100,USD,,false\n").encode()
    )
    assert parse_history_csv(path)[0].customer_id == "C1"


def test_written_history_reads_back_identically(tmp_path: Path, book: list[PaymentRecord]) -> None:
    path = tmp_path / "out.csv"
    write_history_csv(path, book[:300])
    assert parse_history_csv(path) == book[:300]


def test_a_canonical_invoice_becomes_a_record() -> None:
    invoice = Invoice(
        source=Source("stripe"),
        source_account="acct_1",
        source_id="in_1",
        number="INV-1",
        customer_id="cus_1",
        customer_name="Acme",
        issue_date=date(2026, 3, 1),
        due_date=None,
        currency="usd",
        total=Decimal("120.00"),
        amount_paid=Decimal(0),
        balance=Decimal("120.00"),
        status=InvoiceStatus.OPEN,
        version=SourceVersion(updated_at=datetime(2026, 3, 1, tzinfo=UTC)),
    )
    record = record_from_invoice(invoice, attributes={"channel": "portal"})
    assert record.invoice_id == "stripe:acct_1:in_1"
    assert record.customer_id == "cus_1"
    assert record.due_date == record.issue_date  # due on receipt
    assert (record.amount, record.currency, record.paid_date) == (Decimal("120.00"), "USD", None)
    assert record.attributes == {"channel": "portal"}
