from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from csflow.api.app import create_app
from csflow.api.routes import board, reports
from csflow.settings import Settings
from tests.helpers import bearer, fresh_queue, token_for


def with_analytics(app: FastAPI) -> FastAPI:
    """Include the board and report routers unless the app already does."""
    paths = {getattr(r, "path", None) for r in app.routes}
    if "/board" not in paths:
        app.include_router(board.router)
        app.include_router(reports.router)
    return app


@pytest.fixture
async def web(pool: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The API app on the test database; Temporal is never dialled by these pages."""
    app = with_analytics(create_app(Settings(CSFLOW_TASK_QUEUE=fresh_queue()), pool=pool))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://csflow",
                                     headers=bearer(await token_for(pool, "analyst"))) as http:
            yield http
