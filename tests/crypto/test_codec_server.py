"""The codec server on a real PostgreSQL: who may decode, and the audit of each decode."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from csflow.crypto.codec import EncryptionCodec
from csflow.crypto.keyring import KeyRing
from csflow.crypto.server import create_app
from tests.helpers import bearer, token_for

pytestmark = pytest.mark.integration

UI = "http://localhost:8233"
SECRET = b'{"number": "CS20261130-WEB-0007", "customer": {"name": "Zhao Xiaoyu"}}'


def _body(payloads: list[Payload]) -> str:
    return json_format.MessageToJson(Payloads(payloads=payloads))


def _parse(text: str) -> list[Payload]:
    return list(json_format.Parse(text, Payloads()).payloads)


@pytest.fixture
async def codec_http(pool: Any) -> Any:
    ring = KeyRing.generate()
    app = create_app(ring, [UI], pool=pool)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://codec") as http,
    ):
        yield http, EncryptionCodec(ring)


async def test_an_agent_decodes_and_the_read_is_recorded(codec_http: Any, pool: Any) -> None:
    http, codec = codec_http
    sealed = await codec.encode([Payload(metadata={"encoding": b"json/plain"}, data=SECRET)])
    token = await token_for(pool, "agent", "agent-li")
    answer = await http.post(
        "/decode", content=_body(sealed), headers={**bearer(token), "X-Namespace": "default"}
    )
    assert answer.status_code == 200
    assert _parse(answer.text)[0].data == SECRET
    rows = await pool.fetch("SELECT subject, role, namespace, payloads, numbers FROM codec_reads")
    assert [dict(r) for r in rows] == [
        {
            "subject": "agent-li",
            "role": "agent",
            "namespace": "default",
            "payloads": 1,
            "numbers": ["CS20261130-WEB-0007"],
        }
    ]


async def test_no_token_or_a_role_without_the_right_gets_no_plaintext(
    codec_http: Any, pool: Any
) -> None:
    http, codec = codec_http
    sealed = await codec.encode([Payload(metadata={"encoding": b"json/plain"}, data=SECRET)])
    anonymous = await http.post("/decode", content=_body(sealed))
    assert anonymous.status_code == 401
    analyst = await http.post(
        "/decode", content=_body(sealed), headers=bearer(await token_for(pool, "analyst"))
    )
    assert analyst.status_code == 403
    assert "analyst" in analyst.json()["detail"]
    for answer in (anonymous, analyst):
        assert b"Zhao" not in answer.content
    assert await pool.fetchval("SELECT count(*) FROM codec_reads") == 0


async def test_encode_seals_for_the_cli_and_the_sign_in_cookie_works(
    codec_http: Any, pool: Any
) -> None:
    http, codec = codec_http
    token = await token_for(pool, "service")
    plain = [Payload(metadata={"encoding": b"json/plain"}, data=b'{"x": 1}')]
    encoded = await http.post("/encode", content=_body(plain), headers=bearer(token))
    assert encoded.status_code == 200
    [sealed] = _parse(encoded.text)
    assert sealed.metadata["encoding"] == b"binary/encrypted"
    assert await codec.decode([sealed]) == plain
    http.cookies.set("csflow_token", await token_for(pool, "supervisor"))
    decoded = await http.post("/decode", content=_body([sealed]))
    assert decoded.status_code == 200 and _parse(decoded.text) == plain


async def test_cors_admits_the_ui_origin_with_credentials_only(codec_http: Any) -> None:
    http, _ = codec_http
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-namespace",
    }
    ok = await http.options("/decode", headers={"Origin": UI, **preflight})
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == UI
    assert ok.headers["access-control-allow-credentials"] == "true"
    other = await http.options("/decode", headers={"Origin": "http://evil.test", **preflight})
    assert "access-control-allow-origin" not in other.headers


async def test_garbage_and_oversized_bodies_are_refused_without_echo(
    codec_http: Any, pool: Any
) -> None:
    http, _ = codec_http
    headers = bearer(await token_for(pool, "admin"))
    bad = await http.post("/decode", content="not json " * 10, headers=headers)
    assert bad.status_code == 400 and "not json" not in bad.text
    huge = json.dumps({"payloads": [{"data": "A" * (5 * 1024 * 1024)}]})
    assert (await http.post("/decode", content=huge, headers=headers)).status_code == 413
