"""The Temporal Schedules that run the reports: created once, brought up to date after.

`ensure_schedules` runs at every worker start and `csflow up`, so it must be harmless to
repeat: it creates what is missing and rewrites the spec and action of what exists (a new
task queue or time zone takes effect), keeping the schedule's state, so a schedule an
operator paused stays paused. Times are local to the organisation's time zone, after the
day's last events have settled (see rollup.SETTLE).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from csflow.domain.policy import DEFAULT_POLICY
from csflow.reports.model import WORKFLOW_TYPE, ReportInput, ReportKind


@dataclass(frozen=True)
class ReportSchedule:
    id: str
    kind: ReportKind
    hour: int
    minute: int
    weekday: int | None = None  # Temporal counts 0 = Sunday, 1 = Monday
    month_day: int | None = None  # 1 = the first of the month


SCHEDULES = (
    ReportSchedule("csflow-report-daily", "daily", hour=0, minute=30),
    ReportSchedule("csflow-report-weekly", "weekly", hour=1, minute=0, weekday=1),
    ReportSchedule("csflow-report-forecast", "forecast", hour=1, minute=30),
    # After the daily run of the month's last day (00:30) and the weekly one (Mondays
    # 01:00): by 02:00 every day of last month is rolled up, so the month only sums them.
    ReportSchedule("csflow-report-monthly", "monthly", hour=2, minute=0, month_day=1),
)
SCHEDULE_IDS = tuple(s.id for s in SCHEDULES)


def build(s: ReportSchedule, task_queue: str, time_zone: str) -> Schedule:
    when = ScheduleCalendarSpec(
        hour=[ScheduleRange(s.hour)],
        minute=[ScheduleRange(s.minute)],
        day_of_week=[ScheduleRange(s.weekday)] if s.weekday is not None else [ScheduleRange(0, 6)],
        day_of_month=[ScheduleRange(s.month_day)]
        if s.month_day is not None
        else [ScheduleRange(1, 31)],
        comment=f"{s.kind} report",
    )
    return Schedule(
        action=ScheduleActionStartWorkflow(
            WORKFLOW_TYPE,
            ReportInput(kind=s.kind, time_zone=time_zone),
            id=s.id.removeprefix("csflow-"),
            task_queue=task_queue,
            execution_timeout=timedelta(hours=6),
        ),
        spec=ScheduleSpec(calendars=[when], time_zone_name=time_zone),
        # A run missed while the cluster was down is made up within a day; two runs of
        # the same report never overlap (the second would only repeat the first).
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(days=1)),
    )


async def ensure_schedules(
    client: Client, task_queue: str, time_zone: str | None = None
) -> list[str]:
    """Create or update the report schedules (daily, weekly, forecast, monthly); returns
    their ids."""
    tz = time_zone or DEFAULT_POLICY.calendar.time_zone
    for s in SCHEDULES:
        desired = build(s, task_queue, tz)
        try:
            await client.create_schedule(s.id, desired)
        except ScheduleAlreadyRunningError:
            await client.get_schedule_handle(s.id).update(_keeping_state(desired))
    return list(SCHEDULE_IDS)


def _keeping_state(desired: Schedule) -> Callable[[ScheduleUpdateInput], ScheduleUpdate]:
    def updater(current: ScheduleUpdateInput) -> ScheduleUpdate:
        desired.state = current.description.schedule.state
        return ScheduleUpdate(schedule=desired)

    return updater
