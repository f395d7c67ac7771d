"""Reading an import file into validated intakes, bad rows and in-file duplicates.

The whole file is checked before anything is created, so the operator sees every problem
of a hand-made file at once and the progress bar knows its total. Problems of one row
never stop the others; only a file that cannot be read as a whole (wrong encoding, not
CSV or JSON Lines, a header we do not understand) is refused, because then no row can be
trusted to mean what its author meant.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from csflow.contracts import RequestIntake, window_problems
from csflow.contracts.bounds import IMPORT_RECEIVED_BACK
from csflow.imports.columns import (
    BY_NAME,
    COLUMNS,
    CONTACT_COLUMNS,
    Column,
    field_name,
    flatten,
    normalise_header,
    row_to_data,
)
from csflow.imports.events_file import EventsFile, EventsFileError, column_of, read_events_file
from csflow.imports.history import RecordedEvent, read_events

Format = Literal["csv", "jsonl"]
FORMATS: tuple[Format, ...] = ("csv", "jsonl")


_REQUIRED_FOR_IMPORT = {
    "external_id": "required for imports (the key that keeps a re-run from creating the "
    "request twice)",
    "received_at": "required for imports (the original time of receipt; SLA clocks count from it)",
}
_ORDER = {c.name: i for i, c in enumerate(COLUMNS)}


class ImportFileError(Exception):
    """The file as a whole cannot be imported; nothing was created from it."""


@dataclass(frozen=True)
class ImportRow:
    line: int
    intake: RequestIntake
    # What happened to it by hand, in order: replayed as commands dated `at`.
    events: tuple[RecordedEvent, ...] = ()

    @property
    def external_id(self) -> str:
        # Guaranteed by validation: imports refuse rows without one.
        assert self.intake.external_id is not None
        return self.intake.external_id


@dataclass(frozen=True)
class RowProblem:
    line: int
    external_id: str | None
    reason: str


@dataclass(frozen=True)
class Duplicate:
    line: int
    external_id: str
    first_line: int
    differs: tuple[str, ...] = ()

    @property
    def reason(self) -> str:
        text = (
            f"duplicate of line {self.first_line} (same external_id); only the first "
            "row with an external_id is imported"
        )
        if self.differs:
            text += f"; this row differs in {', '.join(self.differs)}"
        return text


@dataclass
class ParsedFile:
    source: str
    format: Format
    rows: list[ImportRow] = field(default_factory=list)
    bad: list[RowProblem] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Data rows in the file (blank lines are not rows)."""
        return len(self.rows) + len(self.bad) + len(self.duplicates)


def max_age() -> timedelta:
    """How far back an imported `received_at` may reach: `CSFLOW_IMPORT_MAX_AGE_DAYS`
    (default 1098, three years) — further than a live caller's 31 days, because an import
    carries history, yet bounded, because a mistyped year would open a request whose
    every SLA clock fired long ago."""
    raw = os.environ.get("CSFLOW_IMPORT_MAX_AGE_DAYS", "").strip()
    if not raw:
        return IMPORT_RECEIVED_BACK
    if not raw.isdigit() or not 1 <= int(raw) <= 36_500:
        raise ImportFileError(f"CSFLOW_IMPORT_MAX_AGE_DAYS={raw!r}: give whole days, 1-36500")
    return timedelta(days=int(raw))


def read_import_file(
    path: Path,
    fmt: Format | None = None,
    *,
    now: datetime | None = None,
    events: Path | None = None,
) -> ParsedFile:
    """Read, decode, detect the format (unless given) and validate every row; `events`:
    a CSV of the rows' recorded events (csflow/imports/events_file.py)."""
    sheet = None
    if events is not None:
        try:
            sheet = read_events_file(events, decode(_bytes(events)))
        except (ImportFileError, EventsFileError) as err:
            raise ImportFileError(f"{events}: {err}") from None
    try:
        text = decode(_bytes(path))
        return parse_text(text, fmt or detect_format(text), str(path), now=now, events=sheet)
    except ImportFileError as err:
        raise ImportFileError(f"{path}: {err}") from None


def _bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise ImportFileError(f"{path}: cannot be read: {err.strerror or err}") from err


