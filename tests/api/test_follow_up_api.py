"""The follow-up loop through the HTTP API with the real activities (issue 6)."""

from __future__ import annotations

from typing import Any

from csflow.store import improvements
from tests.api.conftest import Api
from tests.helpers import eventually, intake

AGENT = {"id": "agent-7", "role": "agent"}
CUSTOMER = {"id": "C-1001", "role": "customer"}
FU = {"id": "fu.lin", "role": "follow_up"}


async def resolved_and_confirmed(api: Api) -> str:
    n = (
        await api.http.post(
            "/requests", json=intake(priority="P3").model_dump(mode="json", exclude_none=True)
        )
    ).json()["number"]
    await api.http.post(f"/requests/{n}/resolve", json={"actor": AGENT, "summary": "fixed"})
    r = await api.http.post(f"/requests/{n}/confirm", json={"actor": CUSTOMER, "satisfied": True})
    assert r.json()["status"] == "follow_up_scheduled", r.text
    return str(n)


async def test_score_one_opens_an_improvement_that_is_listed_and_closed(api: Api) -> None:
    n = await resolved_and_confirmed(api)
    row = await api.pool.fetchrow("SELECT follow_up FROM requests WHERE number = $1", n)
    assert row["follow_up"]["owner"] == "follow-up-desk", "no specialist in the directory yet"

    r = await api.http.post(
        f"/requests/{n}/follow-up",
        json={"actor": FU, "score": 1, "nps": 1, "problem": "nobody called back"},
    )
    assert r.status_code == 200, r.text
    task_id = r.json()["improvements"][0]

    async def listed() -> list[dict[str, Any]]:
        tasks = (await api.http.get("/improvements?status=open")).json()
        assert [t["task_id"] for t in tasks] == [task_id]
        return list(tasks)

    tasks = await eventually(listed)
    assert tasks[0]["status"] == "open"
    # The problem is the customer's words: sealed, read only through the audited route.
    assert tasks[0]["problem"] == improvements.WITHHELD
    words = (await api.http.get(f"/requests/{n}/customer")).json()["words"]
    assert {"kind": "improvement_opened", "field": "reason", "text": "nobody called back"} in [
        {k: w[k] for k in ("kind", "field", "text")} for w in words
    ]

    r = await api.http.post(
        f"/improvements/{task_id}/complete", json={"actor": CUSTOMER, "what_changed": "x"}
    )
    assert r.status_code == 403
    r = await api.http.post(
        f"/improvements/{task_id}/complete",
        json={"actor": AGENT, "what_changed": "call-back rota with a named owner"},
    )
    assert r.status_code == 200 and r.json()["status"] == "closed"
    r = await api.http.post(
        f"/improvements/{task_id}/complete", json={"actor": AGENT, "what_changed": "again"}
    )
    assert r.status_code == 409

    async def closed() -> None:
        kinds = [x["kind"] for x in (await api.http.get(f"/requests/{n}")).json()["timeline"]]
        assert kinds[-2:] == ["improvement_closed", "closed"]

    await eventually(closed)
    assert (await api.http.get("/improvements?status=open")).json() == []
    events = await api.pool.fetch(
        "SELECT kind, data FROM request_events WHERE number = $1 AND kind = 'improvement_closed'", n
    )
    assert events[0]["data"]["what_changed"] == "call-back rota with a named owner"


async def test_a_new_need_opens_a_linked_request(api: Api) -> None:
    n = await resolved_and_confirmed(api)
    r = await api.http.post(
        f"/requests/{n}/follow-up",
        json={
            "actor": FU,
            "score": 5,
            "nps": 10,
            "praise": "great",
            "new_needs": [{"category": "consultation", "description": "extended warranty?"}],
        },
    )
    assert r.status_code == 200, r.text
    linked = [e for e in r.json()["timeline"] if e["kind"] == "linked_request_opened"]
    child = linked[0]["data"]["linked"]
    row = await api.pool.fetchrow(
        "SELECT related_to, category, description FROM requests WHERE number = $1", child
    )
    assert row["related_to"] == [n] and row["category"] == "consultation"
    r = await api.http.post(f"/requests/{n}/follow-up", json={"actor": FU, "score": 5, "nps": 10})
    assert r.status_code == 409, "the follow-up is recorded once"
