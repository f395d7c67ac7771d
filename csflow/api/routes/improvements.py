"""/improvements: the negative-feedback loop's tasks, listed and closed by people.

Closing goes through the task's own workflow (Update `complete_improvement`), which tells
the parent request; the parent tells the customer what changed.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from csflow.api.deps import Pool
from csflow.contracts import CompleteImprovement, ImprovementRow
from csflow.store import improvements

router = APIRouter(prefix="/improvements", tags=["improvements"])


@router.get("", response_model=list[ImprovementRow])
async def list_improvements(pool: Pool, status: str | None = None,
                            department: str | None = None) -> list[ImprovementRow]:
    """`status=open` includes overdue tasks."""
    return await improvements.list_tasks(pool, status, department)


@router.post("/{task_id}/complete", response_model=ImprovementRow,
             responses={404: {"description": "Unknown task"},
                        409: {"description": "Already closed"},
                        403: {"description": "Role lacks the right"}})
async def complete(task_id: str, body: CompleteImprovement, request: Request) -> ImprovementRow:
    handle = request.app.state.temporal.get_workflow_handle(task_id)
    try:
        row: ImprovementRow = await handle.execute_update(
            "complete_improvement", body, result_type=ImprovementRow)
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        kind = cause.type if isinstance(cause, ApplicationError) else None
        raise HTTPException(403 if kind == "Forbidden" else 409, str(cause)) from err
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            code = 409 if "completed" in err.message else 404
            raise HTTPException(code, f"improvement task {task_id}: {err.message}") from err
        raise
    return row
