"""Sealing rows written before migration 0016 (`csflow customer seal-existing`).

Separate because it is a one-off migration over whole tables, in batches, with its own
tally and dry run; new rows are sealed as they are written (`csflow.crypto.at_rest`), so
nothing else calls it.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from csflow.crypto import at_rest
from csflow.crypto.at_rest import ERASED

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
