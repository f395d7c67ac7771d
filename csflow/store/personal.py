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


# ---------------------------------------------------------------------------------------
# Sealing rows written before migration 0016 (`csflow customer seal-existing`).

SEAL_BATCH = 500
# The tables whose clear columns held personal data before sealing, in the order they are
# walked; `VACUUM FULL` of these drops the old (clear) row versions a run leaves behind.
SEALED_TABLES = ("requests", "request_events", "improvement_tasks", "outbox")


class TableTally(BaseModel):
    """Rows of one table: sealed with the customer's key, or blanked (erased customer)."""

    sealed: int = 0
    blanked: int = 0


class SealTally(BaseModel):
    """What `seal_existing` did (or, in a dry run, would do)."""

    tables: dict[str, TableTally]
    customers: list[str] = []  # whose rows were sealed with their key
    erased_customers: list[str] = []  # whose rows were only blanked
    keys_created: int = 0  # data keys made on the way (a dry run: customers without one)
    dry_run: bool = False

    @property
    def changed(self) -> int:
        return sum(t.sealed + t.blanked for t in self.tables.values())


async def seal_existing(
    pool: Any,
    *,
    batch: int = SEAL_BATCH,
    dry_run: bool = False,
    progress: Any = None,
) -> SealTally:
    """Seal every personal value still kept in the clear by rows written before migration
    0016, exactly as the write path seals new rows (`at_rest`), so every reader takes the
    sealed branch afterwards; rows of erased customers are only blanked (their key is gone,
    and must not be re-created).

    Each table is walked in key order, `batch` rows per transaction, the rows locked while
    they are rewritten: an interrupted run leaves every row either as it was or wholly
    sealed, and a re-run picks up what is still in the clear (a finished run leaves nothing,
    so a re-run changes nothing). A dry run walks the same rows in read-only transactions
    and writes nothing (not even a data key). `progress(table, tally)` is called after each
    batch. Old row versions stay in the table files until VACUUM (see `vacuum_sealed`).
    """
    tally = SealTally(tables={t: TableTally() for t in SEALED_TABLES}, dry_run=dry_run)
    live_before = await _live_keys(pool)
    customers: set[str] = set()
    erased: set[str] = set()
    walks = (
        ("requests", _requests_batch),
        ("request_events", _events_batch),
        ("improvement_tasks", _improvements_batch),
        ("outbox", _outbox_batch),
    )
    for table, walk in walks:
        after: tuple[Any, ...] | None = None
        while True:
            async with pool.acquire() as conn:
                tx = conn.transaction(readonly=dry_run)
                async with tx:
                    after = await walk(
                        conn, pool, after, batch, dry_run, tally.tables[table], customers, erased
                    )
            if progress is not None:
                progress(table, tally.tables[table])
            if after is None:
                break
    tally.customers = sorted(customers)
    tally.erased_customers = sorted(erased)
    if dry_run:
        tally.keys_created = int(
            await pool.fetchval(
                """SELECT count(*) FROM unnest($1::text[]) AS c(id)
                   WHERE NOT EXISTS (SELECT 1 FROM customer_keys k
                                     WHERE k.customer_id = c.id AND k.destroyed_at IS NULL)""",
                tally.customers,
            )
        )
    else:
        tally.keys_created = await _live_keys(pool) - live_before
    return tally


async def _live_keys(pool: Any) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM customer_keys WHERE destroyed_at IS NULL"))


def _was(value: Any) -> Any:
    """A jsonb column as a Python value, whether or not the connection decodes jsonb."""
    return json.loads(value) if isinstance(value, str) else value


