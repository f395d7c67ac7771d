"""The outbox: one row per message key; its status says whether it may be sent again.

pending   claimed, nothing tried yet          → may be sent
retrying  every channel refused it; retried   → may be sent (a known non-delivery)
sending   a channel was being tried           → a crash may have delivered it
sent      delivered                           → never again
failed    still undelivered at the end of the retry window → only `csflow notify retry`
uncertain a crash left an email's fate unknown → only `csflow notify retry --uncertain`

Since the workflow patch `messages-in-the-write` most messages are written here by the
request's own write, in its transaction (`queue`), and sent by the worker's dispatcher
(`take_due`, `defer`; csflow/notify/dispatcher.py): `dispatch` marks those
rows, `next_attempt_at` says when one is next due, `tries` how often it was tried, and
`lease_until` how long a dispatcher holds it; a row marked with a final status belongs to
no dispatcher any more (`mark` clears both). Rows an activity sends are never taken.

The row keeps the message until it is sent, so an operator can send a failed one again
on purpose with the same key; it is cleared once sent. It holds contact details and may
hold the customer's words, so it is kept sealed with the customer's data key
(`payload_sealed`, docs/security.md): erasure makes it unreadable with everything else.
The clear `payload` column is only read for rows written before sealing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import asyncpg

from csflow.crypto import at_rest
from csflow.notify.models import Notification

if TYPE_CHECKING:
    from datetime import timedelta
    from typing import TypeAlias

    from asyncpg.pool import PoolConnectionProxy

    Pool: TypeAlias = asyncpg.Pool[Any]
    Conn: TypeAlias = asyncpg.Connection[Any] | PoolConnectionProxy[Any]

# Statuses from which a message is not sent again by the workflow's own retries.
FINAL = ("sent", "failed", "uncertain")


async def _customer_of(pool: Pool, n: Notification) -> str | None:
    """Whose key seals the message: the request's customer, or the recipient when the
    message goes to a customer whose request row is not found."""
    found: str | None = await pool.fetchval(
        "SELECT customer_id FROM requests WHERE number = $1", n.number
    )
    return found or (n.recipient.id if n.recipient.kind == "customer" else None)


async def claim(pool: Pool, n: Notification) -> tuple[str, str | None]:
    """Insert the message as pending, or return the status and channel it already has.

    Kept sealed with the customer's key; a staff message about a request whose row is
    not written yet (codes and the number only) is kept as it is.
    """
    customer_id = await _customer_of(pool, n)
    sealing = None if customer_id is None else await at_rest.keys(pool).for_customer(customer_id)
    await pool.execute(
        """INSERT INTO outbox (key, number, template, recipient_kind, recipient_id, status,
                               payload, payload_sealed)
           VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7) ON CONFLICT (key) DO NOTHING""",
        *_columns(n, sealing),
    )
    row = await pool.fetchrow("SELECT status, channel FROM outbox WHERE key = $1", n.key)
    assert row is not None
    return str(row["status"]), row["channel"]


def _columns(n: Notification, sealing: Any) -> tuple[Any, ...]:
    """A message's row as `claim` and `queue` insert it: key, number, template,
    recipient kind and id, then the message itself — sealed with the customer's data key
    when there is one (`payload_sealed`), else as it is (`payload`), never both."""
    payload = n.model_dump(mode="json")
    sealed = at_rest.seal(sealing, payload) if sealing is not None else None
    return (
        n.key,
        n.number,
        n.template,
        n.recipient.kind,
        n.recipient.id,
        None if sealed else payload,
        sealed,
    )


async def queue(conn: Conn, messages: list[Notification], sealing: Any) -> int:
    """Write `messages` as pending rows for the dispatcher, due now, inside the caller's
    transaction (the request's write): they exist exactly when the events that planned
    them do. `sealing` is the customer's data key (None: kept as they are, a request
    with no customer key). A repeated write (a retried persist) inserts nothing again.
    Returns the rows inserted."""
    if not messages:
        return 0
    rows = [_columns(n, sealing) for n in messages]
    inserted: list[Any] = await conn.fetch(
        """INSERT INTO outbox (key, number, template, recipient_kind, recipient_id, status,
                               payload, payload_sealed, dispatch, next_attempt_at)
           SELECT k, n, t, rk, ri, 'pending', p, ps, true, now()
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                       $6::jsonb[], $7::bytea[]) AS m(k, n, t, rk, ri, p, ps)
           ON CONFLICT (key) DO NOTHING RETURNING key""",
        *(list(column) for column in zip(*rows, strict=True)),
    )
    return len(inserted)


class Due:
    """A dispatcher's row: the message (None once its customer was erased) and what the
    row says of earlier tries."""

    def __init__(self, row: Any, message: Notification | None, problem: str = "") -> None:
        self.key: str = row["key"]
        self.status: str = row["status"]
        self.channel: str | None = row["channel"]
        self.tries: int = row["tries"]
        self.created_at: Any = row["created_at"]
        self.message = message
        self.problem = problem  # why there is no message


async def take_due(pool: Pool, *, limit: int, lease: timedelta) -> list[Due]:
    """Claim up to `limit` dispatcher rows that are due, for `lease`: the claim is the
    update, so two dispatchers (two workers) never hold one row at once, and a row a
    crashed dispatcher held is due again when its lease runs out. Each claim counts as a
    try."""
    rows = await pool.fetch(
        """UPDATE outbox SET lease_until = now() + $2::interval, tries = tries + 1
           WHERE key IN (
               SELECT key FROM outbox
               WHERE dispatch AND status IN ('pending', 'retrying', 'sending')
                 AND next_attempt_at <= now()
                 AND (lease_until IS NULL OR lease_until <= now())
               ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
           RETURNING key, status, channel, tries, created_at, payload, payload_sealed""",
        limit,
        lease,
    )
    out: list[Due] = []
    for r in rows:
        try:
            stored, erased = await at_rest.open_or_erased(pool, r["payload_sealed"])
            payload = stored or r["payload"]
            if erased or payload is None:
                out.append(Due(r, None, "erased before sending"))
            else:
                out.append(Due(r, Notification.model_validate(payload)))
        except Exception as err:  # one bad row must not hold up the others claimed with it
            out.append(Due(r, None, f"unreadable: {type(err).__name__}"))
    return out


async def defer(
    pool: Pool, key: str, delay: timedelta, why: str | None = None, *, uncount: bool = False
) -> None:
    """Give the row back, due again after `delay` (an outage, quiet hours); `uncount`:
    the claim was no failed try (quiet hours), so it does not move the backoff on."""
    await pool.execute(
        """UPDATE outbox SET next_attempt_at = now() + $2::interval, lease_until = NULL,
               attempts = CASE WHEN $3::text IS NULL THEN attempts
                               ELSE attempts || jsonb_build_array($3::text) END,
               tries = CASE WHEN $4 THEN tries - 1 ELSE tries END,
               updated_at = now()
           WHERE key = $1""",
        key,
        delay,
        why,
        uncount,
    )


async def mark(
    pool: Pool, key: str, status: str, channel: str | None, attempt: str | None = None
) -> None:
    """Committed before and after every send: the record a crash leaves behind. A final
    status (FINAL) also ends a dispatcher's hold on the row: nothing is due any more."""
    await pool.execute(
        """UPDATE outbox SET status = $2, channel = COALESCE($3, channel),
               attempts = CASE WHEN $4::text IS NULL THEN attempts
                               ELSE attempts || jsonb_build_array($4::text) END,
               sent_at = CASE WHEN $2 = 'sent' THEN now() ELSE sent_at END,
               payload = CASE WHEN $2 = 'sent' THEN NULL ELSE payload END,
               payload_sealed = CASE WHEN $2 = 'sent' THEN NULL ELSE payload_sealed END,
               failed_at = CASE WHEN $2 = 'failed' THEN now() ELSE failed_at END,
               lease_until = CASE WHEN $2 = ANY($5::text[]) THEN NULL ELSE lease_until END,
               next_attempt_at = CASE WHEN $2 = ANY($5::text[]) THEN NULL
                                      ELSE next_attempt_at END,
               updated_at = now()
           WHERE key = $1""",
        key,
        status,
        channel,
        attempt,
        list(FINAL),
    )


async def take_for_retry(
    pool: Pool,
    *,
    keys: list[str] | None = None,
    number: str | None = None,
    statuses: tuple[str, ...] = ("failed",),
    limit: int = 1000,
) -> list[Notification]:
    """Move matching failed rows to `retrying` and return their messages.

    The status change is the claim: two operators retrying at once never both get a key,
    and a row that was sent in the meantime is not selected, so each key is still sent at
    most once. Rows without a payload (written before it was kept) cannot be re-sent.
    """
    rows = await pool.fetch(
        """UPDATE outbox SET status = 'retrying', updated_at = now(),
               attempts = attempts || jsonb_build_array('retry requested by an operator')
           WHERE key IN (
               SELECT key FROM outbox
               WHERE status = ANY($1::text[])
                 AND (payload IS NOT NULL OR payload_sealed IS NOT NULL)
                 AND ($2::text[] IS NULL OR key = ANY($2::text[]))
                 AND ($3::text IS NULL OR number = $3)
               ORDER BY created_at, key LIMIT $4 FOR UPDATE SKIP LOCKED)
           RETURNING payload, payload_sealed""",
        list(statuses),
        keys,
        number,
        limit,
    )
    out: list[Notification] = []
    for r in rows:
        stored, erased = await at_rest.open_or_erased(pool, r["payload_sealed"])
        if not erased:
            out.append(Notification.model_validate(stored or r["payload"]))
    return out


async def waiting(
    pool: Pool,
    *,
    statuses: tuple[str, ...] = ("failed", "uncertain"),
    number: str | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """Rows that need an operator's attention (or are still being retried)."""
    rows = await pool.fetch(
        """SELECT key, number, template, recipient_kind, recipient_id, status, channel,
                  attempts, updated_at,
                  (payload IS NOT NULL OR payload_sealed IS NOT NULL) AS resendable
           FROM outbox WHERE status = ANY($1::text[]) AND ($2::text IS NULL OR number = $2)
           ORDER BY updated_at, key LIMIT $3""",
        list(statuses),
        number,
        limit,
    )
    return [dict(r) for r in rows]


async def for_request(pool: Pool, number: str) -> list[dict[str, Any]]:
    """The request's messages and their fate; never the message itself."""
    rows = await pool.fetch(
        """SELECT key, number, template, recipient_kind, recipient_id, status, channel,
                  attempts, created_at, updated_at, sent_at, failed_at, dispatch, tries,
                  next_attempt_at
           FROM outbox WHERE number = $1 ORDER BY created_at, key""",
        number,
    )
    return [dict(r) for r in rows]


async def forget_customer(pool: Pool, customer_id: str) -> int:
    """Drop the stored messages (with contact details) of a customer being erased; those
    messages can then no longer be re-sent. Returns how many rows held one."""
    result: str = await pool.execute(
        """UPDATE outbox SET payload = NULL, payload_sealed = NULL, updated_at = now()
           WHERE recipient_kind = 'customer' AND recipient_id = $1
             AND (payload IS NOT NULL OR payload_sealed IS NOT NULL)""",
        customer_id,
    )
    return int(result.rsplit(" ", 1)[-1])
