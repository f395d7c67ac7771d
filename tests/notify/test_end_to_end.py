"""Each lifecycle event produces exactly the expected messages, counted where they land:
at a real SMTP server and a real HTTP gateway (issue 5)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
from temporalio.testing import WorkflowEnvironment

from activities.notify import NotifyActivities
from csflow.api.app import create_app
from csflow.channels.email import EmailChannel
from csflow.channels.gateway import chat, phone, sms
from csflow.notify.config import NotifyConfig, Smtp
from csflow.notify.templates import Templates
from csflow.settings import Settings
from csflow.store.staff import StaffMember, upsert_staff
from tests.helpers import (
    bearer,
    eventually,
    fresh_queue,
    intake,
    seed_serial_block,
    token_for,
)
from tests.notify.servers import http_gateway, smtp_server
from tests.notify.test_send import DAY, SECRET
from worker import build_worker

AGENT = {"id": "a1", "role": "agent"}
CUSTOMER = {"id": "C-1001", "role": "customer"}


async def test_a_request_lifecycle_sends_exactly_the_expected_messages(
    ts_env: WorkflowEnvironment,
    pool: Any,
) -> None:
    await seed_serial_block(pool)
    await upsert_staff(
        pool,
        StaffMember(
            id="a1",
            name="Ann",
            role="agent",
            department="care",
            skills=["complaint"],
            email="ann@example.com",
        ),
    )
    body = intake(priority="P3")
    body.customer.preferred_channels = ["sms", "email"]
    with smtp_server() as (port, inbox), http_gateway(SECRET) as (url, gw):
        channels: dict[str, Any] = {
            "email": EmailChannel(Smtp(host="127.0.0.1", port=port)),
            "sms": sms(url, SECRET),
            "phone": phone(url, SECRET),
            "chat": chat(f"{url}/chat", SECRET),
        }
        notify = NotifyActivities(pool, channels, Templates(), NotifyConfig(), clock=lambda: DAY)
        settings = Settings(CSFLOW_TASK_QUEUE=fresh_queue(), CSFLOW_LINK_SECRET="s" * 32)
        app = create_app(settings, client=ts_env.client, pool=pool)
        async with (
            build_worker(
                ts_env.client, settings.task_queue, pool, settings=settings, notify=notify
            ),
            app.router.lifespan_context(app),
        ):
            http = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://x",
                headers=bearer(await token_for(pool, "service")),
            )
            n = (await http.post("/requests", json=body.model_dump(mode="json"))).json()["number"]
            for path, payload in [
                ("progress", {"actor": AGENT, "note": "parts ordered"}),
                ("resolve", {"actor": AGENT, "summary": "screen replaced"}),
                ("confirm", {"actor": CUSTOMER, "satisfied": True}),
                ("follow-up", {"actor": {"id": "fu", "role": "follow_up"}, "score": 5, "nps": 9}),
            ]:
                r = await http.post(f"/requests/{n}/{path}", json=payload)
                assert r.status_code == 200, r.text
            await ts_env.client.get_workflow_handle(n).result()  # waits for its sends

            async def all_landed() -> None:
                assert len(gw.delivered) == 5

            await eventually(all_landed)
        by_path = Counter(m["path"] for m in gw.delivered.values())
        texts = [m["text"] for m in gw.delivered.values() if m["path"] == "/sms"]
    assert by_path == {"/sms": 4, "/chat": 1}, by_path
    assert len(gw.received) == 5, "no message was sent twice"
    assert gw.bad_signatures == 0
    assert inbox.messages == [], "SMS is this customer's first choice"
    assert texts[0].startswith("您好，我们已收到您的请求") and n in texts[0]
    assert "parts ordered" in texts[1] and "screen replaced" in texts[2]
    assert "/survey/" in texts[3]
    rows = await pool.fetch("SELECT status FROM outbox WHERE number = $1", n)
    assert [r["status"] for r in rows] == ["sent"] * 5
