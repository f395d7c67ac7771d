"""The API's composition root: settings → Temporal client + pool → routes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client

from csflow import __version__
from csflow.api import auth, errors
from csflow.api.deps import Pool
from csflow.api.middleware import EdgeGuard
from csflow.api.routes import (
    assertions,
    board,
    console,
    customers,
    improvements,
    listing,
    reports,
    requests,
    staff,
    survey,
)
from csflow.api.routes.scorecards import router as scorecards_router
from csflow.config.policy import policy_from_env
from csflow.config.terms import TermsProvider
from csflow.crypto import options
from csflow.crypto.assertions import load_key
from csflow.domain.policy import Policy
from csflow.settings import Settings
from csflow.store.pool import create_pool
from starter.client import CsflowClient

HEALTH_TIMEOUT = 0.8  # seconds per dependency: /healthz answers within one second


async def _probe(check: Coroutine[Any, Any, object]) -> str:
    """ "ok", or why not — a health check reports, it does not raise or hang.

    The check is abandoned (cancelled, not awaited) at the limit: cancelling a query on a
    frozen PostgreSQL can itself hang, and the answer must not wait for it.
    """
    task = asyncio.ensure_future(check)
    done, _ = await asyncio.wait({task}, timeout=HEALTH_TIMEOUT)
    if not done:
        task.cancel()
        task.add_done_callback(lambda t: t.cancelled() or t.exception())
        return f"down: no answer within {HEALTH_TIMEOUT} s"
    err = task.exception()
    if err is not None:
        return f"down: {type(err).__name__}: {str(err)[:200]}"
    return "ok"


def create_app(
    settings: Settings | None = None,
    *,
    client: Client | None = None,
    pool: Any = None,
    policy: Policy | None = None,
    receipt_wait: float = requests.RECEIPT_WAIT,
) -> FastAPI:
    """Build the app; tests pass their own client and pool, production builds both here.

    The policy is loaded here, before anything listens: a policy file with a typo stops
    the API at start with the key named (PolicyError), never half-configured.
    `receipt_wait` is how long `POST /requests` waits for intake before answering 202.
    """
    settings = settings or Settings()
    terms = TermsProvider(policy or policy_from_env())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_pool = pool is None
        # Lazy: the API comes up while Temporal is still starting or down, and answers
        # 503 with a reason meanwhile instead of refusing to start.
        temporal = client or await Client.connect(
            settings.temporal_target,
            namespace=settings.temporal_namespace,
            lazy=True,
            **options.client_options(settings),
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
    app.state.actor_key = load_key(settings.data_dir)  # signs POST /assertions
    # Checks questionnaire links; resolved now so that a container without
    # CSFLOW_LINK_SECRET (CSFLOW_SECRETS=env) refuses to start, not every survey page.
    app.state.survey_secret = settings.survey_secret()
    app.state.receipt_wait = receipt_wait
    app.add_middleware(EdgeGuard)
    app.state.policy = terms.policy  # the board warns when its calendar runs out
    errors.install(app)
    auth.install(app)
    app.include_router(
        listing.router, dependencies=[Depends(auth.require(auth.READERS, "listing requests"))]
    )
    app.include_router(requests.router)
    app.include_router(requests.customer_router)
    app.include_router(customers.router)
    app.include_router(staff.router)
    app.include_router(improvements.router)
    app.include_router(survey.router)  # public: the signed link is the credential
    console.install(app, terms.policy)  # each console route checks its caller
    app.include_router(board.router, dependencies=[Depends(auth.require(auth.BOARD, "the board"))])
    app.include_router(
        reports.router, dependencies=[Depends(auth.require(auth.REPORTS, "reports"))]
    )
    app.include_router(scorecards_router)  # issue 16; roles checked in the router
    app.include_router(assertions.router)
    _declare_bearer(app)

    @app.get(
        "/healthz",
        tags=["ops"],
        responses={
            503: {"description": "A dependency is down or did not answer in time; it is named"}
        },
    )
    async def healthz(db: Pool) -> JSONResponse:
        """Each dependency checked at once, each within its own time limit, so the answer
        comes within a second even while PostgreSQL or Temporal hangs."""
        temporal = app.state.temporal
        names = ("database", "temporal")
        results = await asyncio.gather(
            _probe(db.fetchval("SELECT 1")),
            _probe(
                temporal.workflow_service.get_system_info(
                    GetSystemInfoRequest(), timeout=timedelta(seconds=HEALTH_TIMEOUT)
                )
            ),
        )
        checks = dict(zip(names, results, strict=True))
        healthy = all(v == "ok" for v in checks.values())
        return JSONResponse(
            status_code=200 if healthy else 503,
            content={"status": "ok" if healthy else "degraded", **checks},
        )

    return app


def _declare_bearer(app: FastAPI) -> None:
    """Say in the OpenAPI document that every route takes `Authorization: Bearer csf_…`,
    so Swagger UI's Authorize button works and generated clients send the header."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes
            )
            schema.setdefault("components", {})["securitySchemes"] = {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "csf_<id>_<secret>",
                    "description": "An API token (`csflow token create`); docs/api.md",
                }
            }
            schema["security"] = [{"bearer": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
