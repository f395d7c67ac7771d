"""A person's reads of a customer's details, each logged, and the look-up by contact.

Separate because these are the reads docs/security.md promises an audit row for: every
read by a person writes `personal_data_reads` in the same transaction, and `reads_of`
answers who read what. The look-up by contact compares blind indexes and opens nothing.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from csflow.crypto import at_rest
from csflow.crypto.at_rest import ERASED


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
