"""The activities an improvement task calls: saving its row for lists and reports, and
(patch `improvement-escalation-notices`) telling the people an overdue task escalates to."""

from __future__ import annotations

import asyncio

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.assignment import AssignmentActivities
    from activities.followup import FollowUpActivities
    from activities.notify import NotifyActivities
    from csflow.contracts import ImprovementRow
    from csflow.domain.org_routes import EscalationRouteInput
    from csflow.notify.models import Notification, Recipient
    from workflows import options


async def save(row: ImprovementRow) -> None:
    await workflow.execute_activity_method(
        FollowUpActivities.save_improvement,
        row,
        start_to_close_timeout=options.PERSIST_TIMEOUT,
        retry_policy=options.PERSIST_RETRY,
    )


async def tell_overdue(row: ImprovementRow, to: str) -> None:
    """An overdue task's escalation reaches people: the role (`department_head`, then
    `director`) resolved for the task's own department through the organisation, each
    told once (the key names the task and the rung)."""
    route = await workflow.execute_activity_method(
        AssignmentActivities.route_escalation,
        EscalationRouteInput(
            number=row.number, department=row.department, assignee=None, roles=[to]
        ),
        start_to_close_timeout=options.ASSIGN_TIMEOUT,
        retry_policy=options.ASSIGN_RETRY,
        summary=f"improvement overdue: {to}",
    )
    sends = []
    for r in route.recipients:
        recipient = (
            Recipient(kind="staff", id=r.staff_id, channels=["chat", "email"])
            if r.staff_id
            else Recipient(kind="role", id=r.role, channels=["email", "chat"])
        )
        sends.append(
            workflow.start_activity_method(
                NotifyActivities.send,
                Notification(
                    key=f"{row.task_id}/overdue/{to}/{recipient.kind}:{recipient.id}",
                    number=row.number,
                    template="staff_alert",
                    recipient=recipient,
                    priority="P2",
                    variables={
                        "number": row.number,
                        "reason": f"improvement task {row.task_id} ({row.department}) is overdue "
                        f"since {row.due_at.isoformat()}: {row.problem}",
                    },
                ),
                start_to_close_timeout=options.NOTIFY_TIMEOUT,
                schedule_to_close_timeout=options.NOTIFY_WITHIN,
                retry_policy=options.NOTIFY_RETRY,
            )
        )
    await asyncio.gather(*sends, return_exceptions=True)
