"""POST /assertions on the API: what a caller outside Python sends with each Update."""

from __future__ import annotations

import time

from csflow.crypto import assertions
from csflow.settings import Settings
from tests.api.conftest import Api
from tests.helpers import bearer, token_for


async def test_a_service_gets_an_assertion_for_the_actor_it_relays(api: Api) -> None:
    ask = {
        "workflow_id": "CS20261130-WEB-0001",
        "update": "decide_compensation",
        "actor": {"id": "sup-wu", "role": "supervisor"},
    }
    r = await api.http.post("/assertions", json=ask)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["header"] == "csflow-actor" and body["cli"].startswith("--headers 'csflow-actor=")
    claims = assertions.verify(
        assertions.load_key(Settings().data_dir),
        body["value"],
        actor="sup-wu",
        role="supervisor",
        workflow_id="CS20261130-WEB-0001",
        update="decide_compensation",
        now=time.time(),
    )
    assert claims.expires > time.time()


async def test_a_persons_token_is_vouched_for_only_as_that_person(api: Api) -> None:
    headers = bearer(await token_for(api.pool, "agent", "ag-li"))
    other = {"workflow_id": "*", "update": "*", "actor": {"id": "sup-wu", "role": "supervisor"}}
    r = await api.http.post("/assertions", json=other, headers=headers)
    assert r.status_code == 403 and "cannot act as sup-wu" in r.json()["detail"]
    mine = await api.http.post(
        "/assertions", json={"workflow_id": "*", "update": "*"}, headers=headers
    )
    assert mine.status_code == 200 and mine.json()["actor"] == {"id": "ag-li", "role": "agent"}
