"""The flat CSV view of `RequestIntake`: one column per leaf field.

People fill these files in a spreadsheet during an outage, so a nested JSON shape has to
become a flat header. The rule is mechanical — the dotted path with `_` for `.`
(`customer.contact.phone` → `customer_contact_phone`) — so the JSON Lines format and the
CSV format name the same field in the same way, and a reason printed for one is readable
for the other. Headers written with dots are accepted for the same reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["text", "list"]

LIST_SEPARATOR = ";"  # commas would need quoting in every spreadsheet cell


@dataclass(frozen=True)
class Column:
    name: str
    path: tuple[str, ...]
    kind: Kind = "text"
    required: bool = False
    help: str = ""


COLUMNS: tuple[Column, ...] = (
    Column(
        "external_id",
        ("external_id",),
        required=True,
        help="your own id for the row (letters, digits, _.:@-); the key that makes a "
        "re-run import each row once",
    ),
    Column(
        "received_at",
        ("received_at",),
        required=True,
        help="original time of receipt with its zone, e.g. 2026-11-20T09:30:00+08:00; "
        "the SLA clocks count from it",
    ),
    Column("customer_id", ("customer", "id"), required=True),
    Column("customer_name", ("customer", "name"), required=True),
    Column("customer_tier", ("customer", "tier"), help="vip or regular (default)"),
    Column(
        "customer_contact_phone",
        ("customer", "contact", "phone"),
        help="phone or email: at least one of the two",
    ),
    Column("customer_contact_email", ("customer", "contact", "email")),
    Column("customer_language", ("customer", "language"), help="zh-CN (default) or en"),
    Column(
        "customer_preferred_channels",
        ("customer", "preferred_channels"),
        "list",
        help="email;sms;phone in order of preference",
    ),
    Column(
        "customer_quiet_hours",
        ("customer", "quiet_hours"),
        "list",
        help="start;end local time, e.g. 21:00;09:00",
    ),
    Column(
        "customer_time_zone",
        ("customer", "time_zone"),
        help="IANA zone, e.g. Europe/Berlin; the calendar's zone when empty",
    ),
    Column("channel", ("channel",), required=True, help="phone, chat, email, app, social or web"),
    Column(
        "category",
        ("category",),
        required=True,
        help="consultation, complaint, suggestion or after_sales",
    ),
    Column("sub_type", ("sub_type",)),
    Column("priority", ("priority",), help="P1, P2 or P3 (default)"),
    Column(
        "description", ("description",), required=True, help="the customer's own words, verbatim"
    ),
    Column("expected_resolution_at", ("expected_resolution_at",), help="with its zone"),
    Column("order_number", ("order_number",)),
    Column("amount_in_dispute", ("amount_in_dispute",), help="e.g. 199.90"),
    Column("department", ("department",)),
    Column("recorded_by_id", ("recorded_by", "id"), help="who took the request by hand"),
    Column("recorded_by_role", ("recorded_by", "role"), help="their role, e.g. agent"),
    Column("related_to", ("related_to",), "list", help="earlier request numbers, ;-separated"),
)

BY_NAME = {c.name: c for c in COLUMNS}
CONTACT_COLUMNS = ("customer_contact_phone", "customer_contact_email")


def normalise_header(cell: str) -> str:
    return cell.strip().lower().replace(".", "_")


def row_to_data(header: list[Column], cells: list[str]) -> dict[str, Any]:
    """Build the nested intake dict; empty cells are absent so the model's defaults apply.

    `customer` and its `contact` always exist, so a row missing both phone and email gets
    the model's own "give at least one of phone or email" rather than "contact: required".
    """
    data: dict[str, Any] = {"customer": {"contact": {}}}
    for column, cell in zip(header, cells, strict=False):
        value = cell.strip()
        if not value:
            continue
        target = data
        for part in column.path[:-1]:
            target = target.setdefault(part, {})
        if column.kind == "list":
            target[column.path[-1]] = [v.strip() for v in value.split(LIST_SEPARATOR) if v.strip()]
        else:
            target[column.path[-1]] = value
    return data


def field_name(loc: tuple[str | int, ...], fmt: Literal["csv", "jsonl"]) -> str:
    """How a reason names a field: the column for CSV, the dotted path for JSON Lines."""
    parts = [p for p in loc if isinstance(p, str)]
    if fmt == "jsonl":
        out = ""
        for p in loc:
            out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
        return out or "(row)"
    name = "_".join(parts)
    if name in BY_NAME or not name:
        return name or "(row)"
    # A whole group (customer_contact): name the columns that make it up.
    members = [c.name for c in COLUMNS if c.name.startswith(name + "_")]
    return "/".join(members) if members else name


def flatten(data: dict[str, Any], prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    """Leaf paths of an intake dump, to say in which fields two duplicate rows differ."""
    out: dict[tuple[str, ...], Any] = {}
    for key, value in data.items():
        path = (*prefix, key)
        if isinstance(value, dict):
            out.update(flatten(value, path))
        else:
            out[path] = value
    return out
