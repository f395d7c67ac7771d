"""The API's composition root: settings → Temporal client + pool → routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from csflow import __version__
from csflow.api import auth, errors
from csflow.api.deps import Pool
from csflow.api.routes import board, improvements, listing, reports, requests, staff, survey
from csflow.api.routes.console import build_router as console_pages
from csflow.config.policy import policy_from_env
from csflow.config.terms import TermsProvider
from csflow.domain.policy import Policy
from csflow.settings import Settings
from csflow.store.pool import create_pool
from starter.client import CsflowClient


def create_app(settings: Settings | None = None, *, client: Client | None = None,
               pool: Any = None, policy: Policy | None = None) -> FastAPI:
    """Build the app; tests pass their own client and pool, production builds both here.

    The policy is loaded here, before anything listens: a policy file with a typo stops
    the API at start with the key named (PolicyError), never half-configured.
    """
    settings = settings or Settings()
    terms = TermsProvider(policy or policy_from_env())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_pool = pool is None
        # Lazy: the API comes up while Temporal is still starting or down, and answers
        # 503 with a reason meanwhile instead of refusing to start.
        temporal = client or await Client.connect(
            settings.temporal_target, namespace=settings.temporal_namespace,
            data_converter=pydantic_data_converter, lazy=True,
        )
        if own_pool and not settings.database_url:
            raise RuntimeError("DATABASE_URL is not set: the API needs PostgreSQL")
        db = pool if not own_pool else await create_pool(settings.database_url or "")
        app.state.pool = db
        app.state.temporal = temporal
        app.state.csflow = CsflowClient(temporal, db, terms, task_queue=settings.task_queue)
        try:
            yield
        finally:
            if own_pool:
                await db.close()

    app = FastAPI(
        title="csflow",
        version=__version__,
        summary="Customer-service requests as durable Temporal workflows",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.policy = terms.policy  # the board warns when its calendar runs out
    errors.install(app)
    auth.install(app)
    app.include_router(listing.router, dependencies=[
        Depends(auth.require(auth.READERS, "listing requests"))])
    app.include_router(requests.router)
    app.include_router(staff.router)
    app.include_router(improvements.router)
    app.include_router(survey.router)  # public: the signed link is the credential
    app.include_router(console_pages(terms.policy))  # each console route checks its caller
    app.include_router(board.router, dependencies=[
        Depends(auth.require(auth.BOARD, "the board"))])
    app.include_router(reports.router, dependencies=[
        Depends(auth.require(auth.REPORTS, "reports"))])

    @app.get("/healthz", tags=["ops"])
    async def healthz(db: Pool) -> JSONResponse:
        checks: dict[str, str] = {}
        try:
            await db.fetchval("SELECT 1")
            checks["database"] = "ok"
        except Exception as err:  # a health check reports, it does not raise
            checks["database"] = f"down: {err}"
        try:
            await app.state.temporal.workflow_service.get_system_info(GetSystemInfoRequest())
            checks["temporal"] = "ok"
        except Exception as err:
            checks["temporal"] = f"down: {err}"
        healthy = all(v == "ok" for v in checks.values())
        return JSONResponse(status_code=200 if healthy else 503,
                            content={"status": "ok" if healthy else "degraded", **checks})

    return app
