"""POST /customer-keys on a real PostgreSQL: who may hold a customer's data key, the audit
of each grant, and a database-less client sealing with the granted key."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from csflow.contracts import RequestIntake
from csflow.crypto import envelope, granted, sealed
from csflow.crypto.codec import EncryptionCodec
from csflow.crypto.envelope import CustomerKeys
from csflow.crypto.keyring import KeyRing
from csflow.crypto.server import create_app
from tests.helpers import bearer, token_for

pytestmark = pytest.mark.integration


@pytest.fixture
async def codec(pool: Any) -> Any:
    ring = KeyRing.generate()
    app = create_app(ring, [], pool=pool)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://codec") as http,
    ):
        yield http, ring


async def test_only_service_and_admin_tokens_get_a_key_and_each_grant_is_recorded(
    codec: Any, pool: Any
) -> None:
    http, ring = codec
    assert (await http.post("/customer-keys/C-501")).status_code == 401
    for role in ("agent", "analyst", "supervisor", "follow_up"):
        refused = await http.post(
            "/customer-keys/C-501", headers=bearer(await token_for(pool, role))
        )
        assert refused.status_code == 403, role
        assert "service" in refused.json()["detail"] and "key" not in refused.json()
    assert await pool.fetchval("SELECT count(*) FROM customer_key_grants") == 0
    assert await pool.fetchval("SELECT count(*) FROM customer_keys") == 0, "no key made"
    bad = await http.post(
        "/customer-keys/C 501;drop", headers=bearer(await token_for(pool, "service"))
    )
    assert bad.status_code == 422

    answer = await http.post(
        "/customer-keys/C-501", headers=bearer(await token_for(pool, "service", "shop-backend"))
    )
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    doc = answer.json()
    assert doc["key_id"] == f"c:{doc['handle']}" and doc["cache_seconds"] == 60
    # The very key the worker and the API use for that customer.
    mine = await CustomerKeys(ring, pool).for_customer("C-501")
    assert (doc["handle"], base64.b64decode(doc["key"])) == (mine.handle, mine.key)
    admin = await http.post(
        "/customer-keys/C-501", headers=bearer(await token_for(pool, "admin", "ops.wang"))
    )
    assert admin.json()["handle"] == doc["handle"]
    rows = await pool.fetch(
        "SELECT customer_id, handle::text, subject, role FROM customer_key_grants ORDER BY id"
    )
    assert [tuple(r) for r in rows] == [
        ("C-501", doc["handle"], "shop-backend", "service"),
        ("C-501", doc["handle"], "ops.wang", "admin"),
    ]


async def test_a_client_without_a_database_seals_with_the_granted_key(
    codec: Any, pool: Any
) -> None:
    http, ring = codec
    keys = granted.GrantedKeys(
        "http://codec", await token_for(pool, "service", "shop-backend"), http=http
    )
    intake = RequestIntake.model_validate(
        {
            "customer": {"id": "C-502", "name": "Ouyang Lan", "contact": {"email": "o@lan.cn"}},
            "channel": "web",
            "category": "complaint",
            "description": "the parcel arrived soaked",
        }
    )
    done = await granted.seal_for(keys, "C-502", intake)
    assert await granted.seal_for(keys, "C-502", done) == done, "a second pass changes nothing"
    assert "Ouyang" not in done.model_dump_json()
    assert await pool.fetchval("SELECT count(*) FROM customer_key_grants") == 1, "cached"
    worker = CustomerKeys(ring, pool)
    assert await sealed.open_text(worker, done.customer.name) == "Ouyang Lan"
    # A value sealed for another customer is refused at the edge.
    other = await granted.seal_for(keys, "C-503", intake)
    with pytest.raises(granted.ForeignValue, match="C-502"):
        await granted.seal_for(keys, "C-502", other)

    # The codec server shows the words to a reader, and "(erased)" once the key is gone.
    codec = EncryptionCodec(ring)
    payload = Payload(metadata={"encoding": b"json/plain"}, data=done.model_dump_json().encode())
    body = json_format.MessageToJson(Payloads(payloads=await codec.encode([payload])))
    agent = bearer(await token_for(pool, "agent", "li.na"))

    async def shown() -> dict[str, Any]:
        answer = await http.post("/decode", content=body, headers=agent)
        assert answer.status_code == 200
        [opened] = json_format.Parse(answer.text, Payloads()).payloads
        result: dict[str, Any] = json.loads(opened.data)
        return result

    before = await shown()
    assert before["customer"]["name"] == "Ouyang Lan"
    assert before["customer"]["contact"] == {"phone": None, "email": "o@lan.cn"}
    assert before["description"] == "the parcel arrived soaked"
    async with pool.acquire() as conn:
        await envelope.destroy(conn, "C-502", datetime.now(UTC))
    after = await shown()
    assert after["customer"]["name"] == after["description"] == "(erased)"
    assert after["customer"]["contact"]["email"] == "(erased)"
    assert after["customer"]["id"] == "C-502" and after["category"] == "complaint"
