"""Demand history from the daily rollups, the forecast built on it, and the staff it implies.

History is read from `report_day_counts` (requests received per local day, by category and
by channel), so a forecast over months of a busy service reads a few thousand rows; days
not rolled up yet are rolled up first, once.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any, Literal

from csflow.domain.events import EventKind
from csflow.reports import forecast as fc
from csflow.reports.model import Forecast, SeriesForecast, StaffDay
from csflow.reports.periods import day_start, local_day
from csflow.reports.rollup import rollup_day

HISTORY_DAYS = 112  # sixteen weeks: enough seasons to fit, recent enough to matter
SHOWN_DAYS = 28  # history drawn beside the forecast
RATE_WINDOW_DAYS = 28  # handling rate: resolutions per agent-day over the last four weeks


async def history_start(pool: Any, as_of: date, tz: str) -> date | None:
    """First day of history: the first request ever, at most HISTORY_DAYS back."""
    first: datetime | None = await pool.fetchval(
        f"SELECT min(at) FROM request_events WHERE kind = '{EventKind.RECEIVED.value}' "
        "AND at < $1",
        day_start(as_of, tz))
    if first is None:
        return None
    return max(local_day(first, tz), as_of - timedelta(days=HISTORY_DAYS))


async def run_forecast(pool: Any, as_of: date, tz: str, horizon: int,
                       generated_at: datetime) -> Forecast:
    start = await history_start(pool, as_of, tz)
    days = [] if start is None else [start + timedelta(days=i)
                                     for i in range((as_of - start).days)]
    for day in days:
        await rollup_day(pool, day, tz)
    series = await _series(pool, tz, days)
    rate_from = as_of - timedelta(days=RATE_WINDOW_DAYS)
    row = await pool.fetchrow(
        """SELECT count(*) AS agent_days, coalesce(sum(n), 0)::bigint AS resolutions
           FROM report_day_counts
           WHERE time_zone = $1 AND metric = 'agent_day' AND day >= $2 AND day < $3""",
        tz, rate_from, as_of)
    # Model fitting is CPU work: off the event loop, so the worker keeps heartbeating.
    fitted = await asyncio.to_thread(_fit_all, series, horizon)
    totals = [sum(s.forecast[i] for s in fitted if s.dimension == "category")
              for i in range(horizon)]
    backtest = _total_backtest(series)
    result = Forecast(
        as_of=as_of, time_zone=tz, generated_at=generated_at, history_start=start,
        history_days=len(days), horizon_days=horizon, series=fitted,
        total_backtest_mae=backtest.mae, total_backtest_mape=backtest.mape,
        resolutions=int(row["resolutions"]), agent_days=int(row["agent_days"]),
        rate_window_days=RATE_WINDOW_DAYS, staffing=[])
    result.staffing = [
        StaffDay(day=as_of + timedelta(days=i), requests=round(total, 2),
                 staff=fc.staff_needed(total, result.per_agent_day))
        for i, total in enumerate(totals)]
    return result


Dimension = Literal["category", "channel"]


async def _series(pool: Any, tz: str, days: list[date]) -> dict[tuple[Dimension, str],
                                                                 list[float]]:
    """One dense daily series per category and per channel (missing days are zero)."""
    if not days:
        return {}
    rows = await pool.fetch(
        """SELECT day, metric, key, n FROM report_day_counts
           WHERE time_zone = $1 AND metric IN ('category', 'channel')
             AND day BETWEEN $2 AND $3""",
        tz, days[0], days[-1])
    index = {d: i for i, d in enumerate(days)}
    series: dict[tuple[Dimension, str], list[float]] = defaultdict(lambda: [0.0] * len(days))
    for r in rows:
        series[(r["metric"], r["key"])][index[r["day"]]] = float(r["n"])
    return dict(sorted(series.items()))


def _fit_all(series: dict[tuple[Dimension, str], list[float]],
             horizon: int) -> list[SeriesForecast]:
    out = []
    for (dimension, key), history in series.items():
        fitted = fc.predict(history, horizon)
        bt, _ = fc.backtest(history)
        out.append(SeriesForecast(
            dimension=dimension, key=key, method=fitted.method,
            history=history[-SHOWN_DAYS:], forecast=[round(v, 2) for v in fitted.values],
            backtest_mae=bt.mae, backtest_mape=bt.mape))
    return out


def _total_backtest(series: dict[tuple[Dimension, str], list[float]]) -> fc.Backtest:
    """The error of the total as planned: the sum of the category forecasts held out."""
    categories = [h for (dim, _), h in series.items() if dim == "category"]
    if not categories:
        return fc.Backtest(None, None)
    predicted: list[float] = []
    for history in categories:
        _, p = fc.backtest(history)
        if not p:
            return fc.Backtest(None, None)
        predicted = [a + b for a, b in zip(predicted, p, strict=True)] if predicted else p
    actual = [sum(h[i] for h in categories) for i in range(len(categories[0]))]
    return fc.score(actual[-len(predicted):], predicted)
