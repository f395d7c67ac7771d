"""/improvements: the negative-feedback loop's tasks, listed and closed by people.

Closing goes through the task's own workflow (Update `complete_improvement`), which tells
the parent request; the parent tells the customer what changed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import Field
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from csflow.api import auth
from csflow.api.deps import Pool
from csflow.contracts import Actor, CompleteImprovement, ImprovementRow, Model
from csflow.store import improvements
from csflow.store.tokens import TokenInfo

router = APIRouter(prefix="/improvements", tags=["improvements"])
_CLOSER = auth.require(auth.IMPROVERS, "closing an improvement task")


class CompleteBody(Model):
    """What changed; `actor` is the token's own person unless a service names one."""

    actor: Actor | None = None
    what_changed: Annotated[str, Field(min_length=1, max_length=4000)]


@router.get("", response_model=list[ImprovementRow],
            dependencies=[Depends(auth.require(auth.READERS, "listing improvement tasks"))])
async def list_improvements(pool: Pool, status: str | None = None,
                            department: str | None = None) -> list[ImprovementRow]:
    """`status=open` includes overdue tasks."""
    return await improvements.list_tasks(pool, status, department)


@router.post("/{task_id}/complete", response_model=ImprovementRow,
             responses={404: {"description": "Unknown task"},
                        409: {"description": "Already closed"},
                        403: {"description": "Role lacks the right"}})
async def complete(task_id: str, body: CompleteBody, request: Request, pool: Pool,
                   who: Annotated[TokenInfo, Depends(_CLOSER)]) -> ImprovementRow:
    command = CompleteImprovement(actor=auth.bind_actor(who, body.actor),
                                  what_changed=body.what_changed)
    handle = request.app.state.temporal.get_workflow_handle(task_id)
    try:
        row: ImprovementRow = await handle.execute_update(
            "complete_improvement", command, result_type=ImprovementRow)
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        kind = cause.type if isinstance(cause, ApplicationError) else None
        raise HTTPException(403 if kind == "Forbidden" else 409, str(cause)) from err
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            # The server's wording differs when the task closes while the Update is in
            # flight; the task's own row says whether it ever existed.
            known = await improvements.task_exists(pool, task_id)
            code = 409 if known or "completed" in err.message else 404
            raise HTTPException(code, f"improvement task {task_id}: {err.message}") from err
        raise
    return row
