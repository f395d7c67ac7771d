"""`csflow scorecard …` and `csflow report monthly` from a shell."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from tests.reports.dataset import WEEK, insert, insert_staff
from tests.reports.test_cli import csflow

pytestmark = pytest.mark.integration


async def test_scorecard_show_ranks_and_writes_csv_and_json(
    db: str,
    pool: Any,
    tmp_path: Path,
) -> None:
    await insert_staff(pool)
    await insert(pool)
    out, js = tmp_path / "agents.csv", tmp_path / "all.json"
    result = await csflow(
        db,
        "scorecard",
        "show",
        "--week",
        WEEK,
        "--sort",
        "sla_first_response",
        "--worst",
        "--top",
        "3",
        "--csv",
        str(out),
        "--json",
        str(js),
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "Scorecards 2026-W47 by agent" in lines[0]
    ranked = [ln.split("│")[1].split()[0] for ln in lines if ln.strip()[:1].isdigit()]
    assert ranked == ["(unassigned)", "a2", "a1"]  # 0 %, 0 %, 50 % first-response compliance
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["key"] for r in rows][:2] == ["all", "(unassigned)"]
    assert json.loads(js.read_text(encoding="utf-8"))["organisation"]["handled"] == 4
    teams = await csflow(db, "scorecard", "show", "--week", WEEK, "--level", "team")
    assert teams.exit_code == 0 and "logistics-A" in teams.output


async def test_team_assignment_and_refusals(db: str, pool: Any) -> None:
    await insert_staff(pool)
    assert (await csflow(db, "scorecard", "team", "a3", "logistics-B")).exit_code == 0
    assert await pool.fetchval("SELECT team FROM staff WHERE id = 'a3'") == "logistics-B"
    assert (await csflow(db, "scorecard", "team", "a3")).exit_code == 0
    assert await pool.fetchval("SELECT team FROM staff WHERE id = 'a3'") is None
    assert (await csflow(db, "scorecard", "team", "nobody", "x")).exit_code == 1
    bad = await csflow(db, "scorecard", "show", "--month", "2026-13")
    assert bad.exit_code == 2 and "YYYY-MM" in bad.output
    both = await csflow(db, "scorecard", "show", "--month", "2026-11", "--week", WEEK)
    assert both.exit_code == 2
    sort = await csflow(db, "scorecard", "show", "--sort", "height")
    assert sort.exit_code == 2 and "--sort is one of" in sort.output


async def test_report_monthly_prints_the_month(db: str, pool: Any) -> None:
    await insert(pool)
    result = await csflow(db, "report", "monthly", "--month", "2026-11")
    assert result.exit_code == 0, result.output
    assert "Monthly report 2026-11" in result.output and "2026-11-01 – 2026-11-30" in result.output
