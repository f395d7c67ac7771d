"""The report schedules exist after start-up, survive a second start-up unchanged in
state, and a triggered run stores its report (real dev server, real PostgreSQL)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.client import (
    Client,
    ScheduleActionExecutionStartWorkflow,
    ScheduleActionStartWorkflow,
    ScheduleBackfill,
    ScheduleHandle,
    ScheduleOverlapPolicy,
    WorkflowFailureError,
)
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.reports import ReportActivities
from csflow.reports import store
from csflow.reports.model import ReportInput, ReportSummary
from csflow.reports.periods import local_day
from csflow.reports.schedules import SCHEDULE_IDS, ensure_schedules
from tests.helpers import eventually, fresh_queue
from tests.reports.dataset import TZ, WEEK, Req, insert
from workflows.reports import ReportWorkflow


@pytest.fixture
async def schedules(ts_env: WorkflowEnvironment, pool: Any) -> AsyncIterator[tuple[str, Any]]:
    """A worker with only the Report workflow on a fresh queue; schedules removed after."""
    queue = fresh_queue()
    reports = ReportActivities(pool)
    async with Worker(
        ts_env.client,
        task_queue=queue,
        workflows=[ReportWorkflow],
        activities=[reports.rollup_day, reports.publish, reports.forecast],
    ):
        try:
            yield queue, ts_env.client
        finally:
            for sid in SCHEDULE_IDS:
                with contextlib.suppress(RPCError):  # not every test creates them
                    await ts_env.client.get_schedule_handle(sid).delete()


async def run_of(handle: ScheduleHandle, client: Client) -> Any:
    """The result of the workflow the schedule's latest action started."""

    async def started() -> str:
        actions = (await handle.describe()).info.recent_actions
        assert actions, "the schedule has not started anything yet"
        action = actions[-1].action
        assert isinstance(action, ScheduleActionExecutionStartWorkflow)
        return action.workflow_id

    workflow_id = await eventually(started, timeout=20)
    return await client.get_workflow_handle(workflow_id).result()


async def test_ensure_schedules_creates_them_once_and_keeps_a_pause(
    schedules: tuple[str, Client],
) -> None:
    queue, client = schedules
    assert await ensure_schedules(client, "some-old-queue") == list(SCHEDULE_IDS)
    await client.get_schedule_handle("csflow-report-weekly").pause(note="audit week")
    # A second start-up (new task queue) updates the action and keeps the operator's pause.
    assert await ensure_schedules(client, queue) == list(SCHEDULE_IDS)
    for sid in SCHEDULE_IDS:
        desc = await client.get_schedule_handle(sid).describe()
        action = desc.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow)
        assert (action.workflow, action.task_queue) == ("Report", queue)
        assert desc.schedule.spec.time_zone_name == TZ
        assert desc.schedule.state.paused is (sid == "csflow-report-weekly")
    weekly = (await client.get_schedule_handle("csflow-report-weekly").describe()).schedule
    cal = weekly.spec.calendars[0]
    assert ([r.start for r in cal.day_of_week], [r.start for r in cal.hour]) == ([1], [1])


async def test_a_triggered_daily_run_stores_yesterdays_report(
    schedules: tuple[str, Client],
    pool: Any,
) -> None:
    queue, client = schedules
    await ensure_schedules(client, queue)
    yesterday = local_day(datetime.now(UTC), TZ) - timedelta(days=1)
    at = f"{yesterday.day} 10:00"
    req = Req("Y1", at, "complaint", "logistics", "phone", "P1").on(
        at, "assigned", department="logistics"
    )
    await insert(pool, [req], month=(yesterday.year, yesterday.month))

    daily = client.get_schedule_handle("csflow-report-daily")
    await daily.trigger()
    summary = await run_of(daily, client)
    assert (summary["kind"], summary["period"]) == ("daily", yesterday.isoformat())
    stored = await store.load(pool, "daily", yesterday.isoformat())
    assert stored is not None
    assert stored.report().received == 1
    assert stored.report().by_department[0].key == "logistics"

    forecast = client.get_schedule_handle("csflow-report-forecast")
    await forecast.trigger()
    assert (await run_of(forecast, client))["kind"] == "forecast"
    today = yesterday + timedelta(days=1)
    stored_fc = await store.load(pool, "forecast", today.isoformat())
    assert stored_fc is not None and stored_fc.forecast().history_days == 1


