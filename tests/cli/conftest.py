from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.starter.conftest import Stack, running_stack


@pytest.fixture
async def stack(ts_env: WorkflowEnvironment, pool: Any, db: str) -> AsyncIterator[Stack]:
    async for s in running_stack(ts_env, pool, db):
        yield s
