"""Queries on requests and their timeline. Every write is keyed so a repeat is a no-op."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg

from csflow.activity_io import RecordEvents
from csflow.contracts import Actor, Plan, RequestState, RequestView, TimelineEvent
from csflow.crypto import at_rest
from csflow.domain.clocks import Clock
from csflow.domain.codes import Channel
from csflow.domain.numbering import format_number

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    Pool: TypeAlias = asyncpg.Pool[Any]
    Conn: TypeAlias = asyncpg.Connection[Any] | PoolConnectionProxy[Any]


async def allocate_serial(pool: Pool, day: date, channel: Channel) -> int:
    """Next daily serial for (day, channel): one atomic upsert, so callers never clash."""
    serial: int = await pool.fetchval(
        """INSERT INTO request_counters (day, channel, last_serial) VALUES ($1, $2, 1)
           ON CONFLICT (day, channel)
           DO UPDATE SET last_serial = request_counters.last_serial + 1
           RETURNING last_serial""",
        day, channel.value,
    )
    return serial


async def issue_number(pool: Pool, day: date, channel: Channel,
                       external_id: str | None) -> tuple[str, bool]:
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
        external_id, number,
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


async def record_events(pool: Pool, batch: RecordEvents) -> int:
    """Write the request row and a batch of events atomically; return events newly inserted.

    The row only moves forward: an update carrying an older version (a late retry) is
    ignored, so a re-run activity can never roll the request back.
    """
    s = batch.state
    version = batch.events[-1].seq if batch.events else s.persisted_seq
    # Personal data is sealed with the customer's key before the transaction (at_rest).
    customer_id = batch.intake.customer.id if batch.intake is not None else s.customer_id
    reasons, datas, sealed = await at_rest.seal_timeline(pool, customer_id, batch.events)
    if batch.intake is not None:
        person, phone_index, email_index = await at_rest.seal_customer(
            pool, customer_id, batch.intake.customer.name,
            batch.intake.customer.contact.model_dump(mode="json", exclude_none=True),
            batch.intake.description)
    async with pool.acquire() as conn, conn.transaction():
        if batch.intake is not None:
            i = batch.intake
            external_id = await _bind_external_id(conn, i.external_id, s.number)
            await conn.execute(
                """INSERT INTO requests (number, external_id, customer_id, customer_sealed,
                       phone_index, customer_tier, channel, category, sub_type, email_index,
                       expected_resolution_at, order_number, amount_in_dispute, department,
                       received_at, status, priority, assignee, sla_state, next_deadline, clocks,
                       plan, eta, rehandle_count, closed_at, policy_version, related_to, version)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                           $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, 0)
                   ON CONFLICT (number) DO NOTHING""",
                s.number, external_id, i.customer.id, person, phone_index,
                i.customer.tier.value, i.channel.value, i.category.value, i.sub_type,
                email_index, i.expected_resolution_at, i.order_number, i.amount_in_dispute,
                i.department, s.received_at, s.status.value, s.priority.value, s.assignee,
                s.sla_state.value, s.next_deadline, _clocks_json(s), _plan_json(s), s.eta,
                s.rehandle_count, s.closed_at, s.policy_version, i.related_to,
            )
        await conn.execute(
            """UPDATE requests SET status = $2, priority = $3, assignee = $4, sla_state = $5,
                   next_deadline = $6, clocks = $7, plan = $8, eta = $9, rehandle_count = $10,
                   closed_at = $11, version = $12, sla_cycle = $13, awaiting_customer = $14,
                   delayed = $15, escalated_to = $16, flags = $17, repeat_of = $18,
                   compensation = $19, department = COALESCE($20, department),
                   follow_up = $21, updated_at = now()
               WHERE number = $1 AND version < $12""",
            s.number, s.status.value, s.priority.value, s.assignee, s.sla_state.value,
            s.next_deadline, _clocks_json(s), _plan_json(s), s.eta, s.rehandle_count,
            s.closed_at, version, s.sla_cycle, s.awaiting_customer, s.delayed, s.escalated_to,
            s.flags, s.repeat_of,
            s.compensation.model_dump(mode="json") if s.compensation else None, s.department,
            s.follow_up.model_dump(mode="json") if s.follow_up else None,
        )
        events = batch.events
        inserted = await conn.fetch(
            """INSERT INTO request_events (number, seq, at, kind, actor_id, actor_role,
                   status_from, status_to, reason, data, sealed)
               SELECT $1, * FROM unnest($2::int[], $3::timestamptz[], $4::text[], $5::text[],
                   $6::text[], $7::text[], $8::text[], $9::text[], $10::jsonb[], $11::bytea[])
               ON CONFLICT (number, seq) DO NOTHING
               RETURNING seq""",
            s.number,
            [e.seq for e in events],
            [e.at for e in events],
            [e.kind for e in events],
            [e.actor.id for e in events],
            [e.actor.role.value for e in events],
            [e.status_from.value if e.status_from else None for e in events],
            [e.status_to.value if e.status_to else None for e in events],
            reasons,
            datas,
            sealed,
        )
    return len(inserted)


async def _bind_external_id(conn: Conn, external_id: str | None, number: str) -> str | None:
    """The external id to store on the request row, or None if another request owns it.

    The Python client claims the id before it starts a workflow; a caller that starts the
    workflow itself (docs/contract.md) has claimed nothing, and its id may already belong
    to another request. Claiming it here keeps `requests.external_id` unique without ever
    refusing the write — a refused write would leave the request's events pending forever.
    """
    if external_id is None:
        return None
    await conn.execute(
        """INSERT INTO request_keys (external_id, number) VALUES ($1, $2)
           ON CONFLICT DO NOTHING""",
        external_id, number,
    )
    owner: str | None = await conn.fetchval(
        "SELECT number FROM request_keys WHERE external_id = $1", external_id)
    return external_id if owner == number else None


async def earlier_requests(pool: Pool, customer_id: str, category: str, since: datetime,
                           until: datetime, number: str) -> list[str]:
    """The same customer's requests of one category in a window: repeat detection."""
    rows = await pool.fetch(
        """SELECT number FROM requests
           WHERE customer_id = $1 AND category = $2 AND received_at >= $3
             AND received_at <= $4 AND number <> $5
           ORDER BY received_at""",
        customer_id, category, since, until, number)
    return [r["number"] for r in rows]


