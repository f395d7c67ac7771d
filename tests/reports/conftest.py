from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from csflow.api.app import create_app
from csflow.settings import Settings
from tests.helpers import bearer, fresh_queue, token_for


@pytest.fixture
async def web(pool: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The API app on the test database; Temporal is never dialled by these pages."""
    app = create_app(Settings(CSFLOW_TASK_QUEUE=fresh_queue()), pool=pool)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://csflow",
            headers=bearer(await token_for(pool, "analyst")),
        ) as http:
            yield http
