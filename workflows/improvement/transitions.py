"""Every change to an improvement task's row, as pure functions taking `now`."""

from __future__ import annotations

from datetime import datetime

from csflow.contracts import (
    CompleteImprovement,
    ImprovementInput,
    ImprovementResult,
    ImprovementRow,
)

# After the deadline: department head at once, the director one window later.
ESCALATE_TO = ("department_head", "director")


def opened(inp: ImprovementInput) -> ImprovementRow:
    window = inp.terms.improvement_window
    return ImprovementRow(
        task_id=inp.task_id,
        number=inp.number,
        department=inp.department,
        problem=inp.problem,
        score=inp.score,
        status="open",
        opened_at=inp.opened_at,
        due_at=window.due(inp.terms.calendar, inp.opened_at),
    )


def escalation_deadlines(row: ImprovementRow) -> list[tuple[str, datetime]]:
    """Whom the task escalates to, and when: at the due time, then one window later."""
    window = row.due_at - row.opened_at
    return list(zip(ESCALATE_TO, [row.due_at, row.due_at + window], strict=True))


def overdue(row: ImprovementRow, escalations: list[str], to: str) -> None:
    row.status = "overdue"
    escalations.append(to)


def closed(row: ImprovementRow, done: CompleteImprovement, now: datetime) -> ImprovementResult:
    row.status, row.closed_at = "closed", now
    row.closed_by, row.what_changed = done.actor.id, done.what_changed
    return ImprovementResult(
        task_id=row.task_id,
        what_changed=done.what_changed,
        closed_by=done.actor.id,
        closed_at=now,
        cause=done.cause,
        responsible_department=done.responsible_department,
    )
