"""A worker killed (SIGKILL) between a send and its outbox update: no second delivery.

The worker runs as its own process (`python -m csflow worker`), exactly as `csflow up`
and docker-compose run it. The gateway delivers the SMS and then holds its answer; the
test kills the worker at that moment, so the send happened and the outbox still says
`sending`. A fresh worker gets the activity again after its start-to-close timeout,
re-sends with the same idempotency key, and the gateway delivers nothing new.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment

from activities.notify import NotifyActivities
from csflow.channels.gateway import sms
from csflow.config.terms import TermsProvider
from csflow.domain.policy import DEFAULT_POLICY
from csflow.notify.config import NotifyConfig
from csflow.notify.templates import Templates
from starter.client import CsflowClient
from tests.helpers import eventually, free_port, fresh_queue, intake, seed_serial_block
from tests.notify.servers import http_gateway
from tests.notify.test_send import SECRET
from worker import build_worker


async def outbox_status(pool: Any, number: str) -> str | None:
    status: str | None = await pool.fetchval(
        "SELECT status FROM outbox WHERE number = $1 AND key LIKE '%acknowledgement'", number
    )
    return status


async def test_killing_the_worker_after_the_send_delivers_once(
    ts_env: WorkflowEnvironment,
    pool: Any,
    db: str,
    tmp_path: Path,
) -> None:
    await seed_serial_block(pool)
    queue = fresh_queue()
    body = intake(priority="P1")  # P1: an SMS even in the customer's quiet hours
    body.customer.preferred_channels = ["sms"]
    with http_gateway(SECRET) as (url, gw):
        gw.hold_key = "acknowledgement"
        config = tmp_path / "notify.toml"
        config.write_text(f'[gateway]\nurl = "{url}"\n', encoding="utf-8")
        env = {
            **os.environ,
            "DATABASE_URL": db,
            "CSFLOW_TASK_QUEUE": queue,
            "TEMPORAL_ADDRESS": ts_env.client.service_client.config.target_host,
            "CSFLOW_NOTIFY_CONFIG": str(config),
            "CSFLOW_GATEWAY_SECRET": SECRET.decode(),
            "CSFLOW_METRICS_PORT": str(free_port()),
            "CSFLOW_LOG_FORMAT": "json",
        }
        log = (tmp_path / "worker.log").open("wb")
        worker = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "csflow",
            "worker",
            env=env,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            client = CsflowClient(
                ts_env.client, pool, TermsProvider(DEFAULT_POLICY), task_queue=queue
            )
            number = (await client.create(body, wait=False)).number
            held = await asyncio.to_thread(gw.holding.wait, 90)
            assert held, (tmp_path / "worker.log").read_text()[-3000:]
            worker.kill()  # SIGKILL: no clean-up, no outbox update
            await asyncio.wait_for(worker.wait(), 30)
        finally:
            if worker.returncode is None:
                worker.kill()
            gw.release.set()
            log.close()
        assert await outbox_status(pool, number) == "sending"

        notify = NotifyActivities(pool, {"sms": sms(url, SECRET)}, Templates(), NotifyConfig())
        async with build_worker(ts_env.client, queue, pool, notify=notify):

            async def recorded() -> None:
                assert await outbox_status(pool, number) == "sent"

            # Another dispatcher takes the row once the dead one's lease (60 s) lapses.
            await eventually(recorded, timeout=120, interval=0.5)
    acks = [r for r in gw.received if number in r["key"] and r["key"].endswith("acknowledgement")]
    assert len(acks) == 2, "sent, then re-sent once after the crash"
    assert acks[0]["key"] == acks[1]["key"], "with the same idempotency key"
    delivered = [k for k in gw.delivered if number in k and k.endswith("acknowledgement")]
    assert delivered == [acks[0]["key"]], "the customer got one SMS"
