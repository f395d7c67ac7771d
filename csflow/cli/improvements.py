"""`csflow improvement …`: improvement tasks opened by negative feedback (issue 6)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import typer

from csflow.cli import connect, exits

improvement_app = typer.Typer(
    help="Improvement tasks from negative feedback.", no_args_is_help=True
)


@improvement_app.command("list")
def improvement_list(
    status: Annotated[
        str | None, typer.Option(help="open (incl. overdue), overdue, closed")
    ] = "open",
    department: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Improvement tasks with their deadlines."""
    from rich.console import Console
    from rich.table import Table

    from csflow.store import improvements

    async def fetch(pool: Any) -> list[Any]:
        return await improvements.list_tasks(pool, status, department)

    table = Table("task", "request", "department", "score", "status", "due", "problem")
    for t in connect.with_pool(fetch, size=1):
        table.add_row(
            t.task_id,
            t.number,
            t.department,
            str(t.score),
            t.status,
            t.due_at.isoformat(timespec="minutes"),
            t.problem[:60],
        )
    Console().print(table)


@improvement_app.command("complete")
def improvement_complete(
    task_id: str,
    what_changed: Annotated[str, typer.Option(help="told to the customer")],
    actor: Annotated[str, typer.Option(help="who closes it")],
    role: Annotated[str, typer.Option(help="their role")] = "supervisor",
    cause: Annotated[
        str | None, typer.Option(help="root cause: a `causes` key of the reports config")
    ] = None,
    responsible_department: Annotated[
        str | None, typer.Option(help="the department responsible for the cause (with --cause)")
    ] = None,
) -> None:
    """Close an improvement task; the customer is told what changed."""
    from pydantic import ValidationError
    from temporalio.client import WorkflowUpdateFailedError
    from temporalio.exceptions import ApplicationError
    from temporalio.service import RPCError, RPCStatusCode

    from csflow import taxonomy
    from csflow.contracts import Actor, CompleteImprovement, ImprovementRow
    from csflow.domain.lifecycle import TaskCommand
    from csflow.refusals import answer, run_has_ended
    from csflow.reports.config import ReportsConfigError

    try:
        command = CompleteImprovement(
            actor=Actor(id=actor, role=role),
            what_changed=what_changed,
            cause=cause,
            responsible_department=responsible_department,
        )
    except ValidationError as err:
        exits.fail(f"invalid: {err}", exits.BAD_INPUT)
    try:
        problem = taxonomy.problem(command)
    except ReportsConfigError as err:
        exits.fail(f"the reports config cannot be used: {err}", exits.UNAVAILABLE)
    if problem is not None:
        exits.fail(f"invalid: {problem}", exits.BAD_INPUT)
    found = connect.settings()

    async def run() -> ImprovementRow:
        client = await connect.temporal(found)
        row: ImprovementRow = await client.get_workflow_handle(task_id).execute_update(
            TaskCommand.COMPLETE_IMPROVEMENT.value, command, result_type=ImprovementRow
        )
        return row

    try:
        row = asyncio.run(run())
    except WorkflowUpdateFailedError as err:
        kind = err.cause.type if isinstance(err.cause, ApplicationError) else None
        exits.fail(f"refused: {err.cause}", answer(kind).exit)
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:  # the server did not take it: retry
            exits.fail(f"unavailable, nothing was changed: {err.message}", exits.UNAVAILABLE)
        # No such workflow, or its run has ended (the server's words for each differ).
        ended = run_has_ended(err.message)
        exits.fail(
            f"refused: improvement task {task_id} is already closed"
            if ended
            else f"not found: no improvement task {task_id}",
            exits.REFUSED,
        )
    except connect.Unavailable as err:
        exits.fail(f"unavailable, nothing was changed: {err}", exits.UNAVAILABLE)
    typer.echo(f"{row.task_id}: {row.status}")
