"""`csflow report …` prints the stored report, or computes and stores it first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from typer.testing import Result

from csflow.reports import store
from tests.helpers import run_cli
from tests.reports.dataset import WEEK, insert


async def csflow(db: str, *args: str) -> Result:
    result: Result = await run_cli({"DATABASE_URL": db, "COLUMNS": "160"}, *args)
    return result


async def test_report_weekly_prints_the_week_and_stores_it(
    db: str,
    pool: Any,
    tmp_path: Path,
) -> None:
    await insert(pool)
    out = tmp_path / "w47.csv"
    result = await csflow(db, "report", "weekly", "--week", WEEK, "--csv", str(out))
    assert result.exit_code == 0, result.output
    text = result.output
    assert "Weekly report 2026-W47" in text and "2026-11-16 – 2026-11-22" in text
    assert "57.1 %" in text and "8 / 14" in text  # SLA compliance
    assert "3 d 14 h" in text  # P3 resolution p90
    assert "volume,received,count,7" in out.read_text(encoding="utf-8")
    stored = await store.load(pool, "weekly", WEEK)
    assert stored is not None and stored.report().received == 7

    # Printed from storage the second time: the same generation time.
    again = await csflow(db, "report", "weekly", "--week", WEEK)
    assert again.exit_code == 0
    assert (await store.load(pool, "weekly", WEEK)) == stored


async def test_report_daily_and_forecast_and_a_bad_period(db: str, pool: Any) -> None:
    await insert(pool)
    daily = await csflow(db, "report", "daily", "--date", "2026-11-16")
    assert daily.exit_code == 0, daily.output
    assert "Daily report 2026-11-16" in daily.output
    forecast = await csflow(db, "report", "forecast", "--as-of", "2026-11-23", "--horizon", "7")
    assert forecast.exit_code == 0, forecast.output
    assert "Forecast from 2026-11-23" in forecast.output
    assert "category: complaint" in forecast.output
    bad = await csflow(db, "report", "weekly", "--week", "2026-47")
    assert bad.exit_code == 2 and "ISO week" in bad.output
