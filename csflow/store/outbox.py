"""The outbox: one row per message key; its status says whether it may be sent again."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import asyncpg

from csflow.notify.models import Notification

if TYPE_CHECKING:
    from typing import TypeAlias

    Pool: TypeAlias = asyncpg.Pool[Any]


async def claim(pool: Pool, n: Notification) -> tuple[str, str | None]:
    """Insert the message as pending, or return the status and channel it already has."""
    await pool.execute(
        """INSERT INTO outbox (key, number, template, recipient_kind, recipient_id, status)
           VALUES ($1, $2, $3, $4, $5, 'pending') ON CONFLICT (key) DO NOTHING""",
        n.key, n.number, n.template, n.recipient.kind, n.recipient.id)
    row = await pool.fetchrow("SELECT status, channel FROM outbox WHERE key = $1", n.key)
    assert row is not None
    return str(row["status"]), row["channel"]


async def mark(pool: Pool, key: str, status: str, channel: str | None,
               attempt: str | None = None) -> None:
    """Committed before and after every send: the record a crash leaves behind."""
    await pool.execute(
        """UPDATE outbox SET status = $2, channel = COALESCE($3, channel),
               attempts = CASE WHEN $4::text IS NULL THEN attempts
                               ELSE attempts || jsonb_build_array($4::text) END,
               sent_at = CASE WHEN $2 = 'sent' THEN now() ELSE sent_at END,
               updated_at = now()
           WHERE key = $1""",
        key, status, channel, attempt)


async def for_request(pool: Pool, number: str) -> list[dict[str, Any]]:
    rows = await pool.fetch("SELECT * FROM outbox WHERE number = $1 ORDER BY created_at, key",
                            number)
    return [dict(r) for r in rows]
