"""The write of a request's row and timeline (the persist activity's `record_events`), and
its salvage when the database refuses it.

Separate from the reads in `requests.py` because this is the one path that writes a
request, with its own rules: every write keyed so a repeat is a no-op, the row only
moving forward, personal data sealed on the way in, and a refused write set aside part by
part as dead letters (`dead_letters.py`) rather than retried for ever (docs/security.md,
docs/performance.md).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg

from csflow.activity_io import ROW_FIELDS, RecordEvents
from csflow.contracts import RequestState, TimelineEvent
from csflow.crypto import at_rest
from csflow.store import outbox
from csflow.store.dead_letters import DeadLetter, intake_payload, payload, refusal, set_aside

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    Pool: TypeAlias = asyncpg.Pool[Any]
    Conn: TypeAlias = asyncpg.Connection[Any] | PoolConnectionProxy[Any]


# Refusals no retry can fix: the data itself is wrong — a value out of range, bytes the
# encoding cannot hold, a constraint, a value too big for an index, a trigger that raises,
# a number Python cannot hand to the driver. Connection trouble is not among them: it is
# retried, and a refusal listed here must never be, or the request waits on it for ever.
DATA_ERRORS: tuple[type[Exception], ...] = (
    asyncpg.DataError,
    asyncpg.IntegrityConstraintViolationError,
    asyncpg.exceptions.ProgramLimitExceededError,
    asyncpg.exceptions.RaiseError,
    OverflowError,
)


async def record_events(pool: Pool, batch: RecordEvents) -> int:
    """Write the request row, a batch of events and the messages they planned atomically;
    return the events newly inserted.

    The row only moves forward: an update carrying an older version (a late retry) is
    ignored, so a re-run activity can never roll the request back. The messages go to the
    outbox for the worker's dispatcher, sealed with the customer's key like the events.
    """
    s, number = batch.state, batch.request_number
    version = batch.events[-1].seq if batch.events else (s.persisted_seq if s else 0)
    sealing = await _sealing(pool, batch)  # before the transaction: it may make a key
    async with pool.acquire() as conn, conn.transaction():
        if batch.intake is not None:
            await _insert_intake(conn, batch, sealing)
        if s is not None:
            await _update_row(conn, s, version)
        else:
            await _update_changes(conn, number, batch.changes or {}, version)
        inserted = await _insert_events(conn, number, batch.events, sealing.events)
        await outbox.queue(conn, [m.full() for m in batch.messages], sealing.key)
    return len(inserted)


# Row columns holding instants: JSON text in a batch's `changes`, datetimes for asyncpg.
_INSTANTS = frozenset({"next_deadline", "eta", "closed_at"})


def _merged_clocks(stored: list[dict[str, Any]], delta: dict[str, Any]) -> list[dict[str, Any]]:
    """The stored clocks with a batch's changes put in (a new clock whole, a changed one
    field by field), in the batch's order. A clock the row lacks and the batch does not
    carry cannot be made up: it is left out (the next whole-row write restores it),
    never a refused write."""
    by_id = {c["id"]: c for c in stored}
    for change in delta["changed"]:
        by_id[change["id"]] = by_id.get(change["id"], {}) | change
    return [by_id[i] for i in delta["ids"] if i in by_id]


async def _update_changes(conn: Conn, number: str, changes: dict[str, Any], version: int) -> None:
    """The row as of `version` from the columns that changed since the run's previous
    batch (RecordEvents.changes); the columns not named keep what that batch wrote.
    Only names from ROW_FIELDS reach the statement, never a caller's text."""
    columns = [c for c in ROW_FIELDS if c in changes]
    values = [
        datetime.fromisoformat(changes[c]) if c in _INSTANTS and changes[c] else changes[c]
        for c in columns
    ]
    if "clocks" in changes:  # by id (activity_io.row_changes): merged into the stored list
        stored = await conn.fetchval(
            "SELECT clocks FROM requests WHERE number = $1 FOR UPDATE", number
        )
        values[columns.index("clocks")] = _merged_clocks(stored or [], changes["clocks"])
    sets = [
        f"{c} = COALESCE(${i}, {c})" if c == "department" else f"{c} = ${i}"
        for i, c in enumerate(columns, start=3)
    ]
    await conn.execute(
        f"UPDATE requests SET {', '.join([*sets, 'version = $2', 'updated_at = now()'])} "
        "WHERE number = $1 AND version < $2",
        number,
        version,
        *values,
    )