async def _requests_batch(
    conn: Any,
    pool: Any,
    after: tuple[Any, ...] | None,
    batch: int,
    dry_run: bool,
    tally: TableTally,
    customers: set[str],
    erased: set[str],
) -> tuple[Any, ...] | None:
    """Name, contact and description → `customer_sealed` and the blind indexes."""
    rows = await conn.fetch(
        f"""SELECT number, customer_id, customer_name, customer_contact, description,
                   personal_data_erased_at IS NOT NULL AS erased
            FROM requests
            WHERE ($1::text IS NULL OR number > $1) AND customer_sealed IS NULL
              AND CASE WHEN personal_data_erased_at IS NULL
                       THEN customer_name IS NOT NULL OR customer_contact IS NOT NULL
                            OR description IS NOT NULL
                       ELSE customer_name IS DISTINCT FROM $2
                            OR customer_contact IS DISTINCT FROM '{{}}'::jsonb
                            OR description IS DISTINCT FROM $2
                            OR phone_index IS NOT NULL OR email_index IS NOT NULL END
            ORDER BY number LIMIT $3 {"" if dry_run else "FOR UPDATE"}""",
        after[0] if after else None,
        ERASED,
        batch,
    )
    blank: list[tuple[Any, ...]] = []
    seal: list[tuple[Any, ...]] = []
    for r in rows:
        if r["erased"]:
            erased.add(r["customer_id"])
            tally.blanked += 1
            blank.append((r["number"], ERASED))
            continue
        customers.add(r["customer_id"])
        tally.sealed += 1
        if dry_run:
            continue
        contact = _was(r["customer_contact"]) or {}
        person, phone, email = await at_rest.seal_customer(
            pool, r["customer_id"], r["customer_name"] or "", dict(contact), r["description"] or ""
        )
        seal.append((r["number"], person, phone, email))
    if not dry_run and blank:
        await conn.executemany(
            """UPDATE requests SET customer_name = $2, customer_contact = '{}'::jsonb,
                      description = $2, phone_index = NULL, email_index = NULL
               WHERE number = $1""",
            blank,
        )
    if not dry_run and seal:
        await conn.executemany(
            """UPDATE requests SET customer_sealed = $2, phone_index = $3, email_index = $4,
                      customer_name = NULL, customer_contact = NULL, description = NULL
               WHERE number = $1""",
            seal,
        )
    return (rows[-1]["number"],) if len(rows) == batch else None


async def _events_batch(
    conn: Any,
    pool: Any,
    after: tuple[Any, ...] | None,
    batch: int,
    dry_run: bool,
    tally: TableTally,
    customers: set[str],
    erased: set[str],
) -> tuple[Any, ...] | None:
    """The customer's words on the timeline (follow-up words in `data`, the `reason` of
    the customer's own events) → `sealed`, split exactly as `at_rest.event_words` splits
    a new event."""
    rows = await conn.fetch(
        f"""SELECT e.number, e.seq, e.kind, e.actor_role, e.reason, e.data, r.customer_id,
                   r.personal_data_erased_at IS NOT NULL AS erased
            FROM request_events e JOIN requests r USING (number)
            WHERE ($1::text IS NULL OR (e.number, e.seq) > ($1, $2::int))
              AND e.sealed IS NULL
              AND (e.data ?| $3::text[]
                   OR (e.reason IS NOT NULL
                       AND (e.actor_role = 'customer' OR e.kind = ANY($4::text[]))))
            ORDER BY e.number, e.seq LIMIT $5
            {"" if dry_run else "FOR UPDATE OF e FOR SHARE OF r"}""",
        after[0] if after else None,
        after[1] if after else None,
        list(at_rest.WORD_KEYS),
        sorted(at_rest.WORD_REASONS),
        batch,
    )
    updates: list[tuple[Any, ...]] = []
    for r in rows:
        reason, data, words = at_rest.event_words(
            r["kind"], r["actor_role"], r["reason"], dict(_was(r["data"]) or {})
        )
        if not words:  # only null word keys: nothing to seal
            continue
        sealed: bytes | None = None
        if r["erased"]:
            erased.add(r["customer_id"])
            tally.blanked += 1
        else:
            customers.add(r["customer_id"])
            tally.sealed += 1
            if not dry_run:
                sealed = await at_rest.seal_words(pool, r["customer_id"], words)
        updates.append((r["number"], r["seq"], reason, data, sealed))
    if not dry_run and updates:
        await conn.executemany(
            """UPDATE request_events SET reason = $3, data = $4, sealed = $5
               WHERE number = $1 AND seq = $2""",
            updates,
        )
    return (rows[-1]["number"], rows[-1]["seq"]) if len(rows) == batch else None


