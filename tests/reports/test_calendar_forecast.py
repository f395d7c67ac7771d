"""The calendar-aware forecast: holidays, make-up days and campaigns as inputs, proven by
a rolling-origin backtest against the calendar-blind model."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from csflow.reports import calendar_model as cm
from csflow.reports import service
from csflow.reports.config import (
    Campaign,
    ReportsConfig,
    ReportsConfigError,
    load_reports_config,
)
from tests.reports.test_report_pages import Figures

WEEKLY = [100, 110, 105, 100, 95, 60, 50]  # Mon … Sun


def synthetic(n: int, seed: int = 5) -> tuple[list[date], list[float], cm.Marks]:
    """Weekly rhythm, slow growth, ±5 % noise; holidays at 30 %, make-up Saturdays work
    like a Monday, campaign days triple — the effects the model must learn."""
    rng = random.Random(seed)
    start = date(2025, 1, 6)
    days = [start + timedelta(days=i) for i in range(n)]
    holidays = {d for d in days if rng.random() < 0.05 and d.weekday() < 5}
    makeup = {d for d in days if d.weekday() == 5 and rng.random() < 0.08} - holidays
    campaigns = {d for d in days if (d.month, d.day) in ((6, 17), (6, 18), (11, 10), (11, 11))}

    def marks(d: date) -> cm.DayMarks:
        return cm.DayMarks(
            holiday=d in holidays, makeup=d in makeup, campaign="sale" if d in campaigns else None
        )

    y = []
    for i, d in enumerate(days):
        base = WEEKLY[0] if d in makeup else WEEKLY[d.weekday()]
        v = base * (0.3 if d in holidays else 1.0) * (3.0 if d in campaigns else 1.0)
        y.append(v * (1 + 0.001 * i) * rng.uniform(0.95, 1.05))
    return days, y, marks


def test_the_holiday_aware_model_beats_the_plain_one_in_a_rolling_origin_backtest() -> None:
    days, y, marks = synthetic(330)
    errors = cm.rolling_origin(y, days, marks, horizon=14, origins=8)
    assert [e.horizon for e in errors] == list(range(1, 15))
    assert all(e.origins == 8 for e in errors)  # no day without requests
    aware, blind = cm.overall(errors), cm.overall(errors, plain_model=True)
    assert aware is not None and blind is not None
    # The noise alone is ±5 % (MAPE ≈ 2.5 %); the calendar-blind model misses every
    # holiday by a factor of three.
    assert aware < 0.06
    assert aware < blind / 2


def test_a_holiday_ahead_is_forecast_low_and_the_band_contains_the_forecast() -> None:
    days, y, marks = synthetic(200)
    history, future = days[:186], days[186:]
    fitted = cm.predict(y[:186], history, future, marks)
    assert "holiday" in fitted.method
    for i, d in enumerate(future):
        assert fitted.lower[i] <= fitted.values[i] <= fitted.upper[i]
        expected: float = WEEKLY[0] if marks(d).makeup else WEEKLY[d.weekday()]
        expected *= (0.3 if marks(d).holiday else 1.0) * (1 + 0.001 * (186 + i))
        assert fitted.values[i] == pytest.approx(expected, rel=0.12)


def test_short_histories_fall_back_and_unseen_effects_are_dropped() -> None:
    days, y, marks = synthetic(20)
    fallback = cm.predict(y, days, [days[-1] + timedelta(days=1)], marks)
    assert "Holt-Winters" in fallback.method or "naive" in fallback.method
    days, y, _ = synthetic(60)
    blind = cm.predict(
        y,
        days,
        [days[-1] + timedelta(days=1)],
        lambda d: cm.DayMarks(holiday=d == days[-1] + timedelta(days=1)),
    )
    assert "none in the history" in blind.method  # the future holiday was never seen


def test_campaign_days_come_from_the_reports_config(tmp_path: Any) -> None:
    config = ReportsConfig()
    days = config.campaign_days(date(2026, 11, 1), date(2026, 11, 30))
    assert days == {
        date(2026, 11, 9): "双11",
        date(2026, 11, 10): "双11",
        date(2026, 11, 11): "双11",
        date(2026, 11, 12): "双11",
    }
    f = tmp_path / "reports.toml"
    f.write_text(
        '[forecast]\ncampaigns = [{ name = "anniversary", month = 3, day = 8 }]\n', encoding="utf-8"
    )
    mine = load_reports_config(f)
    assert mine.forecast.campaigns == (Campaign(name="anniversary", month=3, day=8),)
    f.write_text("[forecast]\ncampains = []\n", encoding="utf-8")
    with pytest.raises(ReportsConfigError, match=r"forecast\.campains"):
        load_reports_config(f)


TZ = "Asia/Shanghai"
AS_OF = date(2026, 9, 21)  # a Monday; Mid-Autumn (25–27 Sep) and National Day ahead


async def _history(pool: Any) -> None:
    """May – 20 Sep 2026 with China's real holidays (Labour Day, Dragon Boat) at 30 % and
    the make-up working days (9 May, 20 Sep) at a Monday's volume."""
    from csflow.config.calendar import china_days

    holidays, makeup = china_days([2026])
    zone = ZoneInfo(TZ)
    requests, events = [], []
    day = date(2026, 5, 1)
    while day < AS_OF:
        base = [10, 12, 15, 17, 20, 5, 3][0 if day in makeup else day.weekday()]
        count = round(base * (0.3 if day in holidays else 1.0) * 4)
        at = datetime.combine(day, time(10), zone)
        for n in range(count):
            number = f"H{day:%m%d}-{n:03d}"
            requests.append((number, at))
            events.append((number, 1, at, "received", "intake", "service"))
        day += timedelta(days=1)
    await pool.executemany(
        """INSERT INTO requests (number, customer_id, customer_name, customer_contact,
               customer_tier, channel, category, description, received_at, status, priority,
               sla_state, version)
           VALUES ($1, 'C', 'N', '{}', 'regular', 'phone', 'complaint', 'x', $2, 'received',
                   'P3', 'green', 1)""",
        requests,
    )
    await pool.executemany(
        """INSERT INTO request_events (number, seq, at, kind, actor_id, actor_role)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        events,
    )


@pytest.mark.integration
async def test_the_forecast_page_marks_holidays_and_shows_the_backtest(
    pool: Any,
    web: httpx.AsyncClient,
) -> None:
    await _history(pool)
    f = await service.produce_forecast(pool, AS_OF, TZ, 14, datetime.now(UTC))
    by_day = {d.day: d for d in f.days}
    assert [d for d, x in by_day.items() if x.holiday] == [
        date(2026, 9, 25),
        date(2026, 9, 26),
        date(2026, 9, 27),
        date(2026, 10, 1),
        date(2026, 10, 2),
        date(2026, 10, 3),
        date(2026, 10, 4),
    ]
    # A Thursday off (1 Oct) against a working Thursday (24 Sep): 30 % of it, learnt from
    # May's and June's holidays.
    assert by_day[date(2026, 10, 1)].requests == pytest.approx(
        0.3 * by_day[date(2026, 9, 24)].requests, rel=0.15
    )
    assert by_day[date(2026, 9, 24)].requests == pytest.approx(68, rel=0.1)
    assert f.horizon_errors and f.total_backtest_mape is not None
    assert f.total_backtest_mape_plain is not None
    assert f.total_backtest_mape < f.total_backtest_mape_plain
    page = await web.get("/reports/forecast")
    assert page.status_code == 200
    assert page.text.count('<tr class="holiday"') == 7
    assert page.text.count('data-mark="holiday"') == 7
    seen = Figures()
    seen.feed(page.text)
    assert seen.found["day.2026-10-01.calendar"] == "holiday"
    assert seen.found["horizon.1.mape"].endswith("%")
    csv = (await web.get(f"/reports/forecast/{AS_OF}.csv")).text
    assert "day,2026-10-01,holiday,True" in csv
    assert "backtest,horizon 1,mape," in csv