def decode(raw: bytes) -> str:
    """UTF-8 with or without a BOM — what spreadsheet programs write when asked for UTF-8."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ImportFileError("is UTF-16 text; save it as UTF-8 (CSV UTF-8 in a spreadsheet)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise ImportFileError(
            f"is not UTF-8 text (byte 0x{raw[err.start]:02x} on line {line}); save it as "
            "UTF-8 (GBK and other legacy encodings are not read)"
        ) from None
    if "\x00" in text:
        raise ImportFileError("contains NUL bytes: not a text file (UTF-16 without a BOM?)")
    if not text.strip():
        raise ImportFileError("is empty")
    return text


def detect_format(text: str) -> Format:
    """By content, not by name: files recorded by hand get renamed and mislabelled."""
    first = next((line.strip() for line in text.split("\n") if line.strip()), "")
    if first.startswith("{"):
        return "jsonl"
    if first.startswith("["):
        raise ImportFileError("is a JSON array; write one JSON object per line (JSON Lines)")
    return "csv"


def parse_text(
    text: str,
    fmt: Format,
    source: str,
    *,
    now: datetime | None = None,
    received_back: timedelta | None = None,
    events: EventsFile | None = None,
) -> ParsedFile:
    now = now or datetime.now(UTC)
    back = received_back or max_age()
    out = ParsedFile(source=source, format=fmt)
    records = _csv_records(text) if fmt == "csv" else _jsonl_records(text)
    first_of: dict[str, ImportRow] = {}
    seen: set[str] = set()
    for line, data in records:
        if isinstance(data, RowProblem):
            out.bad.append(data)
            continue
        if isinstance(data.get("external_id"), str):
            seen.add(data["external_id"])
        # A duplicate row does not take the events again: they are the first row's.
        sheet = events if data.get("external_id") not in first_of else None
        checked = _validate(line, data, fmt, now, back, sheet)
        if isinstance(checked, RowProblem):
            out.bad.append(checked)
            continue
        first = first_of.get(checked.external_id)
        if first is None:
            first_of[checked.external_id] = checked
            out.rows.append(checked)
        else:
            out.duplicates.append(
                Duplicate(
                    checked.line, checked.external_id, first.line, _differences(first, checked, fmt)
                )
            )
    if out.total == 0:
        raise ImportFileError("has no data rows")
    if events is not None:  # events of no request: reported, never silently dropped
        out.bad += [RowProblem(n, ext, reason) for n, ext, reason in events.bad]
        out.bad += [
            RowProblem(
                lines[0][0],
                ext,
                f"{events.source} line {lines[0][0]}: no request with this external_id "
                "in the requests file",
            )
            for ext, lines in events.by_id.items()
            if ext not in seen
        ]
    return out


# ---- CSV ----


def _csv_records(text: str) -> Iterator[tuple[int, dict[str, Any] | RowProblem]]:
    """(first physical line of the record, data) — a quoted cell may span lines."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header_cells = next(reader)
    except csv.Error as err:
        raise ImportFileError(f"line 1: the header row is not valid CSV ({err})") from None
    header = _header(header_cells)
    width = len(header)
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            yield start, RowProblem(start, None, _csv_error(err, start, reader.line_num))
            continue
        if not any(c.strip() for c in cells):
            continue  # a blank line, or a spreadsheet's row of empty cells
        extra = [c for c in cells[width:] if c.strip()]
        if extra:
            yield (
                start,
                RowProblem(
                    start,
                    _cell(header, cells, "external_id"),
                    f"has {len(cells)} cells but the header has {width} "
                    "columns (an unquoted comma in a cell?)",
                ),
            )
            continue
        yield start, row_to_data(header, cells)


def _header(cells: list[str]) -> list[Column]:
    names = [normalise_header(c) for c in cells]
    while names and not names[-1]:
        names.pop()  # spreadsheets append empty header cells
    known = [n for n in names if n in BY_NAME]
    if not known:
        raise ImportFileError(
            "is neither CSV with a csflow header row nor JSON Lines: the first line should "
            "name columns such as " + ", ".join(c.name for c in COLUMNS[:4]) + ", …"
        )
    unknown = [n or f"(unnamed column {i + 1})" for i, n in enumerate(names) if n not in BY_NAME]
    if unknown:
        raise ImportFileError(
            f"line 1: unknown column(s) {', '.join(unknown)}; "
            "see docs/import.md for the column names"
        )
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ImportFileError(f"line 1: column(s) named twice: {', '.join(repeated)}")
    missing = [c.name for c in COLUMNS if c.required and c.name not in names]
    if missing:
        raise ImportFileError(f"line 1: missing column(s) {', '.join(missing)}")
    if not any(n in names for n in CONTACT_COLUMNS):
        raise ImportFileError(f"line 1: needs a {' or '.join(CONTACT_COLUMNS)} column")
    return [BY_NAME[n] for n in names]


