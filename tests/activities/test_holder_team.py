"""The holder's team that assignment reports to the request (for `team_supervisor` in
`[ownership]`), on a real PostgreSQL: the chart's team that lists the person, else the
staff directory's `team` column, else none."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from temporalio.testing import ActivityEnvironment

from activities.assignment import AssignmentActivities
from csflow.activity_io import TransferInput, TriageInput
from csflow.domain.codes import Category, Priority, Tier
from csflow.domain.org import Organisation
from csflow.domain.policy import DEFAULT_POLICY
from csflow.services.assignment import holder_team
from csflow.store import staff
from csflow.store.staff import StaffMember

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CHART = Organisation.model_validate(
    {"departments": {"care": {"teams": {"front": {"supervisors": ["li.sup"], "members": ["a1"]}}}}}
)


def _member(staff_id: str, department: str, skills: list[str]) -> StaffMember:
    return StaffMember(
        id=staff_id,
        name=staff_id.upper(),
        role="agent",
        department=department,
        skills=skills,
        seniority=1,
        capacity=3,
    )


async def test_the_chart_first_then_the_directory_then_none(pool: Any) -> None:
    for m in (
        _member("a1", "care", ["complaint"]),
        _member("e1", "repair", ["after_sales"]),
        _member("n1", "repair", ["after_sales"]),
    ):
        await staff.upsert_staff(pool, m)
    await pool.execute("UPDATE staff SET team = 'bench' WHERE id = 'e1'")
    await pool.execute("UPDATE staff SET team = 'night' WHERE id = 'a1'")  # the chart wins
    assert await holder_team(pool, CHART, "a1") == "front"
    assert await holder_team(pool, None, "a1") == "night"  # no chart at hand: the directory
    assert await holder_team(pool, CHART, "e1") == "bench"
    assert await holder_team(pool, CHART, "n1") is None
    assert await holder_team(pool, CHART, None) is None

    acts = AssignmentActivities(pool, DEFAULT_POLICY.intake, client=None, org=CHART)
    env = ActivityEnvironment()
    triage = await env.run(
        acts.triage,
        TriageInput(
            number="T1",
            customer_id="C-T1",
            category=Category.COMPLAINT,
            sub_type=None,
            priority=Priority.P3,
            tier=Tier.REGULAR,
            description="x",
            received_at=NOW,
        ),
    )
    assert (triage.assignee, triage.department, triage.team) == ("a1", "care", "front")
    moved = await env.run(acts.transfer, TransferInput(number="T1", to_staff="e1"))
    assert (moved.assignee, moved.department, moved.team) == ("e1", "repair", "bench")
    moved = await env.run(acts.transfer, TransferInput(number="T1", to_staff="n1"))
    assert (moved.assignee, moved.team) == ("n1", None)