async def _improvements_batch(
    conn: Any,
    pool: Any,
    after: tuple[Any, ...] | None,
    batch: int,
    dry_run: bool,
    tally: TableTally,
    customers: set[str],
    erased: set[str],
) -> tuple[Any, ...] | None:
    """An improvement task's problem text → `problem_sealed` as `{"reason": text}`, like
    `store.improvements.save`. The listing's placeholder and a reference to the parent's
    event are not the customer's words and stay."""
    from csflow.store.improvements import WITHHELD

    rows = await conn.fetch(
        f"""SELECT t.task_id, t.problem, r.customer_id,
                   r.personal_data_erased_at IS NOT NULL AS erased
            FROM improvement_tasks t JOIN requests r USING (number)
            WHERE ($1::text IS NULL OR t.task_id > $1)
              AND t.problem_sealed IS NULL AND t.problem IS NOT NULL
              AND t.problem <> $2 AND t.problem NOT LIKE '@improvement\\_opened:%'
            ORDER BY t.task_id LIMIT $3 {"" if dry_run else "FOR UPDATE OF t FOR SHARE OF r"}""",
        after[0] if after else None,
        WITHHELD,
        batch,
    )
    updates: list[tuple[Any, ...]] = []
    for r in rows:
        sealed: bytes | None = None
        if r["erased"]:
            erased.add(r["customer_id"])
            tally.blanked += 1
        else:
            customers.add(r["customer_id"])
            tally.sealed += 1
            if not dry_run:
                sealed = await at_rest.seal_words(pool, r["customer_id"], {"reason": r["problem"]})
        updates.append((r["task_id"], sealed))
    if not dry_run and updates:
        await conn.executemany(
            "UPDATE improvement_tasks SET problem = NULL, problem_sealed = $2 WHERE task_id = $1",
            updates,
        )
    return (rows[-1]["task_id"],) if len(rows) == batch else None


async def _outbox_batch(
    conn: Any,
    pool: Any,
    after: tuple[Any, ...] | None,
    batch: int,
    dry_run: bool,
    tally: TableTally,
    customers: set[str],
    erased: set[str],
) -> tuple[Any, ...] | None:
    """A kept message → `payload_sealed`, with the key `store.outbox.claim` would use (the
    request's customer, else a customer recipient's); a staff message about a request
    whose row is missing names nobody and stays as it is, as in `claim`."""
    rows = await conn.fetch(
        f"""SELECT o.key, o.payload,
                   coalesce(r.customer_id,
                            CASE WHEN o.recipient_kind = 'customer' THEN o.recipient_id END)
                       AS customer_id,
                   coalesce(r.personal_data_erased_at IS NOT NULL, false) AS erased
            FROM outbox o LEFT JOIN requests r ON r.number = o.number
            WHERE ($1::text IS NULL OR o.key > $1)
              AND o.payload IS NOT NULL AND o.payload_sealed IS NULL
              AND (r.number IS NOT NULL OR o.recipient_kind = 'customer')
            ORDER BY o.key LIMIT $2 {"" if dry_run else "FOR UPDATE OF o"}""",
        after[0] if after else None,
        batch,
    )
    updates: list[tuple[Any, ...]] = []
    for r in rows:
        sealed: bytes | None = None
        if r["erased"]:
            erased.add(r["customer_id"])
            tally.blanked += 1
        else:
            customers.add(r["customer_id"])
            tally.sealed += 1
            if not dry_run:
                key = await at_rest.keys(pool).for_customer(r["customer_id"])
                sealed = at_rest.seal(key, _was(r["payload"]))
        updates.append((r["key"], sealed))
    if not dry_run and updates:
        await conn.executemany(
            "UPDATE outbox SET payload = NULL, payload_sealed = $2 WHERE key = $1", updates
        )
    return (rows[-1]["key"],) if len(rows) == batch else None


async def vacuum_sealed(pool: Any, tables: tuple[str, ...] = SEALED_TABLES) -> None:
    """`VACUUM FULL` of the tables `seal_existing` rewrote: each is copied into a new file
    and the old one, with the clear row versions, is removed. It holds an ACCESS EXCLUSIVE
    lock on each table while it runs (nothing reads or writes it meanwhile), so it has no
    time limit of its own here."""
    for table in tables:
        assert table in SEALED_TABLES
        await pool.execute(f"VACUUM FULL {table}", timeout=24 * 3600)
