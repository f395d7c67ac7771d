"""Demand history from the daily rollups, the forecast built on it, and the staff it implies.

History is read from `report_day_counts` (requests received per local day, by category and
by channel), so a forecast over a year of a busy service reads a few thousand rows; days
not rolled up yet are rolled up first, once. The model (calendar_model) takes holidays,
make-up working days and campaign days as inputs; a year of history puts last year's 618
and 双11 in it, which is what lets it estimate their effect.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any, Literal

from csflow.domain.events import EventKind
from csflow.domain.policy import CalendarPolicy
from csflow.reports import calendar_model as cm
from csflow.reports import forecast as fc
from csflow.reports.calendar_marks import calendar_marks
from csflow.reports.config import ReportsConfig
from csflow.reports.model import (
    Forecast,
    ForecastDay,
    HorizonError,
    SeriesForecast,
    StaffDay,
)
from csflow.reports.periods import day_start, local_day
from csflow.reports.rollup import rollup_day

HISTORY_DAYS = 400  # a year and a month: last year's holidays and campaigns are in it
SHOWN_DAYS = 28  # history drawn beside the forecast
RATE_WINDOW_DAYS = 28  # handling rate: resolutions per agent-day over the last four weeks


async def history_start(pool: Any, as_of: date, tz: str) -> date | None:
    """First day of history: the first request ever, at most HISTORY_DAYS back."""
    first: datetime | None = await pool.fetchval(
        f"SELECT min(at) FROM request_events WHERE kind = '{EventKind.RECEIVED.value}' AND at < $1",
        day_start(as_of, tz),
    )
    if first is None:
        return None
    return max(local_day(first, tz), as_of - timedelta(days=HISTORY_DAYS))


async def run_forecast(
    pool: Any,
    as_of: date,
    tz: str,
    horizon: int,
    generated_at: datetime,
    *,
    calendar: CalendarPolicy | None = None,
    config: ReportsConfig | None = None,
) -> Forecast:
    """`calendar` and `config`: the policy's calendar and the reports config; read from
    CSFLOW_POLICY / CSFLOW_REPORTS when omitted."""
    if calendar is None:
        from csflow.config.policy import policy_from_env

        calendar = policy_from_env().calendar
    if config is None:
        from csflow.reports.config import reports_config_from_env

        config = reports_config_from_env()
    start = await history_start(pool, as_of, tz)
    days = [] if start is None else [start + timedelta(days=i) for i in range((as_of - start).days)]
    future = [as_of + timedelta(days=i) for i in range(horizon)]
    marks = calendar_marks(days[0] if days else as_of, future[-1], calendar, config)
    for day in days:
        await rollup_day(pool, day, tz)
    series = await _series(pool, tz, days)
    rate_from = as_of - timedelta(days=RATE_WINDOW_DAYS)
    row = await pool.fetchrow(
        """SELECT count(*) AS agent_days, coalesce(sum(n), 0)::bigint AS resolutions
           FROM report_day_counts
           WHERE time_zone = $1 AND metric = 'agent_day' AND day >= $2 AND day < $3""",
        tz,
        rate_from,
        as_of,
    )
    # Model fitting is CPU work: off the event loop, so the worker keeps heartbeating.
    fitted = await asyncio.to_thread(_fit_all, series, days, future, marks)
    total_history = _total_history(series, len(days))
    total, errors, holdout = await asyncio.to_thread(_fit_total, total_history, days, future, marks)
    result = Forecast(
        as_of=as_of,
        time_zone=tz,
        generated_at=generated_at,
        history_start=start,
        history_days=len(days),
        horizon_days=horizon,
        series=fitted,
        total_backtest_mae=holdout.mae,
        total_backtest_mape=cm.overall(errors),
        total_backtest_mape_plain=cm.overall(errors, plain_model=True),
        resolutions=int(row["resolutions"]),
        agent_days=int(row["agent_days"]),
        rate_window_days=RATE_WINDOW_DAYS,
        staffing=[],
        total_method=total.method,
        horizon_errors=[
            HorizonError(horizon=e.horizon, origins=e.origins, mape=e.mape, mape_plain=e.mape_plain)
            for e in errors
        ],
    )
    cover = config.forecast.staffing_cover
    result.days = [
        ForecastDay(
            day=d,
            requests=round(total.values[i], 2),
            lower=round(total.lower[i], 2),
            upper=round(total.upper[i], 2),
            holiday=marks(d).holiday,
            makeup_workday=marks(d).makeup,
            campaign=marks(d).campaign,
        )
        for i, d in enumerate(future)
    ]
    result.staffing = [
        StaffDay(
            day=d,
            requests=round(total.values[i], 2),
            staff=fc.staff_needed(total.values[i] * cover, result.per_agent_day),
        )
        for i, d in enumerate(future)
    ]
    return result


Dimension = Literal["category", "channel"]


async def _series(pool: Any, tz: str, days: list[date]) -> dict[tuple[Dimension, str], list[float]]:
    """One dense daily series per category and per channel (missing days are zero)."""
    if not days:
        return {}
    rows = await pool.fetch(
        """SELECT day, metric, key, n FROM report_day_counts
           WHERE time_zone = $1 AND metric IN ('category', 'channel')
             AND day BETWEEN $2 AND $3""",
        tz,
        days[0],
        days[-1],
    )
    index = {d: i for i, d in enumerate(days)}
    series: dict[tuple[Dimension, str], list[float]] = defaultdict(lambda: [0.0] * len(days))
    for r in rows:
        series[(r["metric"], r["key"])][index[r["day"]]] = float(r["n"])
    return dict(sorted(series.items()))


def _fit_all(
    series: dict[tuple[Dimension, str], list[float]],
    days: list[date],
    future: list[date],
    marks: cm.Marks,
) -> list[SeriesForecast]:
    out = []
    for (dimension, key), history in series.items():
        fitted = cm.predict(history, days, future, marks)
        bt = _holdout(history, days, marks)
        out.append(
            SeriesForecast(
                dimension=dimension,
                key=key,
                method=fitted.method,
                history=history[-SHOWN_DAYS:],
                forecast=[round(v, 2) for v in fitted.values],
                lower=[round(v, 2) for v in fitted.lower],
                upper=[round(v, 2) for v in fitted.upper],
                backtest_mae=bt.mae,
                backtest_mape=bt.mape,
            )
        )
    return out


def _holdout(history: list[float], days: list[date], marks: cm.Marks) -> fc.Backtest:
    """The model fitted without the last 14 days, scored on them (as before issue 16)."""
    k = fc.BACKTEST_DAYS
    if len(history) < k + fc.SEASON:
        return fc.Backtest(None, None)
    predicted = cm.predict(history[:-k], days[:-k], days[-k:], marks).values
    return fc.score(history[-k:], predicted)


def _total_history(series: dict[tuple[Dimension, str], list[float]], n: int) -> list[float]:
    """Requests received per day: the sum of the category series (one per request)."""
    categories = [h for (dim, _), h in series.items() if dim == "category"]
    return [sum(h[i] for h in categories) for i in range(n)]


def _fit_total(
    history: list[float], days: list[date], future: list[date], marks: cm.Marks
) -> tuple[cm.Fitted, list[cm.HorizonError], fc.Backtest]:
    """The total is forecast as a series of its own (its band is not a sum of bands),
    with the rolling-origin backtest per horizon beside the calendar-blind model's."""
    fitted = cm.predict(history, days, future, marks)
    errors = cm.rolling_origin(history, days, marks, horizon=min(14, len(future)))
    return fitted, errors, _holdout(history, days, marks)
