"""The HTTP API end to end: a real worker, the real activities, real PostgreSQL."""

from __future__ import annotations

import re
from typing import Any

from csflow import search_attributes as sa
from csflow.commands import COMMANDS
from tests.api.conftest import Api
from tests.helpers import eventually, intake

NUMBER = re.compile(r"^CS\d{8}-WEB-\d{4,}$")
AGENT = {"id": "agent-007", "role": "agent"}
CUSTOMER = {"id": "C-1001", "role": "customer"}
SUPERVISOR = {"id": "sup-9", "role": "supervisor"}


def body(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = intake().model_dump(mode="json", exclude_none=True)
    data.update(overrides)
    return data


async def test_create_then_walk_the_lifecycle_through_http(api: Api) -> None:
    r = await api.http.post("/requests", json=body(priority="P1"))
    assert r.status_code == 201, r.text
    number = r.json()["number"]
    assert NUMBER.match(number)
    assert r.headers["location"] == f"/requests/{number}"
    assert r.json()["request"]["status"] == "assigned"

    r = await api.http.get(f"/requests/{number}")
    assert r.status_code == 200
    got = r.json()
    assert got["priority"] == "P1" and got["status"] == "assigned"
    assert set(got["deadlines"]) == {"first_response", "plan", "resolution", "progress_cadence"}
    assert [e["kind"] for e in got["timeline"]] == ["received", "assigned"]

    steps = [
        (
            "plan",
            {
                "actor": AGENT,
                "measures": ["restart the gateway"],
                "eta": "2026-11-24T10:00:00+08:00",
            },
            "in_progress",
        ),
        ("progress", {"actor": AGENT, "note": "gateway restarted"}, "in_progress"),
        ("resolve", {"actor": AGENT, "summary": "service restored"}, "awaiting_confirmation"),
        (
            "confirm",
            {"actor": CUSTOMER, "satisfied": True, "evidence_ref": "call-123"},
            "follow_up_scheduled",
        ),
    ]
    for path, payload, status in steps:
        r = await api.http.post(f"/requests/{number}/{path}", json=payload)
        assert r.status_code == 200, (path, r.text)
        assert r.json()["status"] == status

    # Closing before the follow-up skips it: not the agent's call, and never without a why.
    r = await api.http.post(f"/requests/{number}/close", json={"actor": AGENT})
    assert r.status_code == 403 and "before its follow-up" in r.json()["detail"], r.text
    r = await api.http.post(f"/requests/{number}/close", json={"actor": SUPERVISOR})
    assert r.status_code == 422 and "reason" in r.json()["detail"], r.text
    r = await api.http.post(
        f"/requests/{number}/close",
        json={"actor": SUPERVISOR, "reason": "customer asked not to be called"},
    )
    assert r.status_code == 200, r.text
    closed = r.json()
    assert closed["status"] == "closed"
    assert closed["timeline"][-1]["data"]["follow_up_skipped"] is True

    # The PostgreSQL rows are the audit trail, one row per transition.
    row = await api.pool.fetchrow("SELECT * FROM requests WHERE number = $1", number)
    assert row["status"] == "closed" and row["closed_at"] is not None
    kinds = [
        r["kind"]
        for r in await api.pool.fetch(
            "SELECT kind FROM request_events WHERE number = $1 ORDER BY seq", number
        )
    ]
    assert kinds == [
        "received",
        "assigned",
        "plan_submitted",
        "progress_posted",
        "resolution_proposed",
        "customer_confirmed",
        "follow_up_scheduled",
        "closed",
    ]
    actors = [
        r["actor_id"]
        for r in await api.pool.fetch(
            "SELECT actor_id FROM request_events WHERE number = $1 ORDER BY seq", number
        )
    ]
    assert actors[2:] == ["agent-007"] * 3 + ["C-1001", "csflow", "sup-9"]

    # A command to an ended request is a conflict, not a crash.
    r = await api.http.post(f"/requests/{number}/cancel", json={"actor": AGENT, "reason": "x"})
    assert r.status_code == 409 and "ended" in r.json()["detail"]


async def test_a_created_request_is_found_by_search_attribute(api: Api) -> None:
    r = await api.http.post("/requests", json=body(priority="P1", channel="web"))
    number = r.json()["number"]
    query = f"WorkflowId = '{number}' AND Priority = 'P1' AND RequestStatus = 'assigned'"

    async def listed() -> None:
        found = [w async for w in api.client.list_workflows(query)]
        assert [w.id for w in found] == [number]
        assert found[0].typed_search_attributes.get(sa.ASSIGNEE) == "senior-desk"

    await eventually(listed)
    desc = await api.client.get_workflow_handle(number).describe()
    summary = await desc.static_summary()
    assert summary is not None and number in summary and "complaint" in summary
    assert "Li Lei" not in summary


async def test_bad_input_is_422_naming_the_fields_and_writes_nothing(api: Api) -> None:
    cases = {
        "description": body(description=""),
        "channel": body(channel="fax"),
        "received_at": body(received_at="2026-11-23T09:00:00"),  # no zone
        "nickname": body(nickname="x"),  # unknown field
        "contact": body(customer={"id": "C-1", "name": "A", "contact": {}}),
        # PostgreSQL cannot store U+0000: refused here, never a persistence retry loop.
        "order_number": body(order_number="ORD\u00001"),
    }
    for field, payload in cases.items():
        r = await api.http.post("/requests", json=payload)
        assert r.status_code == 422, (field, r.text)
        locs = [".".join(str(p) for p in d["loc"]) for d in r.json()["detail"]]
        assert any(field in loc for loc in locs), (field, locs)
    r = await api.http.post(
        "/requests", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 422
    assert await api.pool.fetchval("SELECT count(*) FROM requests") == 0
    seeded = await api.pool.fetchval(
        "SELECT max(last_serial) - min(last_serial) FROM request_counters"
    )
    assert seeded == 0, "no number was allocated for a rejected request"
    started = [
        w
        async for w in api.client.list_workflows(
            f"WorkflowType = 'ServiceRequest' AND TaskQueue = '{api.queue}'"
        )
    ]
    assert started == []


async def test_command_errors_map_to_404_409_and_422(api: Api) -> None:
    number = (await api.http.post("/requests", json=body())).json()["number"]

    r = await api.http.get("/requests/CS20991231-WEB-0001")
    assert r.status_code == 404
    r = await api.http.post("/requests/CS20991231-WEB-0001/close", json={"actor": AGENT})
    assert r.status_code == 404 and "no request" in r.json()["detail"]

    r = await api.http.post(
        f"/requests/{number}/confirm", json={"actor": CUSTOMER, "satisfied": True}
    )
    assert r.status_code == 409
    assert r.json()["detail"] == (
        "cannot confirm while the request is assigned (allowed when: awaiting_confirmation)"
    )

    r = await api.http.post(f"/requests/{number}/cancel", json={"actor": AGENT})
    assert r.status_code == 422
    assert any(d["loc"][-1] == "reason" for d in r.json()["detail"])
    r = await api.http.post(
        f"/requests/{number}/confirm", json={"actor": CUSTOMER, "satisfied": False}
    )
    assert r.status_code == 422 and "reason is required" in r.text

    events = await api.pool.fetchval(
        "SELECT count(*) FROM request_events WHERE number = $1", number
    )
    assert events == 2, "refused commands leave no trace"


async def test_refusal_rehandles_through_the_api(api: Api) -> None:
    number = (await api.http.post("/requests", json=body(priority="P3"))).json()["number"]
    await api.http.post(f"/requests/{number}/resolve", json={"actor": AGENT, "summary": "ok"})
    r = await api.http.post(
        f"/requests/{number}/confirm",
        json={"actor": CUSTOMER, "satisfied": False, "reason": "not fixed"},
    )
    assert r.status_code == 200
    assert r.json()["status"] == "rehandling" and r.json()["priority"] == "P2"
    row = await api.pool.fetchrow(
        "SELECT status, priority, rehandle_count FROM requests WHERE number = $1", number
    )
    assert dict(row) == {"status": "rehandling", "priority": "P2", "rehandle_count": 1}


async def test_external_id_and_idempotency_key_make_retries_safe(api: Api) -> None:
    first = await api.http.post("/requests", json=body(external_id="shop-order-77"))
    again = await api.http.post("/requests", json=body(external_id="shop-order-77"))
    assert first.status_code == 201 and again.status_code == 200
    number = first.json()["number"]
    assert again.json()["number"] == number and again.json()["existing"] is True
    runs = [w async for w in api.client.list_workflows(f"WorkflowId = '{number}'")]
    assert len(runs) == 1

    headers = {"Idempotency-Key": "progress-1"}
    for _ in range(2):
        r = await api.http.post(
            f"/requests/{number}/progress",
            headers=headers,
            json={"actor": AGENT, "note": "called the customer"},
        )
        assert r.status_code == 200
    count = await api.pool.fetchval(
        "SELECT count(*) FROM request_events WHERE number = $1 AND kind = 'progress_posted'", number
    )
    assert count == 1


async def test_health_and_openapi(api: Api) -> None:
    r = await api.http.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "database": "ok", "temporal": "ok"}
    spec = (await api.http.get("/openapi.json")).json()
    for c in COMMANDS:
        assert f"/requests/{{number}}/{c.path}" in spec["paths"]
    assert "/requests" in spec["paths"] and "/requests/{number}" in spec["paths"]
