"""Report activities: every SQL statement the Report workflow needs runs here."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from csflow.reports import service
from csflow.reports.metrics import MissingRollup
from csflow.reports.model import ForecastInput, PublishInput, ReportSummary, RollupInput
from csflow.reports.rollup import rollup_day

log = structlog.get_logger(__name__)

# No retry fixes these: the data or the request is wrong. Connection trouble is retried.
_FINAL = (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError, MissingRollup, ValueError)


class ReportActivities:
    def __init__(self, pool: asyncpg.Pool[Any]) -> None:
        self._pool = pool

    @activity.defn(name="report_rollup_day")
    async def rollup_day(self, inp: RollupInput) -> bool:
        """True when the day was (re)computed, False when a settled rollup was kept."""
        with _final_errors():
            done = await rollup_day(self._pool, inp.day, inp.time_zone, force=inp.force)
        log.info("report.rollup", day=inp.day.isoformat(), time_zone=inp.time_zone, computed=done)
        return done

    @activity.defn(name="report_publish")
    async def publish(self, inp: PublishInput) -> ReportSummary:
        with _final_errors():
            report = await service.publish(
                self._pool, inp.kind, inp.period, inp.time_zone, datetime.now(UTC), inp.top_n
            )
        log.info("report.published", kind=inp.kind, period=inp.period)
        return ReportSummary(
            kind=report.kind,
            period=report.period,
            generated_at=report.generated_at,
            headline={
                "received": report.received,
                "sla_compliance": report.sla_compliance.rate,
                "nps": report.nps.score,
                "open_improvements": report.open_improvements,
            },
        )

    @activity.defn(name="report_forecast")
    async def forecast(self, inp: ForecastInput) -> ReportSummary:
        with _final_errors():
            result = await service.produce_forecast(
                self._pool, inp.as_of, inp.time_zone, inp.horizon_days, datetime.now(UTC)
            )
        log.info("report.forecast", as_of=inp.as_of.isoformat(), series=len(result.series))
        return ReportSummary(
            kind="forecast",
            period=inp.as_of.isoformat(),
            generated_at=result.generated_at,
            headline={
                "series": len(result.series),
                "next_day_requests": result.staffing[0].requests if result.staffing else None,
                "backtest_mae": result.total_backtest_mae,
            },
        )


@contextmanager
def _final_errors() -> Iterator[None]:
    """Errors no retry can fix fail the activity at once, naming the cause."""
    try:
        yield
    except _FINAL as err:
        raise ApplicationError(
            f"{type(err).__name__}: {err}", type=type(err).__name__, non_retryable=True
        ) from err
