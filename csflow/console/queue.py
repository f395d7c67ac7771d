"""The console's queues: open requests from the API's own listing, soonest deadline first.

Rows come from csflow.store.listing — the code behind GET /requests, with its filter
model and validation — read a page of 200 at a time until the filter is exhausted, then
ordered by next deadline here (the listing pages newest first). One more indexed query
adds what the summary row leaves out and the queue shows: the flags (upset customer,
delayed, waiting on the customer, escalated, repeat complaint). No personal data is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from csflow.contracts import Model
from csflow.domain.codes import Category, Channel, Priority
from csflow.domain.lifecycle import Status
from csflow.store.listing import MAX_LIMIT, RequestFilter, RequestSummary, list_requests

OPEN = [s for s in Status if not s.terminal]
Flag = Literal["soothe_first", "delayed", "awaiting_customer", "escalated", "repeat"]
FLAGS: tuple[Flag, ...] = ("soothe_first", "delayed", "awaiting_customer", "escalated", "repeat")
SHOWN = 300  # rows drawn; the count says how many more the filter matched


class QueueFilter(Model):
    """The queue page's query string; repeated values mean "any of", like GET /requests."""

    status: list[Status] = Field(default_factory=list)
    priority: list[Priority] = Field(default_factory=list)
    category: list[Category] = Field(default_factory=list)
    channel: list[Channel] = Field(default_factory=list)
    flag: list[Flag] = Field(default_factory=list)
    q: Annotated[str, Field(min_length=1, max_length=64)] | None = None

    def listing(self, assignee: str | None) -> RequestFilter:
        return RequestFilter(
            status=self.status or OPEN,
            priority=self.priority,
            category=self.category,
            channel=self.channel,
            assignee=assignee,
            q=self.q,
        )


@dataclass(frozen=True)
class QueueRow:
    item: RequestSummary
    flags: tuple[str, ...]
    seconds_left: float | None

    @property
    def upset(self) -> bool:
        return "soothe_first" in self.flags


@dataclass(frozen=True)
class Queue:
    rows: list[QueueRow]
    total: int


async def load_queue(
    pool: Any, f: QueueFilter, *, assignee: str | None, now: datetime | None = None
) -> Queue:
    now = now or datetime.now(UTC)
    where = f.listing(assignee)
    items: list[RequestSummary] = []
    cursor: str | None = None
    while True:
        page = await list_requests(pool, where, limit=MAX_LIMIT, cursor=cursor)
        items += page.items
        cursor = page.next_cursor
        if cursor is None:
            break
    flags = await _flags(pool, [i.number for i in items])
    rows = [
        QueueRow(
            i,
            flags.get(i.number, ()),
            (i.next_deadline - now).total_seconds() if i.next_deadline else None,
        )
        for i in items
    ]
    if f.flag:
        wanted = set(f.flag)
        rows = [r for r in rows if wanted & set(r.flags)]
    rows.sort(
        key=lambda r: (r.item.next_deadline is None, r.item.next_deadline or now, r.item.number)
    )
    return Queue(rows[:SHOWN], len(rows))


async def _flags(pool: Any, numbers: list[str]) -> dict[str, tuple[str, ...]]:
    if not numbers:
        return {}
    found = await pool.fetch(
        """SELECT number, flags, delayed, awaiting_customer, escalated_to, repeat_of
           FROM requests WHERE number = ANY($1::text[])""",
        numbers,
    )
    out: dict[str, tuple[str, ...]] = {}
    for r in found:
        names = [f for f in (r["flags"] or []) if f == "soothe_first"]
        names += [
            name
            for name, on in (
                ("delayed", r["delayed"]),
                ("awaiting_customer", r["awaiting_customer"]),
                ("escalated", r["escalated_to"] is not None),
                ("repeat", bool(r["repeat_of"])),
            )
            if on
        ]
        out[r["number"]] = tuple(names)
    return out


async def version(pool: Any, number: str | None = None) -> str:
    """A cheap token that changes whenever anything a console page shows changes: the
    queue's (any request written, or one more request) or one request's (its row's
    version, and its improvement tasks)."""
    if number is None:
        row = await pool.fetchrow("SELECT count(*) AS n, max(updated_at) AS at FROM requests")
        return f"q{row['n']}-{row['at'].timestamp() if row['at'] else 0}"
    row = await pool.fetchrow(
        """SELECT r.version, r.updated_at,
                  (SELECT max(updated_at) FROM improvement_tasks t WHERE t.number = r.number)
                    AS tasks
           FROM requests r WHERE r.number = $1""",
        number,
    )
    if row is None:
        return "none"
    tasks = row["tasks"].timestamp() if row["tasks"] else 0
    return f"r{row['version']}-{row['updated_at'].timestamp()}-{tasks}"
