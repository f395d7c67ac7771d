"""A customer's personal details: read with an audit row, erased on request
(docs/requirements.md §6).

Reports, the board and search attributes work on codes (tier, category, channel, status,
times) and the customer id — never on names, contacts or the customer's own words — so
erasure blanks exactly those and every figure stays as it was.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from csflow.contracts import Actor
from csflow.crypto import at_rest, envelope
from csflow.domain.codes import Role
from csflow.domain.events import EventKind

ERASED = at_rest.ERASED
# Timeline events written outside the workflow take seq numbers from here up, so they
# never collide with a number the workflow gives a later event of its own.
OUT_OF_BAND_SEQ = 1_000_000


class CustomerWords(BaseModel):
    """One text in the customer's own words on the request's timeline."""

    seq: int
    kind: str
    field: str  # "reason", "praise", "suggestion" or "problem"
    text: str


class CustomerDetails(BaseModel):
    number: str
    customer_id: str
    name: str
    contact: dict[str, Any]
    tier: str
    description: str
    erased_at: datetime | None
    words: list[CustomerWords] = []


class Reader(BaseModel):
    token_id: str
    subject: str
    role: str
    purpose: str | None = None


class ReadRecord(BaseModel):
    number: str
    customer_id: str
    subject: str
    role: str
    purpose: str | None
    read_at: datetime


class OpenRequests(Exception):
    """Erasure refused: the customer still has open requests that need their contact."""


async def read_customer(pool: Any, number: str, reader: Reader) -> CustomerDetails | None:
    """The details, with the read logged in the same transaction: no read goes unrecorded.

    Sealed values are opened here and nowhere else; once the customer's key is destroyed
    they answer "(erased)".
    """
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            """SELECT number, customer_id, customer_name, customer_contact, customer_tier,
                      description, personal_data_erased_at, customer_sealed
               FROM requests WHERE number = $1""",
            number,
        )
        if row is None:
            return None
        events = await conn.fetch(
            """SELECT seq, kind, reason, data, sealed FROM request_events
               WHERE number = $1 AND (sealed IS NOT NULL OR data ?| $2::text[])
               ORDER BY seq""",
            number,
            list(at_rest.WORD_KEYS),
        )
        await conn.execute(
            """INSERT INTO personal_data_reads (number, customer_id, token_id, subject, role,
                                                purpose)
               VALUES ($1, $2, $3, $4, $5, $6)""",
            number,
            row["customer_id"],
            reader.token_id,
            reader.subject,
            reader.role,
            reader.purpose,
        )
    gone = row["personal_data_erased_at"] is not None  # another process's key cache
    if gone or row["customer_sealed"] is not None:  # may still hold the erased key
        person: Any = None
        erased = gone
        if not gone:
            person, erased = await at_rest.open_or_erased(pool, row["customer_sealed"])
        if erased:
            name, contact, description = ERASED, {}, ERASED
        else:
            name, contact, description = (person["name"], person["contact"], person["description"])
    else:  # a row written before sealing (docs/security.md, "Rows from before")
        stored = row["customer_contact"]
        contact = json.loads(stored) if isinstance(stored, str) else dict(stored or {})
        name, description = row["customer_name"] or "", row["description"] or ""
    return CustomerDetails(
        number=row["number"],
        customer_id=row["customer_id"],
        name=name,
        contact=contact,
        tier=row["customer_tier"],
        description=description,
        erased_at=row["personal_data_erased_at"],
        words=await _words(pool, events, gone),
    )


async def _words(pool: Any, events: list[Any], gone: bool) -> list[CustomerWords]:
    out: list[CustomerWords] = []
    for e in events:
        texts: dict[str, Any] = {}
        data = e["data"] if isinstance(e["data"], dict) else json.loads(e["data"] or "{}")
        texts.update({k: data[k] for k in at_rest.WORD_KEYS if data.get(k) is not None})
        if e["sealed"] is not None:
            opened: Any = None
            erased = gone
            if not gone:
                opened, erased = await at_rest.open_or_erased(pool, e["sealed"])
            texts.update({k: ERASED for k in data.get("sealed", [])} if erased else opened)
        out += [
            CustomerWords(seq=e["seq"], kind=e["kind"], field=k, text=str(v))
            for k, v in sorted(texts.items())
        ]
    return out


async def contact_for_sending(pool: Any, number: str, customer_id: str) -> dict[str, Any] | None:
    """The customer's contact for a message csflow sends them (not a person's read, so not
    in `personal_data_reads`): None while the request row is not written yet, {} once the
    customer is erased. The workflow hands the notify activity only the request number and
    the customer id; the address is looked up here, inside the activity."""
    row = await pool.fetchrow(
        """SELECT customer_contact, customer_sealed, personal_data_erased_at FROM requests
           WHERE number = $1 AND customer_id = $2""",
        number,
        customer_id,
    )
    if row is None:
        return None
    if row["personal_data_erased_at"] is not None:
        return {}
    if row["customer_sealed"] is None:  # a row from before sealing
        stored = row["customer_contact"]
        return json.loads(stored) if isinstance(stored, str) else dict(stored or {})
    person, erased = await at_rest.open_or_erased(pool, row["customer_sealed"])
    return {} if erased else dict(person["contact"])


# What the improvement child and the staff alerts carry instead of the problem text
# (csflow.contracts.intake.problem_reference): resolved only where a message is rendered.
PROBLEM_REFERENCE = re.compile(r"@improvement_opened:([A-Za-z0-9_.:-]+?-IMP[0-9]+)")


async def improvement_problem(pool: Any, task_id: str, wait_s: float = 3.0) -> str | None:
    """The problem an improvement task was opened for, from the parent request's
    `improvement_opened` event (sealed with the customer's key): "(erased)" after erasure,
    None while that event is not written yet (waited for up to `wait_s`: the alert is
    planned as the event is recorded, the write follows within moments)."""
    number = task_id.rsplit("-IMP", 1)[0]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while True:
        row = await pool.fetchrow(
            """SELECT e.reason, e.sealed, r.personal_data_erased_at
               FROM request_events e JOIN requests r USING (number)
               WHERE e.number = $1 AND e.kind = $2 AND e.data->>'task_id' = $3
               ORDER BY e.seq LIMIT 1""",
            number,
            EventKind.IMPROVEMENT_OPENED.value,
            task_id,
        )
        if row is not None:
            break
        if loop.time() >= deadline:
            return None
        await asyncio.sleep(0.1)
    if row["personal_data_erased_at"] is not None:
        return ERASED
    if row["sealed"] is None:  # a row from before sealing
        return str(row["reason"] or "")
    words, erased = await at_rest.open_or_erased(pool, row["sealed"])
    return ERASED if erased else str((words or {}).get("reason", ""))


async def resolve_problem_references(pool: Any, variables: dict[str, Any]) -> dict[str, Any]:
    """A message's variables with each problem reference replaced by the problem's text
    (what `send_notification` renders; the reference is what Temporal and the outbox
    keep). A problem not written yet reads as the task it belongs to."""
    out = dict(variables)
    for name, value in variables.items():
        if not isinstance(value, str) or "@improvement_opened:" not in value:
            continue
        texts: dict[str, str] = {}
        for task_id in PROBLEM_REFERENCE.findall(value):
            found = await improvement_problem(pool, task_id)
            texts[task_id] = found if found is not None else f"improvement task {task_id}"
        out[name] = _substitute(value, texts)
    return out


def _substitute(value: str, texts: dict[str, str]) -> str:
    return PROBLEM_REFERENCE.sub(lambda m: texts.get(m.group(1), m.group(0)), value)


async def requests_by_contact(
    pool: Any, *, phone: str | None = None, email: str | None = None
) -> list[str]:
    """The numbers of requests whose customer gave this phone or e-mail: compared by blind
    index, so the lookup needs no decryption and the database never sees the value."""
    rows = await pool.fetch(
        """SELECT number FROM requests
           WHERE ($1::bytea IS NOT NULL AND phone_index = $1)
              OR ($2::bytea IS NOT NULL AND email_index = $2)
           ORDER BY received_at, number""",
        at_rest.contact_index("phone", phone),
        at_rest.contact_index("email", email),
    )
    return [r["number"] for r in rows]


async def reads_of(pool: Any, customer_id: str) -> list[ReadRecord]:
    rows = await pool.fetch(
        """SELECT number, customer_id, subject, role, purpose, read_at
           FROM personal_data_reads WHERE customer_id = $1 ORDER BY read_at, id""",
        customer_id,
    )
    return [ReadRecord(**dict(r)) for r in rows]


async def erase_customer(
    pool: Any, customer_id: str, now: datetime, by: Actor | None = None, reason: str | None = None
) -> list[str]:
    """Crypto-shred the customer: destroy their data key, so every sealed copy of their
    name, contact and words — rows, old row versions, backups, the outbox — is unreadable
    at once; blank what was kept in the clear; record the erasure on each request's
    timeline. Codes, times and scores stay, so reports do not change. Returns the numbers.

    Refused while any of their requests is open: the workflow still has to reach them.
    """
    actor = by or Actor(id="csflow", role=Role.SYSTEM)
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            "SELECT number, closed_at FROM requests WHERE customer_id = $1 FOR UPDATE", customer_id
        )
        still_open = sorted(r["number"] for r in rows if r["closed_at"] is None)
        if still_open:
            raise OpenRequests(
                f"customer {customer_id} has open requests "
                f"({', '.join(still_open)}); close or cancel them first"
            )
        await conn.execute(
            """UPDATE requests SET customer_name = $2, customer_contact = '{}'::jsonb,
                      description = $2, order_number = NULL,
                      phone_index = NULL, email_index = NULL,
                      personal_data_erased_at = coalesce(personal_data_erased_at, $3)
               WHERE customer_id = $1""",
            customer_id,
            ERASED,
            now,
        )
        # The customer's own words kept in the clear (rows from before sealing); scores
        # and NPS stay for reports. Sealed words die with the key.
        await conn.execute(
            """UPDATE request_events e
               SET data = e.data - 'praise' - 'suggestion' - 'problem'
               FROM requests r
               WHERE r.number = e.number AND r.customer_id = $1
                 AND e.kind = 'follow_up_recorded'""",
            customer_id,
        )
        # Messages kept for re-sending hold the contact details too.
        await conn.execute(
            """UPDATE outbox SET payload = NULL, payload_sealed = NULL, updated_at = now()
               WHERE recipient_kind = 'customer' AND recipient_id = $1
                 AND (payload IS NOT NULL OR payload_sealed IS NOT NULL)""",
            customer_id,
        )
        destroyed = await envelope.destroy(conn, customer_id, now)
        for r in rows:
            await conn.execute(
                """INSERT INTO request_events (number, seq, at, kind, actor_id, actor_role,
                                               reason, data)
                   SELECT $1, greatest(coalesce(max(seq), 0) + 1, $2), $3, $4, $5, $6, $7, $8
                   FROM request_events WHERE number = $1""",
                r["number"],
                OUT_OF_BAND_SEQ,
                now,
                EventKind.PERSONAL_DATA_ERASED.value,
                actor.id,
                actor.role.value,
                f"the customer's personal data was erased: {reason}"
                if reason
                else "the customer's personal data was erased",
                {"keys_destroyed": destroyed},
            )
    at_rest.keys(pool).forget(customer_id)
    await envelope.vacuum(pool)
    return sorted(r["number"] for r in rows)
