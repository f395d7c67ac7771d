"""The dead-letter queue: the parts of a request's write the database refused, set aside
in `persist_dead_letters` with the database's reason, and what of that may be shown.

Separate from the write (`persist.py`) because it has its own readers and rules: ops read
a letter whole (its payload may quote the refused values), while logs, Temporal failures
and the UI get only a reason with the values withheld, since those must stay free of
personal data (docs/events.md).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    Pool: TypeAlias = asyncpg.Pool[Any]
    Conn: TypeAlias = asyncpg.Connection[Any] | PoolConnectionProxy[Any]


@dataclass(frozen=True)
class DeadLetter:
    """One part of a write the database refused, as set aside."""

    part: str  # intake | row | event
    seq: int | None
    version: int
    error: str  # whole, with the database's DETAIL (which may quote the refused row)
    payload: str

    @property
    def reason(self) -> str:
        """The error without the refused values, for logs and alerts."""
        return _withheld(self.error.split("\n", 1)[0])


# A value the driver could not encode is quoted in its message: withhold it.
_ARGUMENT = re.compile(r"(query argument \$\d+): .*", re.S)


def _withheld(message: str) -> str:
    return _ARGUMENT.sub(r"\1 (value withheld)", message)[:300]


def public_reason(err: BaseException) -> str:
    """Why the database refused, without the values it refused: no DETAIL (which quotes
    the failing row) and no quoted argument. Safe for logs, Temporal failures and the
    UI's details, which must stay free of personal data."""
    message = getattr(err, "message", None) or str(err).split("\n", 1)[0]
    return f"{type(err).__name__}: {_withheld(message)}"


def refusal(err: Exception) -> str:
    """The database's reason, shortened, in characters a text column can hold."""
    text = f"{type(err).__name__}: {err}"[:1000]
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\0")


def payload(data: Any) -> str:
    """ASCII JSON: NUL bytes and lone surrogates become escapes a text column can hold,
    so the letter of a part refused for its characters is never refused again."""
    return json.dumps(data, ensure_ascii=True, default=str)


def intake_payload(intake: Any) -> str:
    """An intake as a letter: its personal data is in the row, sealed, not here."""
    return payload(
        intake.model_dump(
            mode="json", exclude={"customer": {"name", "contact"}, "description": True}
        )
    )


async def set_aside(conn: Conn, number: str, dead: list[DeadLetter]) -> None:
    """Store the letters, in the write's own transaction; a repeat of the same salvage is
    a no-op."""
    await conn.executemany(
        """INSERT INTO persist_dead_letters (number, part, seq, version, error, payload)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING""",
        [(number, d.part, d.seq, d.version, d.error, d.payload) for d in dead],
    )


async def of_request(pool: Pool, number: str) -> list[DeadLetter]:
    """A request's letters, oldest first."""
    rows = await pool.fetch(
        """SELECT part, seq, version, error, payload FROM persist_dead_letters
           WHERE number = $1 ORDER BY id""",
        number,
    )
    return [DeadLetter(r["part"], r["seq"], r["version"], r["error"], r["payload"]) for r in rows]
