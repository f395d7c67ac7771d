"""The customer's words at their longest, in a script that takes three bytes a character,
travel through the workflow sealed with the customer's key and come back whole through the
audited read — the sealed form is longer than the plaintext bound, and every model on the
way (start input, Update argument, timeline event, persistence input) must take it."""

from __future__ import annotations

from typing import Any

import pytest

from csflow.contracts import Contact, Customer, RequestView
from csflow.crypto import sealed
from csflow.domain.codes import Tier
from tests.api.conftest import Api
from tests.helpers import bearer, eventually, intake, token_for

pytestmark = pytest.mark.integration

DESCRIPTION = "漂" * 10_000
NAME = "欧" * 200
REPLY = "回" * 4000


async def test_the_longest_words_travel_sealed_and_read_back_whole(api: Api) -> None:
    body = intake(
        description=DESCRIPTION,
        customer=Customer(
            id="C-LONG-1", name=NAME, tier=Tier.REGULAR, contact=Contact(email="l@long.cn")
        ),
    )
    created = await api.http.post("/requests", json=body.model_dump(mode="json", exclude_none=True))
    assert created.status_code in (200, 201), created.text
    n = created.json()["number"]
    agent = {"id": "agent-7", "role": "agent"}
    r = await api.http.post(
        f"/requests/{n}/wait-for-customer", json={"actor": agent, "reason": "photos please"}
    )
    assert r.status_code == 200, r.text
    r = await api.http.post(
        f"/requests/{n}/customer-replied",
        json={"actor": {"id": "C-LONG-1", "role": "customer"}, "note": REPLY},
    )
    assert r.status_code == 200, r.text
    # The answer (the persisted view) withholds the words and names the sealed field …
    # (the reply resumes the paused clocks: its event is `clocks_resumed`, reason the note)
    answered = r.json()["timeline"][-1]
    assert answered["kind"] == "clocks_resumed", answered
    assert answered["reason"] is None and answered["data"].get("sealed") == ["reason"]
    assert REPLY not in r.text
    # … while the workflow's own state carries them sealed with the customer's key.
    view = await api.client.get_workflow_handle(n).query("get_state", result_type=RequestView)
    replied = view.timeline[-1]
    assert sealed.is_sealed(replied.reason), "the workflow's state carries the sealed words"
    assert replied.reason is not None and len(replied.reason) > 10_000
    refused = await api.http.post(
        f"/requests/{n}/customer-replied",
        json={"actor": {"id": "C-LONG-1", "role": "customer"}, "note": REPLY + "!"},
    )
    assert refused.status_code == 422, "the plaintext bound is checked before sealing"

    reader = bearer(await token_for(api.pool, "agent", "li.na"))

    async def read_back() -> dict[str, Any]:
        got = await api.http.get(f"/requests/{n}/customer", headers=reader)
        assert got.status_code == 200, got.text
        details: dict[str, Any] = got.json()
        assert REPLY in [w["text"] for w in details["words"]]
        return details

    details = await eventually(read_back, timeout=20)
    assert (details["name"], details["description"]) == (NAME, DESCRIPTION)
    assert details["contact"] == {"email": "l@long.cn"}
