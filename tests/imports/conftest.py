from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from csflow.domain.codes import Channel
from csflow.domain.numbering import business_day
from starter.client import CsflowClient
from tests.helpers import eventually, fresh_queue, seed_serial_block
from worker import build_worker

# Imported rows are numbered on the day they were received, not today, so those days get
# a block of serials per test too (far from tests.helpers' blocks): all tests share one
# Temporal server, and a number is a workflow id.
_blocks = itertools.count(1)
SAMPLE_DAYS = (date(2026, 11, 19), date(2026, 11, 20), date(2026, 11, 21))


@dataclass
class Stack:
    client: Client
    pool: Any
    queue: str
    csflow: CsflowClient

    async def workflow_ids(self) -> list[str]:
        """Every request execution on this test's task queue (one entry per run)."""
        return [
            wf.id
            async for wf in self.client.list_workflows(
                f"WorkflowType = 'ServiceRequest' AND TaskQueue = '{self.queue}'"
            )
        ]

    async def keys(self) -> dict[str, str]:
        rows = await self.pool.fetch("SELECT external_id, number FROM request_keys")
        return {r["external_id"]: r["number"] for r in rows}

    async def exactly_once(self, external_ids: set[str]) -> dict[str, str]:
        """Each external id has one number, and each number one workflow — nothing else."""
        keys = await self.keys()
        assert set(keys) == external_ids

        async def check() -> None:
            ids = await self.workflow_ids()
            assert sorted(ids) == sorted(keys.values())  # no id twice, none missing
            count = await self.client.count_workflows(
                f"WorkflowType = 'ServiceRequest' AND TaskQueue = '{self.queue}'"
            )
            assert count.count == len(external_ids)

        await eventually(check, timeout=20)
        return keys


@pytest.fixture
async def stack(ts_env: WorkflowEnvironment, pool: Any) -> AsyncIterator[Stack]:
    """A worker runs: request numbers come from its numbering workflow, as in production."""
    await seed_serial_block(pool)
    start = 500_000 + next(_blocks) * 1000
    yesterday = business_day(datetime.now(UTC) - timedelta(days=1), "Asia/Shanghai")
    await pool.executemany(
        """INSERT INTO request_counters (day, channel, last_serial) VALUES ($1, $2, $3)
           ON CONFLICT (day, channel) DO NOTHING""",
        [(day, c.value, start) for day in (*SAMPLE_DAYS, yesterday) for c in Channel],
    )
    queue = fresh_queue()
    csflow = CsflowClient(ts_env.client, pool, task_queue=queue)
    async with build_worker(ts_env.client, queue, pool):
        yield Stack(ts_env.client, pool, queue, csflow)


# The workflow harness (in-memory activities on the time-skipping server), for the
# workflow's own rules about events dated `at`.
from tests.workflows.conftest import harness  # noqa: E402

__all__ = ["Stack", "harness", "stack"]
