"""The one activity an improvement task calls: saving its row for lists and reports."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.followup import FollowUpActivities
    from csflow.contracts import ImprovementRow
    from workflows import options


async def save(row: ImprovementRow) -> None:
    await workflow.execute_activity_method(
        FollowUpActivities.save_improvement,
        row,
        start_to_close_timeout=options.PERSIST_TIMEOUT,
        retry_policy=options.PERSIST_RETRY,
    )
