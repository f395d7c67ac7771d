"""Report operations on a pool, shared by the activities (scheduled runs) and the CLI.

Each is safe to repeat: rollups and stored reports are keyed, so a retried activity or a
second CLI run replaces what the first wrote.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from csflow.reports import metrics, store
from csflow.reports.demand import run_forecast
from csflow.reports.model import Forecast, Report
from csflow.reports.periods import PeriodKind, day_start, parse
from csflow.reports.rollup import rollup_day


async def publish(
    pool: Any, kind: PeriodKind, label: str, tz: str, generated_at: datetime, top_n: int = 10
) -> Report:
    """Assemble a report from the period's rollups and store it under (kind, period)."""
    period = parse(kind, label)
    report = metrics.assemble(
        period, tz, generated_at, await metrics.gather(pool, period, tz), top_n
    )
    await store.save(
        pool,
        kind,
        period.label,
        report.start,
        report.end,
        tz,
        generated_at,
        report.model_dump(mode="json"),
    )
    return report


async def produce(
    pool: Any,
    kind: PeriodKind,
    label: str,
    tz: str,
    generated_at: datetime,
    *,
    top_n: int = 10,
    refresh: bool = False,
) -> Report:
    """Roll up what the period lacks (or everything, with `refresh`), then publish."""
    for day in parse(kind, label).days:
        await rollup_day(pool, day, tz, force=refresh or kind == "daily")
    return await publish(pool, kind, label, tz, generated_at, top_n)


async def produce_forecast(
    pool: Any, as_of: date, tz: str, horizon: int, generated_at: datetime
) -> Forecast:
    result = await run_forecast(pool, as_of, tz, horizon, generated_at)
    end = day_start(date.fromordinal(as_of.toordinal() + horizon), tz)
    await store.save(
        pool,
        "forecast",
        as_of.isoformat(),
        day_start(as_of, tz),
        end,
        tz,
        generated_at,
        result.model_dump(mode="json"),
    )
    return result
