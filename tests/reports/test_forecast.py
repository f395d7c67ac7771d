"""The demand forecast: weekly seasonality learnt, error back-tested, staff implied."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from csflow.reports import forecast as fc
from csflow.reports import service

TZ = "Asia/Shanghai"
AS_OF = date(2026, 11, 23)  # a Monday
WEEKDAYS = [10, 12, 15, 17, 20, 5, 3]  # Mon … Sun: the weekly rhythm


def test_a_weekly_rhythm_is_learnt_and_its_backtest_error_is_zero() -> None:
    history = WEEKDAYS * 8
    fitted = fc.predict(history, 14)
    assert "Holt-Winters" in fitted.method and "trend" in fitted.method
    assert fitted.values == pytest.approx(WEEKDAYS * 2, abs=0.01)
    bt, held_out = fc.backtest(history)
    assert held_out == pytest.approx(WEEKDAYS * 2, abs=0.01)
    assert bt.mae == pytest.approx(0, abs=0.01) and bt.mape == pytest.approx(0, abs=0.001)


def test_short_histories_fall_back_to_simpler_models() -> None:
    assert fc.predict([], 3).values == [0.0, 0.0, 0.0]
    assert fc.predict([2, 4, 6], 2) == fc.Fitted("mean", [4.0, 4.0])
    naive = fc.predict([*WEEKDAYS, 1, 2], 9)  # nine days: repeat the last seven
    assert naive.method == "seasonal naive"
    assert naive.values == [15, 17, 20, 5, 3, 1, 2, 15, 17]
    assert fc.backtest(WEEKDAYS * 2) == (fc.Backtest(None, None), [])  # < 14 + 7 days


def test_error_measures_and_staffing_formula() -> None:
    # |8-10| + |1-0| + |5-5| = 3 over 3 days; MAPE over days with requests: (0.2 + 0) / 2.
    assert fc.score([10, 0, 5], [8, 1, 5]) == fc.Backtest(mae=1.0, mape=0.1)
    assert fc.staff_needed(25, 4.0) == 7  # 6.25 agents' worth of work
    assert fc.staff_needed(24, 4.0) == 6
    assert fc.staff_needed(24, None) is None


async def _history(pool: Any) -> None:
    """Five weeks of the rhythm before AS_OF, and the handlers' work in the last four."""
    zone = ZoneInfo(TZ)
    requests, events = [], []
    for i in range(35):
        day = AS_OF - timedelta(days=35 - i)
        at = datetime.combine(day, time(10), zone)
        for n in range(WEEKDAYS[day.weekday()]):
            number = f"F{day:%m%d}-{n:02d}"
            requests.append((number, at))
            events.append((number, 1, at, "received", "intake", "service"))
        handlers = []
        if i >= 7:  # the last 28 days
            k = i - 7
            if k < 20:
                handlers += [("a1", "agent")] * 2  # 20 days × 2 resolutions
            if k < 10:
                handlers += [("e2", "engineer")] * 3  # 10 days × 3
        else:
            handlers += [("a1", "agent")] * 9  # before the rate window: not counted
        handlers.append(("sup", "supervisor"))  # supervisors are not handlers here
        for j, (actor, role) in enumerate(handlers):
            events.append(
                (
                    f"F{day:%m%d}-{j % 3:02d}",
                    10 + j,
                    at + timedelta(hours=1),
                    "resolution_proposed",
                    actor,
                    role,
                )
            )
        if i in (30, 31):
            events.append((f"F{day:%m%d}-00", 99, at, "progress_posted", "a3", "agent"))
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


async def test_forecast_from_history_with_the_staff_it_implies(pool: Any) -> None:
    await _history(pool)
    result = await service.produce_forecast(pool, AS_OF, TZ, 14, datetime.now(UTC))
    assert (result.history_start, result.history_days) == (date(2026, 10, 19), 35)
    assert [(s.dimension, s.key) for s in result.series] == [
        ("category", "complaint"),
        ("channel", "phone"),
    ]
    for s in result.series:
        assert s.forecast == pytest.approx(WEEKDAYS * 2, abs=0.05)
        assert s.backtest_mae == pytest.approx(0, abs=0.05)
        assert s.history == [
            float(WEEKDAYS[(AS_OF - timedelta(days=28 - i)).weekday()]) for i in range(28)
        ]
    # 40 + 30 resolutions by agents and engineers over 20 + 10 + 2 agent-days (a3 only
    # posted progress): 70 / 32 = 2.1875 per agent-day; staff = ceil(requests / 2.1875).
    assert (result.resolutions, result.agent_days) == (70, 32)
    assert [d.staff for d in result.staffing[:7]] == [5, 6, 7, 8, 10, 3, 2]
    assert result.staffing[0].day == AS_OF and len(result.staffing) == 14


async def test_the_forecast_page_shows_error_and_staffing(
    pool: Any,
    web: httpx.AsyncClient,
) -> None:
    assert (await web.get("/reports/forecast")).status_code == 404
    await _history(pool)
    await service.produce_forecast(pool, AS_OF, TZ, 14, datetime.now(UTC))
    page = await web.get("/reports/forecast")
    assert page.status_code == 200
    assert 'data-figure="rate">2.19<' in page.text
    assert 'data-figure="staff.2026-11-27.staff">10<' in page.text  # Friday: ⌈20 / 2.1875⌉
    assert 'data-figure="category.complaint.mae">0' in page.text  # 0 or 0.0
    assert page.text.count("<svg") == 3  # the total with its band, complaint, phone
    csv = (await web.get(f"/reports/forecast/{AS_OF}.csv")).text
    assert "staffing,2026-11-27,staff,10" in csv
