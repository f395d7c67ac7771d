"""Draining the waiting queue: give queued requests to whoever has room, and tell them.

Called when capacity frees up — by the `release_assignment` and `transfer_assignment`
activities, by the staff API and by `csflow staff …` — so it lives here, not in the
activity module the API and CLI may not import.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg
import structlog
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError

from csflow.contracts import SYSTEM, AssignmentMade
from csflow.domain.org import Organisation
from csflow.store import staff

log = structlog.get_logger(__name__)


async def holder_team(
    pool: asyncpg.Pool[Any], org: Organisation | None, staff_id: str | None
) -> str | None:
    """The team a request's new holder is in, which the request records for
    `team_supervisor` (docs/policy.md `[ownership]`): the organisation chart's team that
    lists them as a member (the team the ladder's `supervisor` starts from), else the
    staff directory's `team` column (`csflow scorecard team`), else none."""
    if staff_id is None:
        return None
    found = org.team_of(staff_id) if org is not None else None
    if found is not None:
        return found[1]
    team: str | None = await pool.fetchval("SELECT team FROM staff WHERE id = $1", staff_id)
    return team or None


async def drain_and_notify(
    pool: asyncpg.Pool[Any], client: Client | None, org: Organisation | None = None
) -> list[str]:
    """Assign what the queue can and tell each request through its `assignment_made`
    Update; returns the numbers assigned. A request that ended or was assigned by hand
    meanwhile refuses the Update, and its place is given back. `org`: the chart the
    holder's team is looked up in first (the worker has it); without it, the directory's."""
    assigned = []
    for number, pick in await staff.drain_queue(pool, _now()):
        assert pick.staff_id is not None
        if client is None:
            continue
        handle = client.get_workflow_handle(number)
        try:
            await handle.execute_update(
                "assignment_made",
                AssignmentMade(
                    actor=SYSTEM,
                    assignee=pick.staff_id,
                    department=pick.department,
                    team=await holder_team(pool, org, pick.staff_id),
                    rule=pick.rule,
                ),
                id=f"assignment-{number}-{pick.staff_id}",
            )
            assigned.append(number)
        except (WorkflowUpdateFailedError, RPCError) as err:
            log.info("queue.assignment_declined", request_number=number, error=str(err))
            await staff.release(pool, number, _now())
    return assigned


def _now() -> datetime:
    return datetime.now(UTC)
