"""Session-wide fixtures: one time-skipping Temporal server for all workflow tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import TimeSkippingConfig, WorkflowEnvironment

from csflow import search_attributes as sa
from tests.helpers import binary


@pytest.fixture(scope="session")
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real dev server with per-workflow virtual clocks (TEMPORAL-FACTS.md).

    Skipping is off until a test calls `env.fast_forward(handle, duration)`, so a test
    decides exactly how far each request's clock moves.
    """
    env = await WorkflowEnvironment.start_time_skipping_v2(
        ts_config=TimeSkippingConfig(enabled=False),
        data_converter=pydantic_data_converter,
        dev_server_existing_path=binary("temporal"),
        dev_server_extra_args=[
            "--dynamic-config-value", "frontend.WorkflowTimeSkippingEnabled=true",
        ],
        search_attributes=list(sa.ALL),
    )
    try:
        yield env
    finally:
        await env.shutdown()
