"""A live API on a free port and Debian's headless Chromium, for page tests.

Chromium comes from the distribution (`apt-get install chromium`; `python3 run.py test`
installs it as root) and is driven with Playwright's Python client pointed at that
binary — no browser is ever downloaded. Missing, the test fails and says how to install.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn
from playwright.async_api import Browser, async_playwright
from temporalio.testing import WorkflowEnvironment

from csflow.api.app import create_app
from csflow.settings import Settings
from tests.helpers import bearer, free_port, fresh_queue, seed_serial_block, token_for
from worker import build_worker

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Live:
    base_url: str
    pool: Any
    client: Any
    settings: Settings
    headers: dict[str, str]  # a service token's, for the test's own API calls


@pytest.fixture
async def live(ts_env: WorkflowEnvironment, pool: Any) -> AsyncIterator[Live]:
    await seed_serial_block(pool)
    port = free_port()
    settings = Settings(
        CSFLOW_TASK_QUEUE=fresh_queue(),
        CSFLOW_LINK_SECRET="test-secret-x" * 3,
        CSFLOW_PUBLIC_URL=f"http://127.0.0.1:{port}",
    )
    app = create_app(settings, client=ts_env.client, pool=pool)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    )
    async with build_worker(ts_env.client, settings.task_queue, pool, settings=settings):
        task = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.05)
        try:
            yield Live(
                f"http://127.0.0.1:{port}",
                pool,
                ts_env.client,
                settings,
                bearer(await token_for(pool, "service")),
            )
        finally:
            server.should_exit = True
            await task


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail(
            "Debian's chromium is missing: apt-get update && apt-get install -y "
            "chromium (python3 run.py test does this when run as root)"
        )
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            await b.close()