@dataclass(frozen=True)
class _Sealed:
    """A batch's personal data as stored: sealed with the customer's key (at_rest)."""

    person: bytes | None  # name, contact and description of the intake
    phone_index: bytes | None
    email_index: bytes | None
    events: tuple[list[str | None], list[Any], list[bytes | None]]  # reasons, data, words
    key: Any = None  # the customer's data key, when the batch carries messages to seal

    def one(self, index: int) -> tuple[list[str | None], list[Any], list[bytes | None]]:
        reasons, datas, words = self.events
        return [reasons[index]], [datas[index]], [words[index]]


async def _sealing(pool: Pool, batch: RecordEvents) -> _Sealed:
    intake = batch.intake
    customer_id = intake.customer.id if intake is not None else batch.request_customer
    reasons, datas, words = await at_rest.seal_timeline(pool, customer_id, batch.events)
    person = phone = email = None
    if intake is not None:
        person, phone, email = await at_rest.seal_customer(
            pool,
            customer_id,
            intake.customer.name,
            intake.customer.contact.model_dump(mode="json", exclude_none=True),
            intake.description,
        )
    key = await at_rest.keys(pool).for_customer(customer_id) if batch.messages else None
    return _Sealed(person, phone, email, (reasons, datas, words), key)


async def salvage_events(pool: Pool, batch: RecordEvents) -> list[DeadLetter]:
    """The same write for a batch the database refused: each part in its own savepoint,
    and what is refused again is set aside instead of failing the whole write.

    - intake: the row is created with the customer's words and optional fields left
      empty (names, contact, description, dates);
    - the row: only status, priority, assignee, colour, version and `closed_at` move —
      enough for a cancel or close to end the row; the other fields keep their values
      until a later write can store them;
    - an event: written as a stub (kind, instant, actor, status move, `quarantined`).
    Every refused part goes to `persist_dead_letters` whole, with the database's reason.
    Returns those parts (empty when nothing was refused this time).
    """
    s = batch.state
    assert s is not None, "a salvage carries the whole row"
    version = batch.events[-1].seq if batch.events else s.persisted_seq
    sealing = await _sealing(pool, batch)
    dead: list[DeadLetter] = []
    async with pool.acquire() as conn, conn.transaction():
        if batch.intake is not None:
            try:
                async with conn.transaction():
                    await _insert_intake(conn, batch, sealing)
            except DATA_ERRORS as err:
                dead.append(
                    DeadLetter("intake", None, version, refusal(err), intake_payload(batch.intake))
                )
                await _insert_intake(conn, batch, sealing, bare=True)
        try:
            async with conn.transaction():
                await _update_row(conn, s, version)
        except DATA_ERRORS as err:
            dead.append(
                DeadLetter(
                    "row",
                    None,
                    version,
                    refusal(err),
                    payload(s.model_dump(mode="json", exclude={"timeline"})),
                )
            )
            await _update_row(conn, s, version, bare=True)
        for index, e in enumerate(batch.events):
            try:
                async with conn.transaction():
                    await _insert_events(conn, s.number, [e], sealing.one(index))
            except DATA_ERRORS as err:
                reason, data, _ = sealing.one(index)
                dead.append(
                    DeadLetter(
                        "event",
                        e.seq,
                        version,
                        refusal(err),
                        payload(e.model_dump(mode="json") | {"reason": reason[0], "data": data[0]}),
                    )
                )
                stub = e.model_copy(
                    update={"reason": None, "data": {"quarantined": type(err).__name__}}
                )
                with contextlib.suppress(*DATA_ERRORS):  # then the dead letter alone
                    async with conn.transaction():
                        await _insert_events(conn, s.number, [stub], ([None], [stub.data], [None]))
        if dead:
            await set_aside(conn, s.number, dead)
    return dead