def _csv_error(err: csv.Error, start: int, end: int) -> str:
    if "unexpected end of data" in str(err):
        return (
            f"a quoted cell opened on this row is never closed; lines {start}–{end} "
            "could not be read"
        )
    return f"not valid CSV ({err}); the rest of line {end} was skipped"


def _cell(header: list[Column], cells: list[str], name: str) -> str | None:
    for column, cell in zip(header, cells, strict=False):
        if column.name == name:
            return cell.strip() or None
    return None


# ---- JSON Lines ----


def _jsonl_records(text: str) -> Iterator[tuple[int, dict[str, Any] | RowProblem]]:
    objects = 0
    problems: list[tuple[int, RowProblem]] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line, parse_float=Decimal)
        except json.JSONDecodeError as err:
            problems.append(
                (
                    number,
                    RowProblem(number, None, f"not valid JSON ({err.msg} at column {err.colno})"),
                )
            )
            continue
        if not isinstance(data, dict):
            problems.append((number, RowProblem(number, None, "not a JSON object")))
            continue
        objects += 1
        yield from problems
        problems.clear()
        yield number, data
    if not objects:
        raise ImportFileError(
            "is neither CSV with a csflow header row nor JSON Lines: no line holds a JSON object"
        )
    yield from problems


# ---- validation ----


def _validate(
    line: int,
    data: dict[str, Any],
    fmt: Format,
    now: datetime,
    back: timedelta,
    sheet: EventsFile | None = None,
) -> ImportRow | RowProblem:
    problems: list[tuple[tuple[str | int, ...], str]] = []
    raw_events = data.pop("events", None)
    events: tuple[RecordedEvent, ...] = ()
    in_sheet = sheet.by_id.get(str(data.get("external_id"))) if sheet is not None else None
    if in_sheet is not None and sheet is not None:
        if raw_events is not None:
            problems.append((("events",), f"given both here and in {sheet.source}"))
        raw_events = [event for _, event in in_sheet]
    named: list[str] = []  # problems of the events file, named by its line and column
    missing = {name for name in _REQUIRED_FOR_IMPORT if data.get(name) in (None, "")}
    intake: RequestIntake | None = None
    try:
        intake = RequestIntake.model_validate(data)
    except ValidationError as err:
        problems += [
            (e["loc"], _message(e))
            for e in err.errors()
            if not (e["loc"] and e["loc"][0] in missing)
        ]
    problems += [((name,), _REQUIRED_FOR_IMPORT[name]) for name in sorted(missing)]
    if intake is not None:
        problems += [
            ((name,), reason) for name, reason in window_problems(intake, now, received_back=back)
        ]
        events, found = read_events(raw_events, intake, now)
        if in_sheet is None or sheet is None:
            problems += found
        else:
            for loc, msg in found:
                index = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else None
                where = f"{sheet.source} line {in_sheet[index][0]}" if index is not None else ""
                named.append(f"{where}: {column_of(loc[2:])}: {msg}" if where else msg)
    if problems or named or intake is None:
        problems.sort(key=lambda p: _rank(p[0]))
        external_id = data.get("external_id")
        return RowProblem(
            line,
            external_id if isinstance(external_id, str) else None,
            "; ".join([*(f"{field_name(loc, fmt)}: {msg}" for loc, msg in problems), *named]),
        )
    return ImportRow(line, intake, events)


def _message(error: ErrorDetails) -> str:
    if error["type"] == "missing":
        return "required"
    if error["type"] == "extra_forbidden":
        return "unknown field"
    return error["msg"].removeprefix("Value error, ")


def _rank(loc: tuple[str | int, ...]) -> int:
    """Reasons read in column order, whatever order the model checked the fields in."""
    name = "_".join(p for p in loc if isinstance(p, str))
    if name in _ORDER:
        return _ORDER[name]
    prefixed = [i for n, i in _ORDER.items() if n.startswith(name + "_")]
    return min(prefixed) if prefixed else len(_ORDER)


def _differences(first: ImportRow, later: ImportRow, fmt: Format) -> tuple[str, ...]:
    a = flatten(first.intake.model_dump(mode="json"))
    b = flatten(later.intake.model_dump(mode="json"))
    paths = sorted((p for p in a.keys() | b.keys() if a.get(p) != b.get(p)), key=_rank)
    differs = tuple(field_name(p, fmt) for p in paths)
    return (*differs, "events") if first.events != later.events else differs
