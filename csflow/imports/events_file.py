"""The events of CSV-imported requests, in a CSV file of their own (`csflow import
requests.csv --events events.csv`).

A spreadsheet has one row per request and cannot nest a list, so what happened to each
request is a second sheet: one row per event, tied to its request by `external_id`, in
the order they happened. Each row becomes the same event object a JSON Lines row carries
inline (csflow/imports/history.py checks both alike); problems name this file's line and
its column.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from csflow.imports.columns import LIST_SEPARATOR, normalise_header

# column → where it goes in the event object, and its kind
EVENT_COLUMNS: dict[str, tuple[tuple[str, ...], str]] = {
    "external_id": (("external_id",), "text"),
    "kind": (("kind",), "text"),
    "at": (("at",), "text"),
    "actor_id": (("actor", "id"), "text"),
    "actor_role": (("actor", "role"), "text"),
    "note": (("note",), "text"),
    "measures": (("measures",), "list"),
    "eta": (("eta",), "text"),
    "owner": (("owner",), "text"),
    "department": (("department",), "text"),
    "summary": (("summary",), "text"),
    "cause": (("cause",), "text"),
    "responsible_department": (("responsible_department",), "text"),
    "satisfied": (("satisfied",), "flag"),
    "reason": (("reason",), "text"),
    "evidence_ref": (("evidence_ref",), "text"),
    "score": (("score",), "text"),
    "nps": (("nps",), "text"),
    "praise": (("praise",), "text"),
    "suggestion": (("suggestion",), "text"),
    "problem": (("problem",), "text"),
    "needs_action": (("needs_action",), "flag"),
    "method": (("method",), "text"),
}
REQUIRED = ("external_id", "kind", "at")
_YES = frozenset({"yes", "y", "true", "1", "是"})
_NO = frozenset({"no", "n", "false", "0", "否"})


class EventsFileError(Exception):
    """The events file as a whole cannot be read; nothing is imported."""


@dataclass
class EventsFile:
    source: str
    # external id → (line, event object) in file order
    by_id: dict[str, list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    # (line, external id or None, reason) of rows that belong to no request
    bad: list[tuple[int, str | None, str]] = field(default_factory=list)


def read_events_file(path: Path, text: str) -> EventsFile:
    out = EventsFile(source=path.name)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [normalise_header(c) for c in next(reader)]
    except (csv.Error, StopIteration) as err:
        raise EventsFileError(f"line 1: not a CSV header row ({err})") from None
    while header and not header[-1]:
        header.pop()
    unknown = [n or "(unnamed)" for n in header if n not in EVENT_COLUMNS]
    if unknown:
        raise EventsFileError(
            f"line 1: unknown column(s) {', '.join(unknown)}; columns are "
            + ", ".join(EVENT_COLUMNS)
        )
    missing = [n for n in REQUIRED if n not in header]
    if missing:
        raise EventsFileError(f"line 1: missing column(s) {', '.join(missing)}")
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return out
        except csv.Error as err:
            out.bad.append((line, None, f"{out.source} line {line}: not valid CSV ({err})"))
            continue
        if not any(c.strip() for c in cells):
            continue
        if any(c.strip() for c in cells[len(header) :]):
            out.bad.append(
                (line, None, f"{out.source} line {line}: more cells than the header has columns")
            )
            continue
        event = _event(header, cells)
        external_id = event.pop("external_id", None)
        if not isinstance(external_id, str):
            out.bad.append((line, None, f"{out.source} line {line}: external_id: required"))
            continue
        out.by_id.setdefault(external_id, []).append((line, event))


def _event(header: list[str], cells: list[str]) -> dict[str, Any]:
    event: dict[str, Any] = {}
    for name, cell in zip(header, cells, strict=False):
        value = cell.strip()
        if not value:
            continue
        path, kind = EVENT_COLUMNS[name]
        target = event
        for part in path[:-1]:
            target = target.setdefault(part, {})
        if kind == "list":
            target[path[-1]] = [v.strip() for v in value.split(LIST_SEPARATOR) if v.strip()]
        elif kind == "flag" and value.casefold() in _YES | _NO:
            target[path[-1]] = value.casefold() in _YES
        else:
            target[path[-1]] = value  # a flag that is neither: the model says "true or false"
    return event


def column_of(loc: tuple[str | int, ...]) -> str:
    """The events file's column for a field path of an event (`actor.id` → `actor_id`)."""
    name = "_".join(p for p in loc if isinstance(p, str))
    return name if name in EVENT_COLUMNS else (name or "(row)")
