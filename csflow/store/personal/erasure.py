"""Erasing a customer on request (docs/requirements.md §6): crypto-shredding their key and
blanking what was kept in the clear.

Separate because it is the one write here that destroys data, with its own refusal
(`OpenRequests`) and its own callers (`DELETE /customers/{id}` and `csflow customer
erase`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from csflow.contracts import Actor
from csflow.crypto import at_rest, envelope
from csflow.crypto.at_rest import ERASED
from csflow.domain.codes import Role
from csflow.domain.events import EventKind

# Timeline events written outside the workflow take seq numbers from here up, so they
# never collide with a number the workflow gives a later event of its own.
OUT_OF_BAND_SEQ = 1_000_000


class OpenRequests(Exception):
    """Erasure refused: the customer still has open requests that need their contact."""


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
        # The customer's own words kept in the clear (rows from before sealing, not yet
        # through `csflow customer seal-existing`): follow-up words in the data, replies
        # and other words in `reason` (at_rest.event_words decides which, as for new
        # events); scores and NPS stay for reports. Sealed words die with the key.
        await conn.execute(
            """UPDATE request_events e
               SET data = e.data - $2::text[],
                   reason = CASE WHEN e.actor_role = 'customer' OR e.kind = ANY($3::text[])
                                 THEN NULL ELSE e.reason END
               FROM requests r
               WHERE r.number = e.number AND r.customer_id = $1 AND e.sealed IS NULL""",
            customer_id,
            list(at_rest.WORD_KEYS),
            sorted(at_rest.WORD_REASONS),
        )
        # An improvement task's problem is the customer's words too.
        await conn.execute(
            """UPDATE improvement_tasks t SET problem = $2
               FROM requests r
               WHERE r.number = t.number AND r.customer_id = $1 AND t.problem_sealed IS NULL""",
            customer_id,
            ERASED,
        )
        # Messages kept for re-sending hold the contact details, and staff messages about
        # the customer's requests may quote their words (an improvement task's alert).
        await conn.execute(
            """UPDATE outbox SET payload = NULL, payload_sealed = NULL, updated_at = now()
               WHERE (payload IS NOT NULL OR payload_sealed IS NOT NULL)
                 AND ((recipient_kind = 'customer' AND recipient_id = $1)
                      OR number IN (SELECT number FROM requests WHERE customer_id = $1))""",
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
