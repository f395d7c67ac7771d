"""Assignment on a real PostgreSQL: the routing matrix, capacity under concurrency,
round-robin, the queue, and intake triage."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.testing import ActivityEnvironment

from activities.assignment import AssignmentActivities, emotion_hits
from csflow.activity_io import RecordEvents, TriageInput
from csflow.contracts import SYSTEM, RequestState, TimelineEvent
from csflow.domain.codes import Category, Priority, Tier
from csflow.domain.policy import DEFAULT_POLICY
from csflow.domain.routing import requirement
from csflow.store import staff
from csflow.store.staff import StaffMember
from tests.helpers import intake

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

TEAM = [
    StaffMember(
        id="a1",
        name="Ann",
        role="agent",
        department="care",
        skills=["complaint", "logistics"],
        seniority=1,
        capacity=2,
    ),
    StaffMember(
        id="a2",
        name="Bo",
        role="agent",
        department="care",
        skills=["consultation"],
        seniority=1,
        capacity=2,
    ),
    StaffMember(
        id="s1",
        name="Sun",
        role="agent",
        department="care",
        skills=["complaint", "after_sales"],
        seniority=3,
        capacity=2,
    ),
    StaffMember(
        id="e1",
        name="Eli",
        role="engineer",
        department="repair",
        skills=["after_sales", "repair"],
        seniority=2,
        capacity=2,
    ),
    StaffMember(
        id="f1",
        name="Fay",
        role="follow_up",
        department="care",
        skills=["complaint", "consultation"],
        seniority=3,
        capacity=9,
    ),
]


async def seed(pool: Any, members: list[StaffMember] = TEAM) -> None:
    for m in members:
        await staff.upsert_staff(pool, m)


@pytest.mark.parametrize(
    ("category", "sub_type", "priority", "tier", "expected", "rule_bit"),
    [
        (Category.COMPLAINT, "logistics", Priority.P3, Tier.REGULAR, "a1", "logistics"),
        (Category.CONSULTATION, None, Priority.P3, Tier.REGULAR, "a2", "consultation"),
        (Category.COMPLAINT, None, Priority.P1, Tier.REGULAR, "s1", "senior: P1"),
        (Category.COMPLAINT, "logistics", Priority.P3, Tier.VIP, "s1", "VIP"),
        (Category.CONSULTATION, None, Priority.P2, Tier.REGULAR, "a2", "no senior free"),
        (Category.AFTER_SALES, "repair", Priority.P3, Tier.REGULAR, "e1", "repair"),
        (Category.SUGGESTION, None, Priority.P3, Tier.REGULAR, None, "queued"),
    ],
)
async def test_routing_matrix(
    pool: Any,
    category: Category,
    sub_type: str | None,
    priority: Priority,
    tier: Tier,
    expected: str | None,
    rule_bit: str,
) -> None:
    await seed(pool)
    need = requirement(category, sub_type, priority, tier, repeat=False)
    pick = await staff.assign(pool, "CS-1", need, priority.value, NOW)
    assert pick.staff_id == expected, pick.rule
    assert rule_bit in pick.rule
    again = await staff.assign(pool, "CS-1", need, priority.value, NOW)
    assert again.staff_id == expected, "a repeated call returns the first decision"
    rows = await pool.fetchval("SELECT count(*) FROM assignments WHERE number = 'CS-1'")
    assert rows == 1


async def test_fifty_simultaneous_requests_respect_capacity_and_none_is_lost(pool: Any) -> None:
    team = [
        StaffMember(
            id=f"t{i}",
            name=f"T{i}",
            role="agent",
            department="care",
            skills=["complaint"],
            capacity=3,
        )
        for i in range(4)
    ]
    await seed(pool, team)
    need = requirement(Category.COMPLAINT, None, Priority.P3, Tier.REGULAR, repeat=False)
    picks = await asyncio.gather(
        *(staff.assign(pool, f"CS-{n:03d}", need, "P3", NOW) for n in range(50))
    )
    assigned = [p.staff_id for p in picks if p.staff_id]
    assert len(assigned) == 12, "4 people × capacity 3"
    assert all(assigned.count(t.id) == 3 for t in team), "nobody over capacity"
    rows = await pool.fetch("SELECT state, count(*) FROM assignments GROUP BY state")
    assert dict((r["state"], r["count"]) for r in rows) == {"active": 12, "queued": 38}
    held = await pool.fetchval("SELECT count(DISTINCT number) FROM assignments")
    assert held == 50, "every request assigned or queued — none lost"


async def test_equals_take_turns(pool: Any) -> None:
    pair = [
        StaffMember(
            id=x, name=x, role="agent", department="care", skills=["complaint"], capacity=10
        )
        for x in ("p", "q")
    ]
    await seed(pool, pair)
    need = requirement(Category.COMPLAINT, None, Priority.P3, Tier.REGULAR, repeat=False)
    order = [
        (await staff.assign(pool, f"N{i}", need, "P3", NOW + timedelta(seconds=i))).staff_id
        for i in range(6)
    ]
    assert order == ["p", "q", "p", "q", "p", "q"]


async def test_the_queue_drains_when_someone_comes_on_duty_or_frees_up(pool: Any) -> None:
    solo = StaffMember(
        id="solo",
        name="Solo",
        role="agent",
        department="care",
        skills=["complaint"],
        capacity=1,
        on_duty=False,
    )
    await seed(pool, [solo])
    acts = AssignmentActivities(pool, DEFAULT_POLICY.intake, client=None)
    env = ActivityEnvironment()
    for n in ("Q1", "Q2"):
        triage = await env.run(
            acts.triage,
            TriageInput(
                number=n,
                customer_id=f"C-{n}",
                category=Category.COMPLAINT,
                sub_type=None,
                priority=Priority.P3,
                tier=Tier.REGULAR,
                description="x",
                received_at=NOW,
            ),
        )
        assert triage.assignee is None and "queued" in triage.rule
    assert await staff.set_on_duty(pool, "solo", True)
    drained = await staff.drain_queue(pool, NOW)
    assert [(n, p.staff_id) for n, p in drained] == [("Q1", "solo")], "oldest first, capacity 1"
    await staff.release(pool, "Q1", NOW)
    drained = await staff.drain_queue(pool, NOW)
    assert [(n, p.staff_id) for n, p in drained] == [("Q2", "solo")]


async def test_transfer_respects_capacity_and_duty(pool: Any) -> None:
    await seed(pool)
    need = requirement(Category.COMPLAINT, None, Priority.P3, Tier.REGULAR, repeat=False)
    for n in ("X1", "X2"):
        await staff.transfer(pool, n, "a1", NOW)
    full = await staff.transfer(pool, "X3", "a1", NOW)
    assert full.staff_id is None and "at capacity (2/2)" in full.rule
    await staff.set_on_duty(pool, "a2", False)
    off = await staff.transfer(pool, "X3", "a2", NOW)
    assert off.staff_id is None and "off duty" in off.rule
    dept = await staff.transfer_to_department(pool, "X3", "repair", NOW)
    assert dept.staff_id == "e1"
    del need


async def test_triage_finds_emotion_and_repeat_complaints(pool: Any) -> None:
    from csflow.store import persist

    await seed(pool)
    earlier = RequestState(
        number="CS20261101-WEB-0001",
        status="closed",
        priority="P3",
        category="complaint",
        channel="web",
        tier="regular",
        customer_id="C-1001",
        received_at=NOW - timedelta(days=10),
    )
    await persist.record_events(
        pool,
        RecordEvents(
            state=earlier,
            intake=intake(),
            events=[TimelineEvent(seq=1, at=earlier.received_at, kind="received", actor=SYSTEM)],
        ),
    )
    acts = AssignmentActivities(pool, DEFAULT_POLICY.intake)
    t = await ActivityEnvironment().run(
        acts.triage,
        TriageInput(
            number="CS20261123-WEB-0002",
            customer_id="C-1001",
            category=Category.COMPLAINT,
            sub_type=None,
            priority=Priority.P3,
            tier=Tier.REGULAR,
            description="我非常愤怒！This is UNACCEPTABLE, I will complain to the regulator.",
            received_at=NOW,
        ),
    )
    assert t.repeat_of == ["CS20261101-WEB-0001"]
    assert set(t.emotion) == {"愤怒", "unacceptable", "regulator", "complain to"}
    assert t.assignee == "s1", "repeat complaint → raised to P2 → senior staff"
    other = await ActivityEnvironment().run(
        acts.triage,
        TriageInput(
            number="CS20261123-WEB-0003",
            customer_id="C-2002",
            category=Category.COMPLAINT,
            sub_type=None,
            priority=Priority.P3,
            tier=Tier.REGULAR,
            description="calm words",
            received_at=NOW,
        ),
    )
    assert other.repeat_of == [] and other.emotion == []


def test_emotion_matching_ignores_case_and_width() -> None:
    assert emotion_hits("ＡＮＧＲＹ customer", ("angry",)) == ["angry"]
    assert emotion_hits("一切正常", ("愤怒",)) == []


async def test_an_empty_directory_routes_to_desks(pool: Any) -> None:
    need = requirement(Category.SUGGESTION, None, Priority.P3, Tier.REGULAR, repeat=False)
    pick = await staff.assign(pool, "D1", need, "P3", NOW)
    assert pick.staff_id == "product-desk" and "no staff directory yet" in pick.rule


async def test_a_request_goes_back_to_its_desk_but_never_to_an_unknown_name(pool: Any) -> None:
    """Re-handling hands a request back to whoever resolved it; on a fresh install that is
    a desk, which has no row and no capacity to count."""
    back = await staff.transfer(pool, "D2", "complaints-desk", NOW)
    assert back.staff_id == "complaints-desk" and back.rule == "back to complaints-desk"
    nobody = await staff.transfer(pool, "D2", "no.such.person", NOW)
    assert nobody.staff_id is None and "no staff member no.such.person" in nobody.rule
    assert await pool.fetchval("SELECT count(*) FROM assignments") == 0
