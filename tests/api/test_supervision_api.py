"""Supervisor controls and the queue through the HTTP API, end to end (issue 4)."""

from __future__ import annotations

from typing import Any

from csflow import search_attributes as sa
from tests.api.conftest import Api
from tests.helpers import eventually, intake

BOSS = {"id": "boss", "role": "supervisor"}
SOLO = {"id": "solo", "role": "agent"}
OTHER_BOSS = {"id": "boss-2", "role": "supervisor"}
CUSTOMER = {"id": "C-1001", "role": "customer"}


def member(staff_id: str, role: str, capacity: int, on_duty: bool = True) -> dict[str, Any]:
    return {
        "id": staff_id,
        "name": staff_id.title(),
        "role": role,
        "department": "care",
        "skills": ["complaint"],
        "seniority": 3,
        "capacity": capacity,
        "on_duty": on_duty,
    }


def body(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = intake(priority="P3").model_dump(mode="json", exclude_none=True)
    data.update(overrides)
    return data


async def kinds(api: Api, number: str) -> list[str]:
    rows = await api.pool.fetch(
        "SELECT kind FROM request_events WHERE number = $1 ORDER BY seq", number
    )
    return [r["kind"] for r in rows]


async def test_supervisor_commands_show_in_history_timeline_and_search(api: Api) -> None:
    assert (await api.http.put("/staff/solo", json=member("solo", "agent", 1))).status_code == 200
    assert (
        await api.http.put("/staff/boss", json=member("boss", "supervisor", 5, on_duty=False))
    ).status_code == 200
    a = (await api.http.post("/requests", json=body())).json()
    assert a["request"]["assignee"] == "solo"
    b = (
        await api.http.post(
            "/requests",
            json=body(customer={"id": "C-2", "name": "Wu", "contact": {"email": "wu@example.com"}}),
        )
    ).json()
    assert b["request"]["status"] == "received" and b["request"]["queued"]
    assert "queued" in await kinds(api, b["number"])

    # The boss comes on duty: the queue drains to them, the waiting request learns it.
    r = await api.http.post("/staff/boss/duty", json={"on_duty": True})
    assert r.status_code == 200 and r.json()["assigned_from_queue"] == [b["number"]]
    got = (await api.http.get(f"/requests/{b['number']}")).json()
    assert got["status"] == "assigned" and got["assignee"] == "boss"

    n = a["number"]
    r = await api.http.post(
        f"/requests/{n}/escalate",
        json={"actor": BOSS, "reason": "shop-wide outage", "priority": "P1"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "escalated" and r.json()["priority"] == "P1"
    r = await api.http.post(
        f"/requests/{n}/reassign",
        json={"actor": BOSS, "to_staff": "boss", "reason": "I take it myself"},
    )
    assert r.status_code == 200 and r.json()["assignee"] == "boss"
    # The boss holds it now: they ask, and someone else decides (issue 13 item 7).
    r = await api.http.post(
        f"/requests/{n}/compensation",
        json={"actor": BOSS, "amount": "900", "reason": "a day of lost sales"},
    )
    assert r.json()["compensation"]["status"] == "pending"
    r = await api.http.post(f"/requests/{n}/resolve", json={"actor": BOSS, "summary": "ok"})
    assert r.status_code == 409 and "compensation" in r.json()["detail"]
    r = await api.http.post(
        f"/requests/{n}/compensation/decision",
        json={"actor": BOSS, "approve": True, "reason": "goodwill"},
    )
    assert r.status_code == 403 and "cannot decide it" in r.json()["detail"]
    r = await api.http.post(
        f"/requests/{n}/compensation/decision",
        json={"actor": OTHER_BOSS, "approve": True, "reason": "goodwill"},
    )
    assert r.json()["compensation"]["status"] == "approved"
    await api.http.post(f"/requests/{n}/resolve", json={"actor": BOSS, "summary": "restored"})
    await api.http.post(f"/requests/{n}/confirm", json={"actor": CUSTOMER, "satisfied": True})
    r = await api.http.post(
        f"/requests/{n}/rehandle", json={"actor": BOSS, "reason": "root cause not fixed"}
    )
    assert r.status_code == 200 and r.json()["status"] == "rehandling"

    assert await kinds(api, n) == [
        "received",
        "assigned",
        "escalated",
        "reassigned",
        "compensation_requested",
        "compensation_approved",
        "resolution_proposed",
        "customer_confirmed",
        "follow_up_scheduled",
        "rehandling_started",
    ]
    actors = [
        r["actor_id"]
        for r in await api.pool.fetch(
            "SELECT actor_id FROM request_events WHERE number = $1 AND kind LIKE 'e%' "
            "OR number = $1 AND kind = 'reassigned' ORDER BY seq",
            n,
        )
    ]
    assert set(actors) == {"boss"}
    handle = api.client.get_workflow_handle(n)
    names = [
        e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
        async for e in handle.fetch_history_events()
        if e.HasField("workflow_execution_update_accepted_event_attributes")
    ]
    for name in ("escalate", "reassign", "decide_compensation", "order_rehandling"):
        assert name in names

    async def searchable() -> None:
        query = f"WorkflowId = '{n}' AND Assignee = 'boss' AND Priority = 'P1'"
        assert [w.id async for w in api.client.list_workflows(query)] == [n]

    await eventually(searchable)
    attrs = (await handle.describe()).typed_search_attributes
    assert attrs.get(sa.REQUEST_STATUS) == "rehandling"


async def test_a_refused_supervisor_command_is_409_or_422_with_the_reason(api: Api) -> None:
    n = (await api.http.post("/requests", json=body())).json()["number"]
    r = await api.http.post(
        f"/requests/{n}/escalate", json={"actor": SOLO, "reason": "me", "priority": "P1"}
    )
    assert r.status_code == 403 and "needs one of the roles" in r.json()["detail"]
    r = await api.http.post(f"/requests/{n}/escalate", json={"actor": BOSS, "reason": "x"})
    assert r.status_code == 422 and "give a priority" in r.text
    r = await api.http.post(
        f"/requests/{n}/reassign", json={"actor": BOSS, "to_staff": "ghost", "reason": "x"}
    )
    assert r.status_code == 409 and "no staff member ghost" in r.json()["detail"]
