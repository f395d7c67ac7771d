"""A customer's details: read only by those who serve them, every read logged, erasable
without changing what reports count (docs/requirements.md §6)."""

from __future__ import annotations

from typer.testing import Result

from tests.api.conftest import Api
from tests.helpers import bearer, intake, run_cli, token_for

SUPERVISOR = {"id": "boss", "role": "supervisor"}


async def csflow(db: str, *args: str) -> Result:
    result: Result = await run_cli({"DATABASE_URL": db}, *args)
    return result


async def test_reads_are_logged_and_erasure_keeps_the_codes(api: Api, db: str) -> None:
    created = await api.http.post(
        "/requests", json=intake(priority="P3").model_dump(mode="json", exclude_none=True)
    )
    n = created.json()["number"]
    agent = bearer(await token_for(api.pool, "agent", "li.na"))
    r = await api.http.get(
        f"/requests/{n}/customer", params={"purpose": "call back"}, headers=agent
    )
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Li Lei" and r.json()["contact"]["phone"] == "+86 138 0000 0000"
    analyst = bearer(await token_for(api.pool, "analyst"))
    denied = await api.http.get(f"/requests/{n}/customer", headers=analyst)
    assert denied.status_code == 403
    assert (
        await api.http.get("/requests/CS20990101-WEB-0001/customer", headers=agent)
    ).status_code == 404
    reads = await api.pool.fetch("SELECT subject, role, purpose FROM personal_data_reads")
    assert [tuple(r) for r in reads] == [("li.na", "agent", "call back")]
    listed = await csflow(db, "customer", "reads", "C-1001")
    assert "li.na" in listed.stdout and n in listed.stdout and "call back" in listed.stdout

    refused = await csflow(db, "customer", "erase", "C-1001", "--yes")
    assert refused.exit_code == 1 and n in refused.output  # still open: it needs the contact
    assert (await csflow(db, "customer", "erase", "C-1001")).exit_code == 2  # no --yes
    r = await api.http.post(
        f"/requests/{n}/cancel", json={"actor": SUPERVISOR, "reason": "customer withdrew"}
    )
    assert r.status_code == 200, r.text
    before = await api.pool.fetchrow(
        "SELECT customer_id, customer_tier, category, channel, status, priority, received_at "
        "FROM requests WHERE number = $1",
        n,
    )

    await api.pool.execute(
        """INSERT INTO request_events (number, seq, at, kind, actor_id, actor_role, data)
           VALUES ($1, 999, now(), 'follow_up_recorded', 'C-1001', 'customer', $2)""",
        n,
        {"score": 2, "nps": 3, "praise": "Mr Wang was kind", "problem": "my address"},
    )

    erased = await csflow(db, "customer", "erase", "C-1001", "--yes")
    assert erased.exit_code == 0, erased.output
    after = await api.pool.fetchrow(
        "SELECT customer_id, customer_tier, category, channel, status, priority, received_at "
        "FROM requests WHERE number = $1",
        n,
    )
    assert dict(after) == dict(before), "reports read codes, which stay"
    r = await api.http.get(f"/requests/{n}/customer", headers=agent)
    body = r.json()
    assert (body["name"], body["contact"], body["description"]) == ("(erased)", {}, "(erased)")
    assert body["erased_at"] is not None
    row = await api.pool.fetchval(
        "SELECT count(*) FROM requests WHERE customer_name LIKE '%Li Lei%' "
        "OR customer_contact::text LIKE '%138%'"
    )
    assert row == 0
    words = await api.pool.fetchval(
        "SELECT data FROM request_events WHERE number = $1 AND seq = 999", n
    )
    assert words == {"score": 2, "nps": 3}, "scores stay for the reports, the words go"
