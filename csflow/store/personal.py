"""A customer's personal details: read with an audit row, erased on request
(docs/requirements.md §6).

Reports, the board and search attributes work on codes (tier, category, channel, status,
times) and the customer id — never on names, contacts or the customer's own words — so
erasure blanks exactly those and every figure stays as it was.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel

ERASED = "(erased)"


class CustomerDetails(BaseModel):
    number: str
    customer_id: str
    name: str
    contact: dict[str, Any]
    tier: str
    description: str
    erased_at: datetime | None


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
    """The details, with the read logged in the same transaction: no read goes unrecorded."""
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            """SELECT number, customer_id, customer_name, customer_contact, customer_tier,
                      description, personal_data_erased_at
               FROM requests WHERE number = $1""", number)
        if row is None:
            return None
        await conn.execute(
            """INSERT INTO personal_data_reads (number, customer_id, token_id, subject, role,
                                                purpose)
               VALUES ($1, $2, $3, $4, $5, $6)""",
            number, row["customer_id"], reader.token_id, reader.subject, reader.role,
            reader.purpose)
    contact = row["customer_contact"]
    return CustomerDetails(
        number=row["number"], customer_id=row["customer_id"], name=row["customer_name"],
        contact=json.loads(contact) if isinstance(contact, str) else dict(contact),
        tier=row["customer_tier"], description=row["description"],
        erased_at=row["personal_data_erased_at"])


async def reads_of(pool: Any, customer_id: str) -> list[ReadRecord]:
    rows = await pool.fetch(
        """SELECT number, customer_id, subject, role, purpose, read_at
           FROM personal_data_reads WHERE customer_id = $1 ORDER BY read_at, id""",
        customer_id)
    return [ReadRecord(**dict(r)) for r in rows]


async def erase_customer(pool: Any, customer_id: str, now: datetime) -> list[str]:
    """Blank the customer's name, contact and words on every request; returns the numbers.

    Refused while any of their requests is open: the workflow still has to reach them.
    """
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            "SELECT number, closed_at FROM requests WHERE customer_id = $1 FOR UPDATE",
            customer_id)
        still_open = sorted(r["number"] for r in rows if r["closed_at"] is None)
        if still_open:
            raise OpenRequests(f"customer {customer_id} has open requests "
                               f"({', '.join(still_open)}); close or cancel them first")
        await conn.execute(
            """UPDATE requests SET customer_name = $2, customer_contact = '{}'::jsonb,
                      description = $2, order_number = NULL,
                      personal_data_erased_at = coalesce(personal_data_erased_at, $3)
               WHERE customer_id = $1""",
            customer_id, ERASED, now)
        # The customer's own words in follow-up records; scores and NPS stay for reports.
        await conn.execute(
            """UPDATE request_events e
               SET data = e.data - 'praise' - 'suggestion' - 'problem'
               FROM requests r
               WHERE r.number = e.number AND r.customer_id = $1
                 AND e.kind = 'follow_up_recorded'""",
            customer_id)
        # Messages kept for re-sending hold the contact details too.
        await conn.execute(
            """UPDATE outbox SET payload = NULL, updated_at = now()
               WHERE recipient_kind = 'customer' AND recipient_id = $1
                 AND payload IS NOT NULL""",
            customer_id)
    return sorted(r["number"] for r in rows)
