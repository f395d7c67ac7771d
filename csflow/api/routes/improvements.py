"""/improvements: the negative-feedback loop's tasks, listed and closed by people.

Closing goes through the task's own workflow (Update `complete_improvement`), which tells
the parent request; the parent tells the customer what changed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import Field, ValidationError
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from csflow import taxonomy
from csflow.api import auth
from csflow.api.deps import Pool
from csflow.api.errors import refusal
from csflow.contracts import Actor, CompleteImprovement, ImprovementRow, Model
from csflow.contracts.commands import Department, TaxonomyKey
from csflow.domain.lifecycle import TaskCommand
from csflow.refusals import Refusal, run_has_ended
from csflow.reports.config import ReportsConfigError
from csflow.store import improvements
from csflow.store.tokens import TokenInfo

router = APIRouter(prefix="/improvements", tags=["improvements"])
# The same roles the task's workflow accepts (csflow.domain.lifecycle.REQUIRED_ROLES).
_CLOSER = auth.require(
    auth.command_roles(TaskCommand.COMPLETE_IMPROVEMENT), TaskCommand.COMPLETE_IMPROVEMENT.value
)


class CompleteBody(Model):
    """What changed; `actor` is the token's own person unless a service names one."""

    actor: Actor | None = None
    what_changed: Annotated[str, Field(min_length=1, max_length=4000)]
    cause: TaxonomyKey | None = Field(
        default=None, description="Root cause (a `causes` key of the reports config)."
    )
    responsible_department: Department | None = None


@router.get(
    "",
    response_model=list[ImprovementRow],
    dependencies=[Depends(auth.require(auth.READERS, "listing improvement tasks"))],
)
async def list_improvements(
    pool: Pool, status: str | None = None, department: str | None = None
) -> list[ImprovementRow]:
    """`status=open` includes overdue tasks."""
    return await improvements.list_tasks(pool, status, department)


@router.post(
    "/{task_id}/complete",
    response_model=ImprovementRow,
    summary=("Close an improvement task with what changed; the customer is told"),
    responses={
        404: {"description": "Unknown task"},
        409: {"description": "Already closed"},
        403: {"description": "Role lacks the right"},
    },
)
async def complete(
    task_id: str,
    body: CompleteBody,
    request: Request,
    pool: Pool,
    who: Annotated[TokenInfo, Depends(_CLOSER)],
) -> ImprovementRow | JSONResponse:
    try:
        command = CompleteImprovement(
            actor=auth.bind_actor(who, body.actor),
            what_changed=body.what_changed,
            cause=body.cause,
            responsible_department=body.responsible_department,
        )
    except ValidationError as err:
        raise RequestValidationError(err.errors(include_url=False, include_context=False)) from None
    try:
        problem = taxonomy.problem(command)
    except ReportsConfigError as err:
        return refusal(Refusal.UNAVAILABLE.value, f"the reports config cannot be used: {err}")
    if problem is not None:
        return refusal(Refusal.INVALID.value, problem)
    handle = request.app.state.temporal.get_workflow_handle(task_id)
    try:
        row: ImprovementRow = await handle.execute_update(
            TaskCommand.COMPLETE_IMPROVEMENT.value, command, result_type=ImprovementRow
        )
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        kind = cause.type if isinstance(cause, ApplicationError) else None
        return refusal(kind, str(cause))
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            # The server's wording differs when the task closes while the Update is in
            # flight; the task's own row says whether it ever existed.
            ended = run_has_ended(err.message) or await improvements.task_exists(pool, task_id)
            kind = Refusal.ILLEGAL_STATE if ended else Refusal.UNKNOWN
            return refusal(kind, f"improvement task {task_id}: {err.message}")
        raise
    return row
