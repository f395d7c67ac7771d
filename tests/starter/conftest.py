"""A real worker on a fresh task queue, and the starter client that talks to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from csflow.config.terms import TermsProvider
from csflow.domain.policy import DEFAULT_POLICY
from csflow.settings import Settings
from starter.client import CsflowClient
from tests.helpers import fresh_queue, seed_serial_block
from worker import build_worker


@dataclass
class Stack:
    csflow: CsflowClient
    client: Client
    pool: Any
    db: str
    queue: str

    @property
    def env(self) -> dict[str, str | None]:
        """The environment a separate process (the CLI) needs to reach this stack."""
        return {
            "DATABASE_URL": self.db,
            "TEMPORAL_ADDRESS": self.client.service_client.config.target_host,
            "TEMPORAL_NAMESPACE": self.client.namespace,
            "CSFLOW_TASK_QUEUE": self.queue,
            "CSFLOW_ACTOR": None,
            "CSFLOW_ROLE": None,
            "CSFLOW_POLICY": None,
            "COLUMNS": "200",
        }


async def running_stack(
    ts_env: WorkflowEnvironment, pool: Any, db: str, settings: Settings | None = None
) -> AsyncIterator[Stack]:
    """`settings`: the worker's (e.g. CSFLOW_WORKFLOW_SANDBOX), the environment's if None."""
    await seed_serial_block(pool)
    queue = fresh_queue()
    csflow = CsflowClient(ts_env.client, pool, TermsProvider(DEFAULT_POLICY), task_queue=queue)
    async with build_worker(ts_env.client, queue, pool, settings=settings):
        yield Stack(csflow, ts_env.client, pool, db, queue)


@pytest.fixture
async def stack(ts_env: WorkflowEnvironment, pool: Any, db: str) -> AsyncIterator[Stack]:
    async for s in running_stack(ts_env, pool, db):
        yield s
