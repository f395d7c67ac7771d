"""Finding requests: a filtered, keyset-paginated list and a request's timeline.

Pages are keyed on (received_at, number), never on an OFFSET: a request created or
closed while someone pages through the list neither repeats a row nor skips one, and a
deep page costs the same as the first. The order is newest first with the number as the
tie-break, because bulk imports give many requests the same original timestamp.

The summary row carries codes and timestamps only — no customer name or contact — so a
list can be shown to anyone allowed to read requests without a personal-data read to
audit.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias

from pydantic import Field, model_validator

from csflow.contracts import Actor, AwareDatetime, Model, TimelineEvent
from csflow.domain.codes import Category, Channel, Priority, SlaState
from csflow.domain.lifecycle import Status

if TYPE_CHECKING:
    import asyncpg

    Pool: TypeAlias = asyncpg.Pool[Any]

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT, description="Rows per page (1–200).")]


class InvalidCursor(ValueError):
    """A cursor that this module did not hand out (or that was cut short in transit)."""


class RequestFilter(Model):
    """What to list; every given criterion must hold, repeated values of one mean "any of".

    `received_to` is exclusive, so consecutive windows (one day, the next day) never
    count a request twice.
    """

    status: list[Status] = Field(default_factory=list)
    priority: list[Priority] = Field(default_factory=list)
    sla_state: list[SlaState] = Field(default_factory=list)
    category: list[Category] = Field(default_factory=list)
    channel: list[Channel] = Field(default_factory=list)
    assignee: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    received_from: AwareDatetime | None = Field(
        default=None, description="Received at or after this instant."
    )
    received_to: AwareDatetime | None = Field(
        default=None, description="Received before this instant."
    )
    q: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        default=None, description="Part of the request number, e.g. 20261123-TEL."
    )

    @model_validator(mode="after")
    def _window(self) -> RequestFilter:
        if self.received_from and self.received_to and self.received_from >= self.received_to:
            raise ValueError("received_from must be before received_to")
        return self


class RequestSummary(Model):
    """One list row: enough to triage and open the request, nothing personal."""

    number: str
    status: Status
    priority: Priority
    category: Category
    channel: Channel
    assignee: str | None
    sla_state: SlaState
    next_deadline: datetime | None
    received_at: datetime
    updated_at: datetime


class RequestPage(Model):
    items: list[RequestSummary]
    next_cursor: str | None = Field(
        default=None,
        description="Pass it back as `cursor` for the next page; absent on the last page.",
    )


def encode_cursor(received_at: datetime, number: str) -> str:
    """Opaque to callers so the key can change without breaking them; URL-safe so it
    travels in a query string unescaped."""
    raw = json.dumps([received_at.isoformat(), number], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, number = json.loads(raw)
        received_at = datetime.fromisoformat(at)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise InvalidCursor("cursor is not one this API handed out") from None
    if received_at.tzinfo is None or not isinstance(number, str):
        raise InvalidCursor("cursor is not one this API handed out")
    return received_at, number


_COLUMNS = (
    "number, status, priority, category, channel, assignee, sla_state, "
    "next_deadline, received_at, updated_at"
)


def like_fragment(text: str) -> str:
    """`q` is matched literally: LIKE's wildcards in it are escaped, not obeyed."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def list_requests(
    pool: Pool, where: RequestFilter, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None
) -> RequestPage:
    """One page, newest first. Only placeholders are formatted into the SQL text."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
    conditions: list[str] = []
    args: list[Any] = []

    def bind(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    for column, values in (
        ("status", where.status),
        ("priority", where.priority),
        ("sla_state", where.sla_state),
        ("category", where.category),
        ("channel", where.channel),
    ):
        if values:
            conditions.append(f"{column} = ANY({bind([v.value for v in values])}::text[])")
    if where.assignee is not None:
        conditions.append(f"assignee = {bind(where.assignee)}")
    if where.received_from is not None:
        conditions.append(f"received_at >= {bind(where.received_from)}")
    if where.received_to is not None:
        conditions.append(f"received_at < {bind(where.received_to)}")
    if where.q is not None:
        conditions.append(f"number ILIKE {bind(like_fragment(where.q))}")
    if cursor is not None:
        after_at, after_number = decode_cursor(cursor)
        conditions.append(f"(received_at, number) < ({bind(after_at)}, {bind(after_number)})")
    sql = (
        f"SELECT {_COLUMNS} FROM requests"
        + (f" WHERE {' AND '.join(conditions)}" if conditions else "")
        + f" ORDER BY received_at DESC, number DESC LIMIT {bind(limit + 1)}"
    )
    rows = await pool.fetch(sql, *args)
    items = [RequestSummary.model_validate(dict(r)) for r in rows[:limit]]
    more = len(rows) > limit
    last = items[-1] if items else None
    return RequestPage(
        items=items,
        next_cursor=encode_cursor(last.received_at, last.number) if more and last else None,
    )


async def request_exists(pool: Pool, number: str) -> bool:
    found: bool = await pool.fetchval(
        "SELECT EXISTS (SELECT 1 FROM requests WHERE number = $1)", number
    )
    return found


async def timeline(pool: Pool, number: str) -> list[TimelineEvent]:
    """The audited events in order; empty both for an unknown number and for a request
    whose intake is not written yet — `request_exists` tells them apart."""
    rows = await pool.fetch(
        """SELECT seq, at, kind, actor_id, actor_role, status_from, status_to, reason, data
           FROM request_events WHERE number = $1 ORDER BY seq""",
        number,
    )
    return [timeline_event(r) for r in rows]


def timeline_event(r: asyncpg.Record) -> TimelineEvent:
    """A `request_events` row (seq, at, kind, actor, status move, reason, data) as the
    event the API shows — one mapping for the timeline and the persisted view."""
    return TimelineEvent(
        seq=r["seq"],
        at=r["at"],
        kind=r["kind"],
        actor=Actor(id=r["actor_id"], role=r["actor_role"]),
        status_from=r["status_from"],
        status_to=r["status_to"],
        reason=r["reason"],
        data=r["data"],
    )
