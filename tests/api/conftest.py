from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from csflow.api.app import create_app
from csflow.domain.codes import Channel
from csflow.domain.numbering import business_day
from csflow.settings import Settings
from starter.client import CsflowClient
from tests.helpers import fresh_queue
from worker import build_worker

# Every test gets a fresh database but the Temporal server is shared, so each test's
# request numbers start in their own block: workflow ids never collide across tests.
_blocks = itertools.count(1)


@dataclass
class Api:
    http: httpx.AsyncClient
    client: Client
    pool: Any
    queue: str
    csflow: CsflowClient


async def _seed_serials(pool: Any) -> None:
    start = next(_blocks) * 1000
    day = business_day(datetime.now(UTC), "Asia/Shanghai")
    await pool.executemany(
        "INSERT INTO request_counters (day, channel, last_serial) VALUES ($1, $2, $3)",
        [(day, c.value, start) for c in Channel],
    )


@pytest.fixture
async def api(ts_env: WorkflowEnvironment, pool: Any) -> AsyncIterator[Api]:
    """The real API app, a real worker with the real activities, on a fresh task queue."""
    await _seed_serials(pool)
    queue = fresh_queue()
    app = create_app(Settings(CSFLOW_TASK_QUEUE=queue), client=ts_env.client, pool=pool)
    async with build_worker(ts_env.client, queue, pool), app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://csflow") as http:
            yield Api(http, ts_env.client, pool, queue, app.state.csflow)