async def test_a_run_reports_the_day_before_the_time_it_was_scheduled_for(
    schedules: tuple[str, Client],
    pool: Any,
) -> None:
    """A run made up late (here a backfill of Tuesday 00:30) still reports Monday."""
    queue, client = schedules
    await ensure_schedules(client, queue)
    await insert(pool)
    daily = client.get_schedule_handle("csflow-report-daily")
    tuesday = datetime(2026, 11, 16, 16, 29, tzinfo=UTC)  # 00:29 on the 17th in Shanghai
    await daily.backfill(
        ScheduleBackfill(
            start_at=tuesday,
            end_at=tuesday + timedelta(minutes=2),
            overlap=ScheduleOverlapPolicy.ALLOW_ALL,
        )
    )
    summary = await run_of(daily, client)
    assert (summary["kind"], summary["period"]) == ("daily", "2026-11-16")
    stored = await store.load(pool, "daily", "2026-11-16")
    assert stored is not None and stored.report().received == 2  # R1, R2


async def test_a_weekly_run_started_by_hand_and_bad_input_failing_fast(
    schedules: tuple[str, Client],
    pool: Any,
) -> None:
    queue, client = schedules
    await insert(pool)
    summary = await client.execute_workflow(
        "Report",
        ReportInput(kind="weekly", period=WEEK, time_zone=TZ),
        id=fresh_queue(),
        task_queue=queue,
        result_type=ReportSummary,
    )
    assert (summary.period, summary.headline["received"]) == (WEEK, 7)
    assert summary.headline["sla_compliance"] == pytest.approx(8 / 14)
    assert await pool.fetchval("SELECT count(*) FROM report_days") == 7

    # A period that does not parse fails the workflow at once, naming the field.
    with pytest.raises(WorkflowFailureError) as err:
        await client.execute_workflow(
            "Report",
            {"kind": "weekly", "period": "2026-47"},
            id=fresh_queue(),
            task_queue=queue,
            execution_timeout=timedelta(seconds=30),
        )
    assert "ISO week" in str(err.value.cause)


async def test_the_monthly_run_on_the_first_reports_last_month(
    schedules: tuple[str, Client],
    pool: Any,
) -> None:
    """Backfilled 1 December 02:00 Shanghai: November, summed from its 30 daily rollups."""
    queue, client = schedules
    await ensure_schedules(client, queue)
    monthly = (await client.get_schedule_handle("csflow-report-monthly").describe()).schedule
    cal = monthly.spec.calendars[0]
    assert ([r.start for r in cal.day_of_month], [r.start for r in cal.hour]) == ([1], [2])
    await insert(pool)
    first = datetime(2026, 11, 30, 17, 59, tzinfo=UTC)  # 01:59 on 1 December in Shanghai
    handle = client.get_schedule_handle("csflow-report-monthly")
    await handle.backfill(
        ScheduleBackfill(
            start_at=first,
            end_at=first + timedelta(minutes=2),
            overlap=ScheduleOverlapPolicy.ALLOW_ALL,
        )
    )
    summary = await run_of(handle, client)
    assert (summary["kind"], summary["period"]) == ("monthly", "2026-11")
    stored = await store.load(pool, "monthly", "2026-11")
    assert stored is not None
    # Every request of dataset.py was received in November (R9 on the 12th … R8 on the 23rd).
    assert stored.report().received == 10
    assert await pool.fetchval("SELECT count(*) FROM report_days") == 30