async def _insert_intake(
    conn: Conn, batch: RecordEvents, sealing: _Sealed, *, bare: bool = False
) -> None:
    """The row at receipt, personal data sealed; `bare` leaves out every free text and
    optional field (the salvage of an intake the database refused: the refused whole is a
    dead letter)."""
    s, i = batch.state, batch.intake
    assert s is not None and i is not None, "the intake's batch carries the whole row"
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
        s.number,
        external_id,
        i.customer.id,
        sealing.person,
        None if bare else sealing.phone_index,
        i.customer.tier.value,
        i.channel.value,
        i.category.value,
        None if bare else i.sub_type,
        None if bare else sealing.email_index,
        None if bare else i.expected_resolution_at,
        None if bare else i.order_number,
        None if bare else i.amount_in_dispute,
        None if bare else i.department,
        s.received_at,
        s.status.value,
        s.priority.value,
        s.assignee,
        s.sla_state.value,
        None if bare else s.next_deadline,
        [] if bare else _clocks_json(s),
        None if bare else _plan_json(s),
        None if bare else s.eta,
        s.rehandle_count,
        s.closed_at,
        s.policy_version,
        i.related_to,
    )


async def _update_row(conn: Conn, s: RequestState, version: int, *, bare: bool = False) -> None:
    """The row as of `version`; `bare` moves only what ends or steers the request."""
    if bare:
        await conn.execute(
            """UPDATE requests SET status = $2, priority = $3, assignee = $4, sla_state = $5,
                   closed_at = $6, version = $7, updated_at = now()
               WHERE number = $1 AND version < $7""",
            s.number,
            s.status.value,
            s.priority.value,
            s.assignee,
            s.sla_state.value,
            s.closed_at,
            version,
        )
        return
    await conn.execute(
        """UPDATE requests SET status = $2, priority = $3, assignee = $4, sla_state = $5,
               next_deadline = $6, clocks = $7, plan = $8, eta = $9, rehandle_count = $10,
               closed_at = $11, version = $12, sla_cycle = $13, awaiting_customer = $14,
               delayed = $15, escalated_to = $16, flags = $17, repeat_of = $18,
               compensation = $19, department = COALESCE($20, department),
               follow_up = $21, team = $22, queued = $23, updated_at = now()
           WHERE number = $1 AND version < $12""",
        s.number,
        s.status.value,
        s.priority.value,
        s.assignee,
        s.sla_state.value,
        s.next_deadline,
        _clocks_json(s),
        _plan_json(s),
        s.eta,
        s.rehandle_count,
        s.closed_at,
        version,
        s.sla_cycle,
        s.awaiting_customer,
        s.delayed,
        s.escalated_to,
        s.flags,
        s.repeat_of,
        s.compensation.model_dump(mode="json") if s.compensation else None,
        s.department,
        s.follow_up.model_dump(mode="json") if s.follow_up else None,
        s.team,
        s.queued,
    )


async def _insert_events(
    conn: Conn,
    number: str,
    events: list[TimelineEvent],
    stored: tuple[list[str | None], list[Any], list[bytes | None]],
) -> list[Any]:
    """Insert events not yet there, the customer's words sealed (`stored`: each event's
    reason, data and sealed words, from at_rest); returns a row per event newly inserted."""
    reasons, datas, sealed = stored
    rows: list[Any] = await conn.fetch(
        """INSERT INTO request_events (number, seq, at, kind, actor_id, actor_role,
               status_from, status_to, reason, data, sealed)
           SELECT $1, * FROM unnest($2::int[], $3::timestamptz[], $4::text[], $5::text[],
               $6::text[], $7::text[], $8::text[], $9::text[], $10::jsonb[], $11::bytea[])
           ON CONFLICT (number, seq) DO NOTHING
           RETURNING seq""",
        number,
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
    return rows


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
        external_id,
        number,
    )
    owner: str | None = await conn.fetchval(
        "SELECT number FROM request_keys WHERE external_id = $1", external_id
    )
    return external_id if owner == number else None


def _clocks_json(s: RequestState) -> list[dict[str, Any]]:
    return [c.model_dump(mode="json") for c in s.clocks]


def _plan_json(s: RequestState) -> dict[str, Any] | None:
    return s.plan.model_dump(mode="json") if s.plan else None
