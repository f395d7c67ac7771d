"""Breaches by reason and root causes, against values worked out by hand.

dataset.py's week 2026-W47 has seven breaches; the explanations, reviews and causes below
are appended to the timelines the way the workflow will write them (docs/reports.md,
"Breach reasons and root causes").
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from csflow.reports import causes
from csflow.reports.config import ReportsConfig
from csflow.reports.periods import parse
from csflow.reports.scorecards import produce
from tests.reports.dataset import TZ, WEEK, insert, insert_staff, local
from tests.reports.test_report_pages import Figures

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


async def append(
    pool: Any, number: str, at: str, kind: str, actor: str, role: str, **data: Any
) -> None:
    await pool.execute(
        """INSERT INTO request_events (number, seq, at, kind, actor_id, actor_role, data)
           SELECT $1, max(seq) + 1, $2, $3, $4, $5, $6 FROM request_events
           WHERE number = $1""",
        number,
        local(at),
        kind,
        actor,
        role,
        data,
    )


async def explanations(pool: Any) -> None:
    await append(
        pool,
        "R2",
        "16 16:00",
        "breach_explained",
        "a2",
        "agent",
        clock="first_response",
        reason="peak_volume",
        note="queue of 40",
    )
    await append(
        pool,
        "R2",
        "16 16:05",
        "breach_explained",
        "a2",
        "agent",
        clock="plan",
        reason="peak_volume",
    )
    await append(
        pool,
        "R2",
        "16 16:10",
        "breach_explained",
        "a3",
        "agent",
        clock="resolution",
        reason="waiting_on_department",
    )
    await append(
        pool,
        "R2",
        "17 09:30",
        "breach_reviewed",
        "s1",
        "supervisor",
        clock="first_response",
        verdict="accepted",
    )
    await append(
        pool,
        "R2",
        "17 09:35",
        "breach_reviewed",
        "s1",
        "supervisor",
        clock="resolution",
        verdict="rejected",
        note="logistics answered at 13:50",
    )
    await append(
        pool,
        "R2",
        "17 10:00",
        "breach_explained",
        "a3",
        "agent",
        clock="resolution",
        reason="complex_case",
        note="two parcels",
    )
    await append(
        pool,
        "R4",
        "18 12:00",
        "breach_explained",
        "a1",
        "agent",
        clock="first_response",
        reason="customer_unreachable",
    )
    await append(
        pool,
        "R4",
        "18 12:30",
        "breach_reviewed",
        "s1",
        "supervisor",
        clock="first_response",
        verdict="accepted",
    )
    # Causes: R0 last week; R1 and R2-IMP1 this week; R2's own cause only next Tuesday.
    await append(
        pool,
        "R0",
        "13 11:00",
        "cause_recorded",
        "a1",
        "agent",
        cause="logistics_delay",
        responsible_department="logistics",
    )
    await append(
        pool,
        "R1",
        "16 10:30",
        "cause_recorded",
        "a1",
        "agent",
        cause="logistics_delay",
        responsible_department="logistics",
    )
    await append(
        pool,
        "R2",
        "19 10:30",
        "cause_recorded",
        "system",
        "system",
        cause="process_gap",
        responsible_department="logistics",
        task_id="R2-IMP1",
    )
    await append(
        pool,
        "R2",
        "24 10:00",
        "cause_recorded",
        "a3",
        "agent",
        cause="logistics_delay",
        responsible_department="logistics",
    )


async def test_breaches_by_reason_owner_and_review(pool: Any) -> None:
    await insert(pool)
    await explanations(pool)
    w = await causes.why(pool, parse("weekly", WEEK), TZ, ReportsConfig())
    # Seven breaches: R2 first response, plan, resolution; R4 first response, resolution,
    # cadence; R5 first response. R2's resolution was rejected and explained again, so
    # its latest reason (complex case) is unreviewed.
    assert w.breaches == 7 and w.unexplained == 3
    assert [(r.reason, r.breaches, r.accepted, r.rejected, r.unreviewed) for r in w.by_reason] == [
        ("(no reason yet)", 3, 0, 0, 0),
        ("peak_volume", 2, 1, 0, 1),
        ("complex_case", 1, 0, 0, 1),
        ("customer_unreachable", 1, 1, 0, 0),
    ]
    assert w.by_reason[1].label == "peak volume, not enough staff"
    assert {o.owner: o.reasons for o in w.by_owner} == {
        "(unassigned)": {"(no reason yet)": 1},
        "a1": {"customer_unreachable": 1},
        "a2": {"peak_volume": 2},
        "a3": {"complex_case": 1},
        "e1": {"(no reason yet)": 2},
    }
    assert [(b.number, b.clock, b.owner, b.reason) for b in w.awaiting_review] == [
        ("R2", "plan", "a2", "peak_volume"),
        ("R2", "resolution", "a3", "complex_case"),
    ]
    # Once the days are rolled up, only the explanations are read from the timeline and
    # the rest is counted from the rollup: the same answer.
    await produce(pool, parse("weekly", WEEK), TZ, NOW)
    assert await causes.why(pool, parse("weekly", WEEK), TZ, ReportsConfig()) == w
    explained = await pool.fetch(causes.EXPLAINED, *parse("weekly", WEEK).bounds(TZ))
    assert sorted((r["number"], r["clock"], r["verdict"]) for r in explained) == [
        ("R2", "first_response", "accepted"),
        ("R2", "plan", None),
        ("R2", "resolution", None),
        ("R4", "first_response", "accepted"),
    ]


async def test_causes_grouped_with_the_previous_period(pool: Any) -> None:
    await insert(pool)
    await explanations(pool)
    w = await causes.why(pool, parse("weekly", WEEK), TZ, ReportsConfig())
    # This week: R1 logistics delay, R2-IMP1 process gap; R2 was resolved this week but
    # its cause came after the week: counted as missing. Last week: R0 logistics delay.
    # Ranked by count, then growth: the two new ones before the steady one.
    assert [
        (c.cause, c.responsible_department, c.count, c.previous, c.change) for c in w.causes
    ] == [
        ("(no cause recorded)", "(none)", 1, 0, 1),
        ("process_gap", "logistics", 1, 0, 1),
        ("logistics_delay", "logistics", 1, 1, 0),
    ]
    later = await causes.why(pool, parse("weekly", "2026-W48"), TZ, ReportsConfig())
    assert [(c.cause, c.count, c.previous) for c in later.causes] == [
        ("logistics_delay", 1, 1),
        ("(no cause recorded)", 0, 1),
        ("process_gap", 0, 1),
    ]


async def test_pages_answer_who_breached_most_and_why(pool: Any, web: httpx.AsyncClient) -> None:
    await insert_staff(pool)
    await insert(pool)
    await explanations(pool)
    await produce(pool, parse("weekly", WEEK), TZ, NOW)
    page = await web.get(
        f"/scorecards/weekly/{WEEK}", params={"sort": "sla_first_response", "order": "worst"}
    )
    seen = Figures()
    seen.feed(page.text)
    assert seen.found["a2.breaches"] == "2"
    assert seen.found["a2.reasons"] == "peak volume, not enough staff 2"
    assert seen.found["e1.reasons"] == "(no reason yet) 2"
    teams = await web.get(f"/scorecards/weekly/{WEEK}", params={"level": "team"})
    seen = Figures()
    seen.feed(teams.text)
    assert seen.found["logistics-A.breaches"] == "3"  # a1's and a2's
    why = await web.get(f"/reports/why/weekly/{WEEK}")
    seen = Figures()
    seen.feed(why.text)
    assert (seen.found["breaches"], seen.found["unexplained"], seen.found["awaiting"]) == (
        "7",
        "3",
        "2",
    )
    assert seen.found["cause.process_gap.logistics.change"] == "+1"
    body = (await web.get("/reports/why/monthly/2026-11.json")).json()
    assert body["previous_period"] == "2026-10" and body["breaches"] == 8  # + R9's
    assert (await web.get("/reports/why/monthly/2026-13.json")).status_code == 422
