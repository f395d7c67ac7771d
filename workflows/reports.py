"""Report: the daily and weekly reports and the demand forecast, run from Temporal Schedules.

The workflow only decides *which* period and in what order; every query runs in an
activity. A scheduled run derives its period from the time it was scheduled for (the
`TemporalScheduledStartTime` the schedule stamps on it), not from when it happened to
start, so a run delayed past midnight still reports the right day. Rollups run one at a
time on purpose: they share the worker's pool with request persistence, which must never
queue behind a report.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError

    from activities.reports import ReportActivities
    from csflow.reports.model import (
        WORKFLOW_TYPE,
        ForecastInput,
        PublishInput,
        ReportInput,
        ReportSummary,
        RollupInput,
    )
    from csflow.reports.periods import local_day, parse, previous

SCHEDULED_AT = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")
REPORT_TIMEOUT = timedelta(minutes=15)
REPORT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=20,
)


@workflow.defn(name=WORKFLOW_TYPE, failure_exception_types=[ValidationError])
class ReportWorkflow:
    @workflow.run
    async def run(self, inp: ReportInput) -> ReportSummary:
        at = _scheduled_time()
        tz = inp.time_zone
        if inp.kind == "forecast":
            as_of = date.fromisoformat(inp.period) if inp.period else local_day(at, tz)
            return await workflow.execute_activity_method(
                ReportActivities.forecast,
                ForecastInput(as_of=as_of, time_zone=tz, horizon_days=inp.horizon_days),
                start_to_close_timeout=REPORT_TIMEOUT,
                retry_policy=REPORT_RETRY,
                summary=f"forecast from {as_of}",
            )
        period = parse(inp.kind, inp.period) if inp.period else previous(inp.kind, at, tz)
        for day in period.days:
            await workflow.execute_activity_method(
                ReportActivities.rollup_day,
                RollupInput(day=day, time_zone=tz, force=inp.refresh or inp.kind == "daily"),
                start_to_close_timeout=REPORT_TIMEOUT,
                retry_policy=REPORT_RETRY,
                summary=f"roll up {day}",
            )
        return await workflow.execute_activity_method(
            ReportActivities.publish,
            PublishInput(kind=inp.kind, period=period.label, time_zone=tz, top_n=inp.top_n),
            start_to_close_timeout=REPORT_TIMEOUT,
            retry_policy=REPORT_RETRY,
            summary=f"publish {inp.kind} {period.label}",
        )


def _scheduled_time() -> datetime:
    """When the schedule meant this run to happen; the start time for a manual run."""
    scheduled = workflow.info().typed_search_attributes.get(SCHEDULED_AT)
    return scheduled or workflow.info().start_time
