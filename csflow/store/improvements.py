"""Improvement tasks: written by their workflow, listed for people. Status only moves
forward (open → overdue → closed), so a late retry never reopens a closed task."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import asyncpg

from csflow.contracts import ImprovementRow
from csflow.contracts.intake import problem_reference
from csflow.crypto import at_rest

if TYPE_CHECKING:
    from typing import TypeAlias

    Pool: TypeAlias = asyncpg.Pool[Any]

# What a listing shows in place of the problem: the customer's words are read through
# the audited personal-data route (GET /requests/{number}/customer, `words`).
WITHHELD = "(the customer's words: read them with the request's personal data)"


async def save(pool: Pool, row: ImprovementRow) -> None:
    """The problem text is the customer's own words: sealed with their key (at_rest), as
    `{"reason": text}` like the `improvement_opened` event it is copied from."""
    sealed: bytes | None = None
    if row.problem == problem_reference(row.task_id):
        sealed = await _problem_of(pool, row)
    else:  # the text itself (a task opened before references, or by hand)
        customer_id: str | None = await pool.fetchval(
            "SELECT customer_id FROM requests WHERE number = $1", row.number
        )
        if customer_id is not None and row.problem != WITHHELD:
            key = await at_rest.keys(pool).for_customer(customer_id)
            sealed = at_rest.seal(key, {"reason": row.problem})
    await pool.execute(
        """INSERT INTO improvement_tasks AS t (task_id, number, department, problem, score,
               status, opened_at, due_at, closed_at, closed_by, what_changed, problem_sealed)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
           ON CONFLICT (task_id) DO UPDATE SET status = $6, closed_at = $9, closed_by = $10,
               what_changed = $11, updated_at = now()
           WHERE array_position(ARRAY['open', 'overdue', 'closed'], t.status)
                 <= array_position(ARRAY['open', 'overdue', 'closed'], EXCLUDED.status)""",
        row.task_id,
        row.number,
        row.department,
        None if sealed else row.problem,
        row.score,
        row.status,
        row.opened_at,
        row.due_at,
        row.closed_at,
        row.closed_by,
        row.what_changed,
        sealed,
    )


async def _problem_of(pool: Pool, row: ImprovementRow) -> bytes:
    """The sealed problem from the parent's `improvement_opened` event. The parent starts
    the child just before it writes that event, so a first save may be early: the
    activity's retry waits for it."""
    found = await pool.fetchrow(
        """SELECT sealed, reason FROM request_events
           WHERE number = $1 AND kind = 'improvement_opened' AND data ->> 'task_id' = $2""",
        row.number,
        row.task_id,
    )
    if found is None:
        raise LookupError(f"the improvement_opened event of {row.task_id} is not written yet")
    if found["sealed"] is not None:
        return bytes(found["sealed"])  # {"reason": the problem}, as the event holds it
    raise LookupError(f"the improvement_opened event of {row.task_id} holds no sealed problem")


async def task_exists(pool: Pool, task_id: str) -> bool:
    found: bool = await pool.fetchval(
        "SELECT EXISTS (SELECT 1 FROM improvement_tasks WHERE task_id = $1)", task_id
    )
    return found


async def list_tasks(
    pool: Pool, status: str | None = None, department: str | None = None
) -> list[ImprovementRow]:
    rows = await pool.fetch(
        """SELECT * FROM improvement_tasks
           WHERE ($1::text IS NULL OR status = $1 OR ($1 = 'open' AND status = 'overdue'))
             AND ($2::text IS NULL OR department = $2)
           ORDER BY due_at""",
        status,
        department,
    )
    return [as_row(r) for r in rows]


def as_row(r: Any) -> ImprovementRow:
    """A task as listed: the problem withheld when it is sealed (never opened here)."""
    fields = {k: r[k] for k in ImprovementRow.model_fields}
    if r["problem_sealed"] is not None or fields["problem"] is None:
        fields["problem"] = WITHHELD
    return ImprovementRow(**fields)
