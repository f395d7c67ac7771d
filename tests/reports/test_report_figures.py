"""Every figure of the weekly report against values worked out by hand from dataset.py.

The expected numbers below were computed on paper from the timeline in dataset.py (the
reasoning is in the comments), not by running the code under test.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from csflow.reports import service, store
from csflow.reports.model import DurationStats, Report
from tests.reports.dataset import TZ, WEEK, insert

NOW = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


def stats(report_rows: list[DurationStats]) -> dict[str, tuple[Any, ...]]:
    return {d.priority: (d.count, d.mean, d.p50, d.p90) for d in report_rows}


def shares(rows: list[Any]) -> dict[str, tuple[int, Any]]:
    return {r.key: (r.count, r.share) for r in rows}


@pytest.fixture
async def weekly(pool: Any) -> Report:
    await insert(pool)
    return await service.produce(pool, "weekly", WEEK, TZ, NOW, top_n=3)


async def test_volume_by_category_channel_department_and_top_issues(weekly: Report) -> None:
    # R1..R7 received Mon 16 – Sun 22 local; R0, R9 the week before; R8 at 00:10 Monday 23
    # local, which is still Sunday in UTC, belongs to the next week.
    assert weekly.received == 7
    assert shares(weekly.by_category) == {
        "complaint": (4, pytest.approx(4 / 7)),
        "after_sales": (1, pytest.approx(1 / 7)),
        "consultation": (1, pytest.approx(1 / 7)),
        "suggestion": (1, pytest.approx(1 / 7)),
    }
    assert shares(weekly.by_channel) == {
        "phone": (3, pytest.approx(3 / 7)),
        "app": (1, pytest.approx(1 / 7)),
        "chat": (1, pytest.approx(1 / 7)),
        "email": (1, pytest.approx(1 / 7)),
        "web": (1, pytest.approx(1 / 7)),
    }
    # First assignment per request, in the week: R4's second assignment is not counted,
    # R5 waited in the queue until Friday.
    assert shares(weekly.by_department) == {
        "logistics": (3, pytest.approx(3 / 7)),
        "billing": (1, pytest.approx(1 / 7)),
        "customer-service": (1, pytest.approx(1 / 7)),
        "product": (1, pytest.approx(1 / 7)),
        "repair": (1, pytest.approx(1 / 7)),
    }
    # Top 3: logistics complaints R1, R2, R7; then ties of one, ordered by name.
    issues: list[tuple[str, str, int, Any]] = [
        (i.category, i.sub_type, i.count, i.share) for i in weekly.top_issues
    ]
    assert issues == [
        ("complaint", "logistics", 3, pytest.approx(3 / 7)),
        ("after_sales", "repair", 1, pytest.approx(1 / 7)),
        ("complaint", "service_attitude", 1, pytest.approx(1 / 7)),
    ]


async def test_satisfaction_and_nps(weekly: Report) -> None:
    # Follow-ups recorded in the week: R0 5/9, R1 5/10, R9 4/7, R2 2/6.
    assert shares(weekly.satisfaction) == {
        "1": (0, 0.0),
        "2": (1, 0.25),
        "3": (0, 0.0),
        "4": (1, 0.25),
        "5": (2, 0.5),
    }
    assert weekly.satisfaction_mean == pytest.approx(4.0)
    assert (weekly.nps.promoters, weekly.nps.passives, weekly.nps.detractors) == (2, 1, 1)
    assert weekly.nps.score == pytest.approx(25.0)  # 100 × (2 − 1) / 4


async def test_first_response_and_resolution_times_per_priority(weekly: Report) -> None:
    # First responses in the week: R1 10 min, R4 20 min (P1); R2 45 min (its wait came
    # later), R5 24 h 30 min (P2); R3 80 min less 30 min waiting on the customer (P3).
    assert stats(weekly.first_response) == {
        "P1": (2, pytest.approx(900), pytest.approx(900), pytest.approx(1140)),
        "P2": (2, pytest.approx(45450), pytest.approx(45450), pytest.approx(79650)),
        "P3": (1, pytest.approx(3000), pytest.approx(3000), pytest.approx(3000)),
    }
    # First resolutions in the week: R1 90 min (P1); R2 5 h less the 1 h pause (P2);
    # R3 50 min and R9 four days after its receipt last Thursday (P3).
    assert stats(weekly.resolution) == {
        "P1": (1, pytest.approx(5400), pytest.approx(5400), pytest.approx(5400)),
        "P2": (1, pytest.approx(14400), pytest.approx(14400), pytest.approx(14400)),
        "P3": (2, pytest.approx(174300), pytest.approx(174300), pytest.approx(311340)),
    }


async def test_sla_compliance(weekly: Report) -> None:
    # first response: met R1, R3; breached R2, R4, R5.
    # plan: met R1, R3 (by its resolution), R4; breached R2 (R9's plan was last week).
    # resolution: met R1, R2's second cycle, R3; breached R2's first cycle and R4 in the
    # week; R9 resolved this week but its clock breached last week, so it is not met.
    assert {c.clock: (c.met, c.breached) for c in weekly.sla} == {
        "first_response": (2, 3),
        "plan": (3, 1),
        "resolution": (3, 2),
    }
    assert weekly.sla_compliance.rate == pytest.approx(8 / 14)
    assert weekly.progress_updates_missed == 1  # R4's cadence


async def test_rates(weekly: Report) -> None:
    # Accepted for the first time in the week: R1, R9 (clean), R2 (re-handled, paused),
    # R3 (waited on the customer) → 2 of 4 at first contact.
    fcr = weekly.first_contact_resolution
    assert (fcr.numerator, fcr.denominator) == (2, 4)
    assert (weekly.repeat_complaints.numerator, weekly.repeat_complaints.denominator) == (1, 7)
    # One re-handling (R2) per five resolutions proposed (R1, R2 twice, R3, R9).
    assert (weekly.rehandling.numerator, weekly.rehandling.denominator) == (1, 5)
    # Follow-ups decided: on time R0, R1, R9; missed R2 (recorded late on Thursday).
    fu = weekly.follow_up_completion
    assert (fu.numerator, fu.denominator, fu.rate) == (3, 4, 0.75)
    assert weekly.follow_ups_recorded_late == 1


async def test_open_improvement_tasks_at_the_end_of_the_week(weekly: Report) -> None:
    # R0-IMP1 closed Wednesday; R0-IMP3 only after the week; R2-IMP1 opened Thursday.
    assert weekly.open_improvements == 3
    assert shares(weekly.open_improvements_by_department) == {
        "billing": (2, pytest.approx(2 / 3)),
        "logistics": (1, pytest.approx(1 / 3)),
    }


async def test_the_weekly_report_is_stored_once_and_a_rerun_replaces_it(
    pool: Any,
    weekly: Report,
) -> None:
    again = await service.produce(
        pool, "weekly", WEEK, TZ, NOW.replace(hour=2), top_n=3, refresh=True
    )
    stored = await store.load(pool, "weekly", WEEK)
    assert stored is not None and stored.report() == again
    assert await pool.fetchval("SELECT count(*) FROM reports") == 1
    assert again.model_dump(exclude={"generated_at"}) == weekly.model_dump(exclude={"generated_at"})
    assert await pool.fetchval("SELECT count(*) FROM report_days") == 7


async def test_a_daily_report_counts_only_its_local_day(pool: Any) -> None:
    await insert(pool)
    monday = await service.produce(pool, "daily", "2026-11-16", TZ, NOW)
    assert monday.received == 2  # R1, R2
    assert stats(monday.resolution) == {  # R1, R2, and R9 from last week
        "P1": (1, 5400, 5400, 5400),
        "P2": (1, 14400, 14400, 14400),
        "P3": (1, 345600, 345600, 345600),
    }
    assert {c.clock: (c.met, c.breached) for c in monday.sla} == {
        "first_response": (1, 1),
        "plan": (1, 1),
        "resolution": (1, 1),
    }
    assert (monday.rehandling.numerator, monday.rehandling.denominator) == (0, 3)
    assert monday.open_improvements == 3  # all three of R0's, R0-IMP1 closes Wednesday
    sunday = await service.produce(pool, "daily", "2026-11-22", TZ, NOW)
    assert sunday.received == 1  # R7 at 23:30; R8 ten minutes into Monday is not
    assert sunday.by_department[0].key == "logistics"
