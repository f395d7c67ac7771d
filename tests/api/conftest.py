from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from csflow.api.app import create_app
from csflow.settings import Settings
from starter.client import CsflowClient
from tests.helpers import bearer, fresh_queue, seed_serial_block, token_for
from worker import build_worker


@dataclass
class Api:
    http: httpx.AsyncClient
    client: Client
    pool: Any
    queue: str
    csflow: CsflowClient
    transport: httpx.ASGITransport  # for clients with other (or no) credentials


@pytest.fixture
async def api(ts_env: WorkflowEnvironment, pool: Any) -> AsyncIterator[Api]:
    """The real API app, a real worker with the real activities, on a fresh task queue."""
    await seed_serial_block(pool)
    queue = fresh_queue()
    app = create_app(Settings(CSFLOW_TASK_QUEUE=queue), client=ts_env.client, pool=pool)
    async with build_worker(ts_env.client, queue, pool), app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        # A service token: it relays whichever actor each test names, as a backend does;
        # tests/api/test_roles.py covers people's own tokens.
        headers = bearer(await token_for(pool, "service"))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://csflow", headers=headers
        ) as http:
            yield Api(http, ts_env.client, pool, queue, app.state.csflow, transport)
