"""Reading import files: exact lines and reasons, encodings, and whole-file refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from csflow.domain.codes import Channel, Priority, Tier
from csflow.imports import ImportFileError, ParsedFile, read_import_file
from tests.imports import samples

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def _outcome(
    parsed: ParsedFile,
) -> tuple[dict[int, str], dict[int, tuple[str | None, str]], dict[int, tuple[str, str]]]:
    return (
        {r.line: r.external_id for r in parsed.rows},
        {b.line: (b.external_id, b.reason) for b in parsed.bad},
        {d.line: (d.external_id, d.reason) for d in parsed.duplicates},
    )


@pytest.mark.parametrize(("newline", "bom"), [("\n", False), ("\r\n", True)])
def test_csv_rows_are_good_bad_or_duplicates_with_physical_line_numbers(
    tmp_path: Path,
    newline: str,
    bom: bool,
) -> None:
    # Excel's "CSV UTF-8" is CRLF with a BOM; both kinds of file give the same lines.
    path = tmp_path / "outage.csv"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + samples.csv_text(newline).encode())
    parsed = read_import_file(path, now=NOW)
    assert parsed.format == "csv" and parsed.total == 9
    good, bad, duplicates = _outcome(parsed)
    assert good == samples.CSV_GOOD
    assert bad == samples.CSV_BAD
    assert duplicates == samples.CSV_DUPLICATES

    first = parsed.rows[0].intake  # the cell quoted over two lines, nested fields rebuilt
    assert first.description == f"Parcel arrived broken,{newline}box crushed; 包裹破损"
    assert first.customer.tier is Tier.VIP and first.customer.contact.phone == "+86 138 0000 0000"
    assert first.priority is Priority.P1 and first.channel is Channel.PHONE
    assert first.amount_in_dispute == Decimal("120.50")
    assert first.received_at == datetime(2026, 11, 20, 1, 30, tzinfo=UTC)
    last = parsed.rows[2].intake
    assert last.description == 'Screen flickers, "sometimes"'
    assert last.related_to == ["CS20261119-APP-0001"] and last.sub_type == "repair"
    second = parsed.rows[1].intake  # empty cells take the model's defaults
    assert second.priority is Priority.P3 and second.customer.tier is Tier.REGULAR


def test_jsonl_rows_are_good_bad_or_duplicates_with_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "outage.txt"  # detected by content, not by name
    path.write_bytes(b"\xef\xbb\xbf" + samples.jsonl_text().encode())
    parsed = read_import_file(path, now=NOW)
    assert parsed.format == "jsonl" and parsed.total == 8
    good, bad, duplicates = _outcome(parsed)
    assert good == samples.JSONL_GOOD
    assert bad == samples.JSONL_BAD
    assert duplicates == samples.JSONL_DUPLICATES
    assert parsed.rows[0].intake.amount_in_dispute == Decimal("120.5")


def test_dotted_headers_and_lists_and_the_other_columns(tmp_path: Path) -> None:
    path = tmp_path / "dotted.csv"
    path.write_text(
        "external_id,received_at,customer.id,customer.name,customer.contact.email,"
        "customer.preferred_channels,customer.quiet_hours,customer.language,channel,category,"
        "description,expected_resolution_at,order_number,department,recorded_by.id,"
        "recorded_by.role\n"
        "D-1,2026-11-20T09:00:00+08:00,C-9,Ann,ann@example.com,sms; email,21:00;09:00,en,"
        "email,complaint,Late,2026-11-21T18:00:00+08:00,ORD-1,logistics,li.na,agent\n"
        "D-2,2026-11-20T09:00:00+08:00,C-9,Ann,ann@example.com,,,,email,complaint,Late,,,,"
        "li.na,\n",
        encoding="utf-8",
    )
    parsed = read_import_file(path, now=NOW)
    (row,) = parsed.rows
    c = row.intake.customer
    assert c.preferred_channels == ["sms", "email"] and c.quiet_hours == ["21:00", "09:00"]
    assert c.language == "en" and row.intake.order_number == "ORD-1"
    assert row.intake.recorded_by is not None and row.intake.recorded_by.id == "li.na"
    assert [(b.line, b.reason) for b in parsed.bad] == [(3, "recorded_by_role: required")]


def test_a_quoted_cell_never_closed_loses_only_the_rest_of_the_file(tmp_path: Path) -> None:
    rows = samples.csv_of([samples.good_row(i) for i in range(3)]).splitlines()
    rows[2] = rows[2].replace("Recorded", '"Recorded', 1)  # opened, never closed
    path = tmp_path / "broken.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    parsed = read_import_file(path, now=NOW)
    assert [r.line for r in parsed.rows] == [2]
    assert [(b.line, b.reason) for b in parsed.bad] == [
        (3, "a quoted cell opened on this row is never closed; lines 3–4 could not be read")
    ]


def test_stray_quote_and_extra_cells_are_bad_rows_not_bad_files(tmp_path: Path) -> None:
    rows = samples.csv_of([samples.good_row(i) for i in range(4)]).splitlines()
    rows[2] = rows[2].replace(",Recorded", ',"Recorded by" hand', 1)
    rows[3] = rows[3] + ",surplus"
    path = tmp_path / "cells.csv"
    path.write_text("\n".join(rows) + "\n,,,,\n", encoding="utf-8")  # and an empty row
    parsed = read_import_file(path, now=NOW)
    assert [r.line for r in parsed.rows] == [2, 5]
    n = len(rows[0].split(","))
    assert [(b.line, b.external_id, b.reason) for b in parsed.bad] == [
        (3, None, "not valid CSV (',' expected after '\"'); the rest of line 3 was skipped"),
        (
            4,
            "GEN-00002",
            f"has {n + 1} cells but the header has {n} columns (an unquoted comma in a cell?)",
        ),
    ]


def test_a_received_at_in_the_future_is_refused(tmp_path: Path) -> None:
    rows = [samples.good_row(1), samples.good_row(2)]
    rows[1]["received_at"] = (NOW + timedelta(hours=1)).isoformat()
    path = tmp_path / "future.csv"
    path.write_text(samples.csv_of(rows), encoding="utf-8")
    parsed = read_import_file(path, now=NOW)
    assert [(b.line, b.reason) for b in parsed.bad] == [(3, "received_at: is in the future")]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        ("external_id,客户\n".encode("gbk"), "is not UTF-8 text (byte 0xbf on line 1)"),
        (samples.csv_text().encode("utf-16"), "is UTF-16 text"),
        (b"\x00\x01\x02binary\x00", "contains NUL bytes"),
        (b'[{"external_id": "X"}]\n', "is a JSON array; write one JSON object per line"),
        (b"hello,world\nthis is,text\n", "is neither CSV with a csflow header row nor JSON Lines"),
        (b"{broken\n{also broken\n", "no line holds a JSON object"),
        (
            samples.HEADER.replace("customer_name", "custmer_name").encode() + b"\n",
            "line 1: unknown column(s) custmer_name",
        ),
        (
            samples.HEADER.replace("received_at,", "").encode() + b"\n",
            "line 1: missing column(s) received_at",
        ),
        (samples.HEADER.encode() + b",channel\n", "line 1: column(s) named twice: channel"),
        (samples.HEADER.encode() + b"\n\n", "has no data rows"),
    ],
)
def test_a_file_that_cannot_be_read_is_one_clear_error(
    tmp_path: Path,
    content: bytes,
    message: str,
) -> None:
    path = tmp_path / "input.csv"
    path.write_bytes(content)
    with pytest.raises(ImportFileError) as caught:
        read_import_file(path, now=NOW)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_a_missing_file_and_a_forced_format(tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="cannot be read"):
        read_import_file(tmp_path / "absent.csv")
    path = tmp_path / "rows.jsonl"
    path.write_text(samples.jsonl_text(), encoding="utf-8")
    with pytest.raises(ImportFileError, match="neither CSV"):
        read_import_file(path, "csv", now=NOW)


def test_received_at_must_be_a_time_within_the_import_window(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A number or a far year is never a time; history reaches back three years unless
    CSFLOW_IMPORT_MAX_AGE_DAYS says otherwise (issue 14)."""
    rows = [samples.good_row(i) for i in range(1, 5)]
    rows[1]["received_at"] = "0"
    rows[2]["received_at"] = "9999-12-31T23:59:59-12:00"
    rows[3]["received_at"] = (NOW - timedelta(days=4 * 365)).isoformat()
    path = tmp_path / "old.csv"
    path.write_text(samples.csv_of(rows), encoding="utf-8")
    bad = {b.line: b.reason for b in read_import_file(path, now=NOW).bad}
    assert sorted(bad) == [3, 4, 5]
    assert "not a number" in bad[3] and "between 2000-01-01 and 2100-01-01" in bad[4]
    assert bad[5] == "received_at: is more than 1098 days ago"
    monkeypatch.setenv("CSFLOW_IMPORT_MAX_AGE_DAYS", "2000")
    assert sorted(b.line for b in read_import_file(path, now=NOW).bad) == [3, 4]
