"""`POST /requests` never answers 500 for a request it started (issue 14): 201 with the
view, 202 with the number while intake is not written, 200 for a retry with the same
Idempotency-Key — and `/healthz` answers within a second, naming what is down."""

from __future__ import annotations

import time
from typing import Any

import httpx
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    StartWorkflowInput,
)
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.numbering import NumberingActivities
from csflow.api.app import create_app
from csflow.config.terms import TermsProvider
from csflow.domain.policy import DEFAULT_POLICY
from csflow.settings import Settings
from tests.api.conftest import Api
from tests.helpers import bearer, eventually, free_port, fresh_queue, intake, token_for
from worker import build_worker
from workflows.numbering import RequestNumbersWorkflow


def body() -> dict[str, Any]:
    return intake().model_dump(mode="json", exclude_none=True)


async def _count(client: Client, queue: str) -> int:
    found = await client.count_workflows(
        f"WorkflowType = 'ServiceRequest' AND TaskQueue = '{queue}'"
    )
    return found.count


async def test_a_retry_with_the_same_idempotency_key_creates_one_request(api: Api) -> None:
    first = await api.http.post("/requests", json=body(), headers={"Idempotency-Key": "k-1"})
    assert first.status_code == 201, first.text
    again = await api.http.post("/requests", json=body(), headers={"Idempotency-Key": "k-1"})
    assert again.status_code == 200, again.text
    assert again.json()["number"] == first.json()["number"] and again.json()["existing"]
    other = await api.http.post("/requests", json=body(), headers={"Idempotency-Key": "k-2"})
    assert other.status_code == 201 and other.json()["number"] != first.json()["number"]
    # The key is scoped to the token's subject: another service's "k-1" is its own.
    second_service = bearer(await token_for(api.pool, "service", subject="billing"))
    theirs = await api.http.post(
        "/requests", json=body(), headers={"Idempotency-Key": "k-1", **second_service}
    )
    assert theirs.status_code == 201 and theirs.json()["number"] != first.json()["number"]
    assert await api.pool.fetchval("SELECT count(*) FROM requests") == 3
    assert await _count(api.client, api.queue) == 3


async def test_intake_not_written_in_time_is_202_with_the_number(
    ts_env: WorkflowEnvironment, pool: Any
) -> None:
    """The request's worker is gone after the number was handed out (here: a worker that
    serves only the numbering): the request is started but cannot be written, so the
    caller gets its number and where to look — then a retry with the same key, once a
    whole worker is back, returns the same request with its view."""
    queue = fresh_queue()
    app = create_app(
        Settings(CSFLOW_TASK_QUEUE=queue), client=ts_env.client, pool=pool, receipt_wait=1.0
    )
    headers = {"Idempotency-Key": "outage-1", **bearer(await token_for(pool, "service"))}
    numbering_only = Worker(
        ts_env.client,
        task_queue=queue,
        workflows=[RequestNumbersWorkflow],
        activities=[NumberingActivities(pool, TermsProvider(DEFAULT_POLICY)).allocate_number],
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://csflow", headers=headers
        ) as http,
    ):
        async with numbering_only:
            r = await http.post("/requests", json=body())
            assert r.status_code == 202, r.text
            number = r.json()["number"]
            assert r.headers["location"] == f"/requests/{number}"
            assert r.json()["request"] is None and not r.json()["existing"]
            assert await _count(ts_env.client, queue) == 1

        async with build_worker(ts_env.client, queue, pool):

            async def written() -> None:
                assert await pool.fetchval(
                    "SELECT count(*) FROM requests WHERE number = $1", number
                )

            await eventually(written, timeout=30)
            again = await http.post("/requests", json=body())

            async def assigned() -> None:
                view = (await http.get(f"/requests/{number}")).json()
                assert view["status"] == "assigned", view

            await eventually(assigned, timeout=30)
        assert again.status_code == 200, again.text
        assert again.json()["number"] == number
        assert await _count(ts_env.client, queue) == 1


async def test_healthz_names_each_dependency(api: Api) -> None:
    r = await api.http.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "database": "ok", "temporal": "ok"}


async def test_healthz_answers_within_a_second_naming_what_is_down(pool: Any) -> None:
    dead = await Client.connect(f"127.0.0.1:{free_port()}", lazy=True)
    app = create_app(Settings(CSFLOW_TASK_QUEUE=fresh_queue()), client=dead, pool=pool)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://csflow") as http,
    ):
        started = time.monotonic()
        r = await http.get("/healthz")
        assert time.monotonic() - started < 1.0
    assert r.status_code == 503
    assert r.json()["database"] == "ok" and r.json()["temporal"].startswith("down")


class _Saturated(Interceptor):
    """Temporal refusing the start as an overloaded frontend does (RESOURCE_EXHAUSTED)."""

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        class Refusing(OutboundInterceptor):
            async def start_workflow(self, input: StartWorkflowInput) -> Any:
                raise RPCError(
                    "namespace rate limit exceeded", RPCStatusCode.RESOURCE_EXHAUSTED, b""
                )

        return Refusing(next)


async def test_temporal_refusing_the_start_is_503_never_500(
    ts_env: WorkflowEnvironment, pool: Any
) -> None:
    """Seen under a worker-kill burst: an overloaded Temporal refused a start and the
    caller got 500. Nothing was started, so it is a 503 with Retry-After — and the retry,
    same key, creates the request once."""
    queue = fresh_queue()
    config = ts_env.client.config()
    config["interceptors"] = [*config["interceptors"], _Saturated()]
    saturated = Client(**config)
    headers = {"Idempotency-Key": "busy-1", **bearer(await token_for(pool, "service"))}
    app = create_app(Settings(CSFLOW_TASK_QUEUE=queue), client=saturated, pool=pool)
    async with (
        build_worker(ts_env.client, queue, pool),
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://csflow", headers=headers
        ) as http,
    ):
        r = await http.post("/requests", json=body())
    assert r.status_code == 503, r.text
    assert r.headers.get("retry-after")
    assert await _count(ts_env.client, queue) == 0
