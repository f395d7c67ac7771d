"""Queries on requests and their timeline. Every write is keyed so a repeat is a no-op.

Here: request numbers and external ids, and the reads. The write of a request's row and
events, with its salvage, is `persist.py`."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg

from csflow.contracts import Plan, RequestState, RequestView
from csflow.domain.clocks import Clock
from csflow.domain.codes import Channel
from csflow.domain.events import EventKind
from csflow.domain.numbering import format_number
from csflow.store.listing import timeline_event

if TYPE_CHECKING:
    Pool: TypeAlias = asyncpg.Pool[Any]


async def allocate_serial(pool: Pool, day: date, channel: Channel) -> int:
    """Next daily serial for (day, channel): one atomic upsert, so callers never clash."""
    serial: int = await pool.fetchval(
        """INSERT INTO request_counters (day, channel, last_serial) VALUES ($1, $2, 1)
           ON CONFLICT (day, channel)
           DO UPDATE SET last_serial = request_counters.last_serial + 1
           RETURNING last_serial""",
        day,
        channel.value,
    )
    return serial


async def issue_number(
    pool: Pool, day: date, channel: Channel, external_id: str | None
) -> tuple[str, bool]:
    """The number for a new request, and whether its external id had one already.

    With an external id the first number bound to it wins, even when two creates race:
    the loser's serial stays unused (numbers are unique and ordered, not gapless).
    """
    if external_id is not None:
        known = await number_for_external_id(pool, external_id)
        if known is not None:
            return known, True
    number = format_number(day, channel, await allocate_serial(pool, day, channel))
    if external_id is None:
        return number, False
    claimed = await claim_external_id(pool, external_id, number)
    return claimed, claimed != number


async def claim_external_id(pool: Pool, external_id: str, number: str) -> str:
    """Bind the caller's id to `number`, or return the number it was bound to before."""
    row = await pool.fetchrow(
        """INSERT INTO request_keys (external_id, number) VALUES ($1, $2)
           ON CONFLICT (external_id) DO NOTHING RETURNING number""",
        external_id,
        number,
    )
    if row is not None:
        return str(row["number"])
    existing: str = await pool.fetchval(
        "SELECT number FROM request_keys WHERE external_id = $1", external_id
    )
    return existing


async def number_for_external_id(pool: Pool, external_id: str) -> str | None:
    number: str | None = await pool.fetchval(
        "SELECT number FROM request_keys WHERE external_id = $1", external_id
    )
    return number


async def earlier_requests(
    pool: Pool, customer_id: str, category: str, since: datetime, until: datetime, number: str
) -> list[str]:
    """The same customer's requests of one category in a window: repeat detection."""
    rows = await pool.fetch(
        """SELECT number FROM requests
           WHERE customer_id = $1 AND category = $2 AND received_at >= $3
             AND received_at <= $4 AND number <> $5
           ORDER BY received_at""",
        customer_id,
        category,
        since,
        until,
        number,
    )
    return [r["number"] for r in rows]


async def get_request(pool: Pool, number: str) -> RequestView | None:
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM requests WHERE number = $1", number)
        if row is None:
            return None
        events = await conn.fetch(
            "SELECT * FROM request_events WHERE number = $1 ORDER BY seq", number
        )
    timeline = [timeline_event(e) for e in events]
    state = RequestState(
        number=row["number"],
        status=row["status"],
        priority=row["priority"],
        category=row["category"],
        channel=row["channel"],
        tier=row["customer_tier"],
        customer_id=row["customer_id"],
        received_at=row["received_at"],
        assignee=row["assignee"],
        plan=Plan.model_validate(row["plan"]) if row["plan"] else None,
        eta=row["eta"],
        clocks=[Clock.model_validate(c) for c in row["clocks"]],
        sla_state=row["sla_state"],
        next_deadline=row["next_deadline"],
        rehandle_count=row["rehandle_count"],
        closed_at=row["closed_at"],
        persisted_seq=row["version"],
        policy_version=row["policy_version"],
        sla_cycle=row["sla_cycle"],
        awaiting_customer=row["awaiting_customer"],
        delayed=row["delayed"],
        escalated_to=row["escalated_to"],
        department=row["department"],
        flags=row["flags"],
        repeat_of=row["repeat_of"],
        compensation=row["compensation"],
        follow_up=row["follow_up"],
        team=row["team"],
        queued=row["queued"],
        timeline=timeline,
        # The tasks the request opened, in order: each `improvement_opened` names its own.
        improvements=[
            str(e.data["task_id"])
            for e in timeline
            if e.kind == EventKind.IMPROVEMENT_OPENED and e.data.get("task_id")
        ],
    )
    return RequestView.of(state)
