"""Open improvement tasks are a point in time — the end of the period — whenever the task
was opened: one opened weeks before the week and still open counts, one opened after the
week's end or closed before it does not. The reports read them from the requests that
had not ended by then (a request ends only once none of its tasks is open), so these
timelines end their requests the way the workflow does: after the last task closes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from csflow.reports import scorecards, service
from csflow.reports.periods import parse
from csflow.reports.rollup import rollup_day
from tests.reports.dataset import TZ, Req, insert, local

NOW = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)


def story() -> list[tuple[Req, str | None]]:
    """(request, when it ended) — November 2026, Shanghai time."""
    return [
        (  # opened and closed the week before W45 ended: open in no week from W46 on
            Req("OLD-DONE", "02 10:00", "complaint", "billing_dispute", "phone", "P2")
            .on("02 10:05", "assigned", department="billing", assignee="a1")
            .on("02 11:00", "resolution_proposed", "a1")
            .on("03 10:00", "improvement_opened", task_id="OLD-DONE-IMP1", department="billing")
            .on("05 10:00", "improvement_closed", task_id="OLD-DONE-IMP1")
            .on("05 10:00", "closed"),
            "05 10:00",
        ),
        (  # opened two weeks before W47, never closed: open at the end of every week after
            Req("OLD-OPEN", "02 12:00", "complaint", "logistics", "chat", "P2")
            .on("02 12:05", "assigned", department="logistics", assignee="a2")
            .on("02 13:00", "resolution_proposed", "a2")
            .on("03 10:00", "improvement_opened", task_id="OLD-OPEN-IMP1", department="logistics"),
            None,
        ),
        (  # opened the week before W47, closed after it: open at the end of W46 and W47
            Req("CLOSED-LATER", "09 10:00", "after_sales", "repair", "app", "P3")
            .on("09 10:05", "assigned", department="repair", assignee="a1")
            .on("09 12:00", "resolution_proposed", "a1")
            .on("10 10:00", "improvement_opened", task_id="CLOSED-LATER-IMP1", department="product")
            .on("25 10:00", "improvement_closed", task_id="CLOSED-LATER-IMP1")
            .on("25 10:00", "closed"),
            "25 10:00",
        ),
        (  # closed by hand on the 18th with its task still running: the task's end can
            # never reach this timeline, so it counts until the request's end (W46), not after
            Req("BY-HAND", "09 11:00", "consultation", "billing", "phone", "P3")
            .on("09 11:05", "assigned", department="front-desk", assignee="a2")
            .on("09 12:00", "resolution_proposed", "a2")
            .on("10 11:00", "improvement_opened", task_id="BY-HAND-IMP1", department="front-desk")
            .on("18 09:00", "closed", "s1"),
            "18 09:00",
        ),
        (  # opened and closed inside W47: open at the end of no week
            Req("IN-WEEK", "16 09:00", "complaint", "billing_dispute", "web", "P2")
            .on("16 09:05", "assigned", department="billing", assignee="a2")
            .on("16 10:00", "resolution_proposed", "a2")
            .on("17 10:00", "improvement_opened", task_id="IN-WEEK-IMP1", department="billing")
            .on("19 10:00", "improvement_closed", task_id="IN-WEEK-IMP1")
            .on("19 10:00", "closed"),
            "19 10:00",
        ),
        (  # opened after W47 ended: open at the end of W48 only
            Req("AFTER", "23 10:00", "complaint", "billing_dispute", "email", "P2")
            .on("23 10:05", "assigned", department="billing", assignee="a1")
            .on("23 11:00", "resolution_proposed", "a1")
            .on("24 10:00", "improvement_opened", task_id="AFTER-IMP1", department="billing"),
            None,
        ),
    ]


@pytest.fixture
async def loaded(pool: Any) -> Any:
    told = story()
    await insert(pool, [r for r, _ in told])
    for r, ended in told:
        if ended is not None:
            await pool.execute(
                "UPDATE requests SET status = 'closed', closed_at = $2 WHERE number = $1",
                r.number,
                local(ended),
            )
    return pool


@pytest.mark.parametrize(
    ("week", "expected"),
    [
        ("2026-W45", {"logistics": 1}),  # OLD-DONE closed on the 5th, inside the week
        ("2026-W46", {"logistics": 1, "product": 1, "front-desk": 1}),
        ("2026-W47", {"logistics": 1, "product": 1}),  # not IN-WEEK, BY-HAND, AFTER
        ("2026-W48", {"logistics": 1, "billing": 1}),  # CLOSED-LATER closed on the 25th
    ],
)
async def test_open_at_the_end_of_the_week_whenever_opened(
    loaded: Any, week: str, expected: dict[str, int]
) -> None:
    report = await service.produce(loaded, "weekly", week, TZ, NOW)
    assert {s.key: s.count for s in report.open_improvements_by_department} == expected
    assert report.open_improvements == sum(expected.values())


async def test_scorecards_count_the_same_tasks(loaded: Any) -> None:
    """Owned by whose resolution drew them: a1 resolved CLOSED-LATER, a2 OLD-OPEN."""
    period = parse("weekly", "2026-W47")
    for day in period.days:
        await rollup_day(loaded, day, TZ)
    inputs = await scorecards.gather(loaded, period, TZ)
    assert dict(inputs.open_improvements) == {"a1": 1, "a2": 1}
