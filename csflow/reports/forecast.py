"""Demand forecast per day: Holt-Winters (statsmodels) with weekly seasonality.

Request volume has a strong weekly rhythm (weekdays against weekends) and a slow drift, so
additive Holt-Winters with a period of 7 and a damped trend fits it with few parameters;
additive because a quiet channel has zero-request days, which a multiplicative season
cannot represent. Short histories fall back to simpler models rather than fail: a weekly
season needs two weeks to estimate, a trend four. Pure: numbers in, numbers out.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SEASON = 7
BACKTEST_DAYS = 14


@dataclass(frozen=True)
class Fitted:
    method: str
    values: list[float]


@dataclass(frozen=True)
class Backtest:
    mae: float | None
    mape: float | None  # over held-out days with at least one request; None if none


def predict(history: Sequence[float], horizon: int) -> Fitted:
    n = len(history)
    if n == 0:
        return Fitted("none (no history)", [0.0] * horizon)
    if n < SEASON:
        mean = float(np.mean(history))
        return Fitted("mean", [mean] * horizon)
    if n < 2 * SEASON or float(np.std(history)) == 0.0:
        last_week = list(history[-SEASON:])
        return Fitted("seasonal naive", [float(last_week[i % SEASON]) for i in range(horizon)])
    trend = n >= 4 * SEASON
    values = _holt_winters(np.asarray(history, dtype=float), horizon, trend=trend)
    method = "Holt-Winters, additive weekly season" + (", damped trend" if trend else "")
    return Fitted(method, [max(0.0, float(v)) for v in values])


def _holt_winters(y: np.ndarray, horizon: int, *, trend: bool) -> np.ndarray:
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    with warnings.catch_warnings():  # convergence chatter on flat or tiny series
        warnings.simplefilter("ignore")
        model = ExponentialSmoothing(
            y,
            trend="add" if trend else None,
            damped_trend=trend,
            seasonal="add",
            seasonal_periods=SEASON,
            initialization_method="estimated",
        )
        fit = model.fit(optimized=True)
        out: np.ndarray = fit.forecast(horizon)
    return out


def backtest(history: Sequence[float], days: int = BACKTEST_DAYS) -> tuple[Backtest, list[float]]:
    """Fit on all but the last `days`, forecast them, compare; also returns that forecast.

    Needs at least one season of training data, else there is no honest error to show.
    """
    if len(history) < days + SEASON:
        return Backtest(None, None), []
    train, actual = history[:-days], history[-days:]
    predicted = predict(train, days).values
    return score(actual, predicted), predicted


def score(actual: Sequence[float], predicted: Sequence[float]) -> Backtest:
    errors = [abs(p - a) for a, p in zip(actual, predicted, strict=True)]
    relative = [abs(p - a) / a for a, p in zip(actual, predicted, strict=True) if a > 0]
    return Backtest(
        mae=sum(errors) / len(errors) if errors else None,
        mape=sum(relative) / len(relative) if relative else None,
    )


def staff_needed(requests: float, per_agent_day: float | None) -> int | None:
    """Agents needed for a day's forecast: ceil(requests / resolutions per agent-day)."""
    if not per_agent_day:
        return None
    return math.ceil(round(requests / per_agent_day, 9))