async def get_request(pool: Pool, number: str) -> RequestView | None:
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM requests WHERE number = $1", number)
        if row is None:
            return None
        events = await conn.fetch(
            "SELECT * FROM request_events WHERE number = $1 ORDER BY seq", number
        )
    state = RequestState(
        number=row["number"], status=row["status"], priority=row["priority"],
        category=row["category"], channel=row["channel"], tier=row["customer_tier"],
        customer_id=row["customer_id"], received_at=row["received_at"], assignee=row["assignee"],
        plan=Plan.model_validate(row["plan"]) if row["plan"] else None, eta=row["eta"],
        clocks=[Clock.model_validate(c) for c in row["clocks"]], sla_state=row["sla_state"],
        next_deadline=row["next_deadline"], rehandle_count=row["rehandle_count"],
        closed_at=row["closed_at"], persisted_seq=row["version"],
        policy_version=row["policy_version"], sla_cycle=row["sla_cycle"],
        awaiting_customer=row["awaiting_customer"], delayed=row["delayed"],
        escalated_to=row["escalated_to"], department=row["department"], flags=row["flags"],
        repeat_of=row["repeat_of"], compensation=row["compensation"],
        follow_up=row["follow_up"],
        timeline=[_event(e) for e in events],
    )
    return RequestView.of(state)


def _event(r: asyncpg.Record) -> TimelineEvent:
    return TimelineEvent(
        seq=r["seq"], at=r["at"], kind=r["kind"],
        actor=Actor(id=r["actor_id"], role=r["actor_role"]),
        status_from=r["status_from"], status_to=r["status_to"], reason=r["reason"],
        data=r["data"],
    )


def _clocks_json(s: RequestState) -> list[dict[str, Any]]:
    return [c.model_dump(mode="json") for c in s.clocks]


def _plan_json(s: RequestState) -> dict[str, Any] | None:
    return s.plan.model_dump(mode="json") if s.plan else None

