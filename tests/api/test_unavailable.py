"""When Temporal is down the API says so (503) and nothing is started or half-written."""

from __future__ import annotations

from typing import Any

import httpx
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RetryConfig

from csflow.api.app import create_app
from csflow.settings import Settings
from tests.helpers import bearer, free_port, intake, token_for


async def test_create_and_commands_answer_503_when_temporal_is_unreachable(pool: Any) -> None:
    nowhere = await Client.connect(
        f"127.0.0.1:{free_port()}",
        lazy=True,
        data_converter=pydantic_data_converter,
        retry_config=RetryConfig(max_retries=1, initial_interval_millis=50),
    )
    app = create_app(Settings(), client=nowhere, pool=pool)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://csflow",
            headers=bearer(await token_for(pool, "service")),
        ) as http:
            r = await http.post("/requests", json=intake().model_dump(mode="json"))
            assert r.status_code == 503, r.text
            assert "nothing was changed" in r.json()["detail"]
            assert r.headers["retry-after"] == "5"

            r = await http.post(
                "/requests/CS20261123-WEB-0001/close", json={"actor": {"id": "a", "role": "agent"}}
            )
            assert r.status_code == 503

            r = await http.get("/healthz")
            assert r.status_code == 503
            assert r.json()["database"] == "ok" and r.json()["temporal"].startswith("down")
    assert await pool.fetchval("SELECT count(*) FROM requests") == 0
    assert await pool.fetchval("SELECT count(*) FROM request_events") == 0
