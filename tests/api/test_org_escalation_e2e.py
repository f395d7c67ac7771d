"""End to end through the API (issue 18, item 10): a P1 held in department A breaches and
every ladder step reaches A's supervisor, A's head and the director on duty — once each —
while department B's people hear nothing. Real API, real worker and activities, real
PostgreSQL (staff directory, assignments, outbox), the time-skipping Temporal server."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
from temporalio.testing import WorkflowEnvironment

from csflow.api.app import create_app
from csflow.domain.policy import policy_from_mapping
from csflow.settings import Settings
from csflow.store import staff
from csflow.store.staff import StaffMember
from tests.helpers import bearer, eventually, fresh_queue, intake, seed_serial_block, token_for
from worker import build_worker

POLICY = policy_from_mapping(
    {
        "escalation": {
            "P1": [
                {"after": "15m", "notify": ["supervisor"], "channels": ["sms", "phone"]},
                {"after": "30m", "notify": ["department_head"], "channels": ["sms", "email"]},
                {
                    "after": "45m",
                    "notify": ["director"],
                    "channels": ["sms", "phone"],
                    "action": "director_takeover",
                },
            ]
        },
        "organisation": {
            "directors": ["dir.off", "dir.on"],
            "departments": {
                "A": {
                    "head": "a.head",
                    "supervisors": ["a.sup"],
                    "teams": {"a1": {"supervisors": ["a.lead"], "members": ["a.agent"]}},
                },
                "B": {
                    "head": "b.head",
                    "supervisors": ["b.sup"],
                    "teams": {"b1": {"supervisors": ["b.lead"], "members": ["b.agent"]}},
                },
            },
            "covers": {"a.lead": ["a.sup"]},
        },
    }
)


def _m(
    id: str, dept: str, role: str = "supervisor", *, skills: tuple[str, ...] = (), on: bool = True
) -> StaffMember:
    return StaffMember(
        id=id,
        name=id,
        role=role,
        department=dept,
        skills=list(skills),
        seniority=3,
        on_duty=on,
        capacity=5,
    )


STAFF = [
    _m("a.agent", "A", "agent", skills=("complaint",)),
    _m("a.lead", "A", on=False),
    _m("a.sup", "A"),
    _m("a.head", "A", "admin"),
    _m("b.agent", "B", "agent", skills=("billing",)),
    _m("b.lead", "B"),
    _m("b.sup", "B"),
    _m("b.head", "B", "admin"),
    _m("dir.off", "board", "admin", on=False),
    _m("dir.on", "board", "admin"),
]


async def test_a_p1_in_department_a_pages_as_people_once_each_and_b_hears_nothing(
    ts_env: WorkflowEnvironment,
    pool: Any,
) -> None:
    await seed_serial_block(pool)
    for m in STAFF:
        await staff.upsert_staff(pool, m)
    queue = fresh_queue()
    app = create_app(
        Settings(CSFLOW_TASK_QUEUE=queue), client=ts_env.client, pool=pool, policy=POLICY
    )
    async with build_worker(ts_env.client, queue, pool, POLICY), app.router.lifespan_context(app):
        headers = bearer(await token_for(pool, "service"))
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://csflow", headers=headers
        ) as http:
            body = intake(priority="P1").model_dump(mode="json", exclude_none=True)
            r = await http.post("/requests", json=body)
            assert r.status_code == 201, r.text
            number = r.json()["number"]
            assert r.json()["request"]["assignee"] == "a.agent"
            await ts_env.fast_forward(ts_env.client.get_workflow_handle(number), timedelta(hours=3))

            async def all_steps_paged() -> Counter[tuple[str, str]]:
                rows = await pool.fetch(
                    "SELECT key, recipient_id, status FROM outbox "
                    "WHERE number = $1 AND template = 'staff_escalation'",
                    number,
                )
                assert all(r["status"] == "sent" for r in rows)
                paged = Counter((r["recipient_id"], r["key"].split("/")[3]) for r in rows)
                assert {who for who, _ in paged} >= {"a.sup", "a.head", "dir.on"}
                return paged

            paged = await eventually(all_steps_paged, timeout=30)
            # Four clocks breach; each step pages its person once per named channel.
            assert paged == Counter({("a.sup", "s1"): 2, ("a.head", "s2"): 2, ("dir.on", "s3"): 2})
            everyone = {
                r["recipient_id"]
                for r in await pool.fetch(
                    "SELECT recipient_id FROM outbox WHERE number = $1", number
                )
            }
            assert not everyone & {"b.agent", "b.lead", "b.sup", "b.head", "dir.off"}
            view = (await http.get(f"/requests/{number}")).json()
            assert view["assignee"] == "dir.on"
            held = await pool.fetchval("SELECT staff_id FROM assignments WHERE number = $1", number)
            assert held == "dir.on"
            await http.post(
                f"/requests/{number}/cancel",
                json={"actor": {"id": "sup", "role": "supervisor"}, "reason": "test done"},
            )
