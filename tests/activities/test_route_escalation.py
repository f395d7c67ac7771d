"""`route_escalation` on a real PostgreSQL: a ladder step's people resolved from the
organisation chart and the staff directory's duty flags, and the moves of `reassign` and
`director_takeover` (issue 18, "Escalations reach a placeholder")."""

from __future__ import annotations

from typing import Any

from temporalio.testing import ActivityEnvironment

from activities.assignment import AssignmentActivities
from csflow.domain.org import Organisation
from csflow.domain.org_routes import EscalationRouteInput
from csflow.domain.policy import DEFAULT_POLICY
from csflow.store import staff
from csflow.store.staff import StaffMember

ORG = Organisation.model_validate(
    {
        "departments": {
            "care": {
                "head": "care.head",
                "supervisors": ["care.sup"],
                "teams": {"front": {"supervisors": ["front.sup"], "members": ["ann"]}},
            },
            "repair": {"head": "rep.head", "supervisors": ["rep.sup"]},
        },
        "directors": ["dir.night", "dir.day"],
        "covers": {"front.sup": ["care.sup"]},
    }
)


def _m(
    id: str, dept: str, role: str = "agent", seniority: int = 1, on: bool = True, capacity: int = 5
) -> StaffMember:
    return StaffMember(
        id=id,
        name=id,
        role=role,
        department=dept,
        skills=["complaint"],
        seniority=seniority,
        on_duty=on,
        capacity=capacity,
    )


PEOPLE = [
    _m("ann", "care"),
    _m("ben", "care", seniority=2, capacity=0),
    _m("cat", "care", seniority=3),
    _m("rex", "repair", seniority=3),
    _m("front.sup", "care", "supervisor", 3, on=False),
    _m("care.sup", "care", "supervisor", 3),
    _m("care.head", "care", "admin", 3),
    _m("rep.sup", "repair", "supervisor", 3),
    _m("rep.head", "repair", "admin", 3),
    _m("dir.night", "board", "admin", 3, on=False),
    _m("dir.day", "board", "admin", 3),
]


async def _route(pool: Any, org: Organisation, **kw: Any) -> Any:
    acts = AssignmentActivities(pool, DEFAULT_POLICY.intake, None, org)
    return await ActivityEnvironment().run(acts.route_escalation, EscalationRouteInput(**kw))


async def test_recipients_follow_the_request_and_fall_back_when_off_duty(pool: Any) -> None:
    for m in PEOPLE:
        await staff.upsert_staff(pool, m)
    route = await _route(
        pool,
        ORG,
        number="R-1",
        department="care",
        assignee="ann",
        roles=["owner", "supervisor", "department_head", "director"],
    )
    assert [(r.role, r.staff_id) for r in route.recipients] == [
        ("owner", "ann"),
        ("supervisor", "care.sup"),
        ("department_head", "care.head"),
        ("director", "dir.day"),
    ]
    assert "covering front.sup" in route.recipients[1].via
    # Nobody of care on duty at supervisor level or above: the chain climbs to the director,
    # who is paged once although two roles reached them.
    for who in ("care.sup", "care.head"):
        await staff.set_on_duty(pool, who, False)
    route = await _route(
        pool,
        ORG,
        number="R-1",
        department="care",
        assignee="ann",
        roles=["supervisor", "department_head", "director"],
    )
    assert [(r.role, r.staff_id) for r in route.recipients] == [("supervisor", "dir.day")]


async def test_reassign_goes_to_the_next_senior_with_room_and_takeover_to_the_director(
    pool: Any,
) -> None:
    for m in PEOPLE:
        await staff.upsert_staff(pool, m)
    await staff.transfer(pool, "R-2", "ann", _now())
    route = await _route(
        pool, ORG, number="R-2", department="care", assignee="ann", action="reassign"
    )
    assert (route.assignee, route.department) == ("cat", "care")  # ben is full; rex is repair
    route = await _route(
        pool, ORG, number="R-2", department="care", assignee="cat", action="director_takeover"
    )
    assert route.assignee == "dir.day"
    held = await pool.fetchval("SELECT staff_id FROM assignments WHERE number = 'R-2'")
    assert held == "dir.day"


async def test_without_a_chart_the_supervisor_of_the_same_department_is_found(
    pool: Any,
) -> None:
    for m in PEOPLE:
        await staff.upsert_staff(pool, m)
    route = await _route(
        pool,
        Organisation(),
        number="R-3",
        department="repair",
        assignee="rex",
        roles=["supervisor", "director"],
    )
    assert [(r.role, r.staff_id) for r in route.recipients] == [
        ("supervisor", "rep.sup"),
        ("director", None),
    ]


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


async def test_an_upset_customer_is_routed_to_senior_staff(pool: Any) -> None:
    from datetime import UTC, datetime

    from csflow.activity_io import TriageInput
    from csflow.domain.codes import Category, Priority, Tier

    for m in PEOPLE:
        await staff.upsert_staff(pool, m)
    acts = AssignmentActivities(pool, DEFAULT_POLICY.intake, None, ORG)
    calm, upset = [
        await ActivityEnvironment().run(
            acts.triage,
            TriageInput(
                number=f"R-U{i}",
                customer_id=f"C-{i}",
                category=Category.COMPLAINT,
                sub_type=None,
                priority=Priority.P3,
                tier=Tier.REGULAR,
                description=text,
                received_at=datetime.now(UTC),
            ),
        )
        for i, text in enumerate(
            [
                "There is an issue with my invoice, call 13831512345",
                "我非常愤怒，再不处理就去315投诉",
            ]
        )
    ]
    assert calm.emotion == [] and calm.assignee == "ann"
    assert upset.emotion == ["投诉", "愤怒", "315"]
    assert upset.assignee in {"cat", "care.sup"} and "upset customer" in upset.rule
