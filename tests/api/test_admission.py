"""Admission control of POST /requests (csflow/api/admission.py), driven for real: a tiny
configured rate, and a real backlog of workflow tasks on the app's task queue."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from csflow.api.admission import Admission, TokenBucket
from csflow.api.app import create_app
from csflow.contracts import WORKFLOW_TYPE
from csflow.domain.policy import Policy, policy_from_mapping
from csflow.settings import Settings
from tests.helpers import bearer, eventually, fresh_queue, intake, seed_serial_block, token_for
from worker import build_worker


def body(external_id: str, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = intake(external_id=external_id, **overrides).model_dump(
        mode="json", exclude_none=True
    )
    return data


@asynccontextmanager
async def app_client(
    pool: Any, client: Client, policy: Policy | None = None, **settings: Any
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(**settings), client=client, pool=pool, policy=policy)
    async with app.router.lifespan_context(app):
        headers = bearer(await token_for(pool, "service"))
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://csflow", headers=headers
        ) as http:
            yield http


async def started(client: Client, queue: str, kind: str = WORKFLOW_TYPE) -> int:
    """Workflows of `kind` ever started on `queue`: what a 429 must not add to."""
    return (
        await client.count_workflows(f"TaskQueue = '{queue}' AND WorkflowType = '{kind}'")
    ).count


async def rows(pool: Any) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM requests"))


async def test_rate_limit_answers_429_with_retry_after_then_accepts_again(
    ts_env: WorkflowEnvironment, pool: Any
) -> None:
    await seed_serial_block(pool)
    queue = fresh_queue()
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(build_worker(ts_env.client, queue, pool))
        http = await stack.enter_async_context(
            app_client(
                pool,
                ts_env.client,
                CSFLOW_TASK_QUEUE=queue,
                CSFLOW_INTAKE_RATE=0.1,  # one start per 10 s
                CSFLOW_INTAKE_BURST=1,
                CSFLOW_INTAKE_MAX_BACKLOG=0,  # the rate gate alone
            )
        )
        first = await http.post("/requests", json=body("adm-rate-1"))
        assert first.status_code == 201, first.text

        held = await http.post("/requests", json=body("adm-rate-2"))
        assert held.status_code == 429, held.text
        assert "CSFLOW_INTAKE_RATE" in held.json()["detail"]
        assert held.json()["type"] == "Saturated"
        retry_after = int(held.headers["Retry-After"])
        assert 1 <= retry_after <= 10

        # Nothing was started or written for the 429: one row, the first request's
        # workflow — and the refused one's external id is free for its retry.
        assert await rows(pool) == 1
        before = await eventually(lambda: _settled(ts_env.client, queue), timeout=15)

        await asyncio.sleep(retry_after)
        again = await http.post("/requests", json=body("adm-rate-2"))
        assert again.status_code == 201, again.text
        assert again.json()["existing"] is False
        assert await rows(pool) == 2
        assert await eventually(lambda: _more(ts_env.client, queue, before), timeout=15)


async def _settled(client: Client, queue: str) -> int:
    """The count of requests on `queue`, once visibility shows the first one's."""
    n = await started(client, queue)
    assert n == 1, n
    return n


async def _more(client: Client, queue: str, before: int) -> bool:
    n = await started(client, queue)
    assert n == before + 1, (n, before)
    return True


async def test_backlog_answers_429_until_the_worker_catches_up(
    ts_env: WorkflowEnvironment, pool: Any
) -> None:
    """No worker on the queue while three workflows wait: their first workflow tasks are
    a backlog older than the limit, so intake is refused; once they are gone and a worker
    polls, it is accepted."""
    await seed_serial_block(pool)
    queue = fresh_queue()
    settings: dict[str, Any] = {
        "CSFLOW_TASK_QUEUE": queue,
        "CSFLOW_INTAKE_MAX_BACKLOG": 0.5,
        "CSFLOW_INTAKE_PROBE_INTERVAL": 0.2,
    }
    waiting: list[WorkflowHandle[Any, Any]] = [
        await ts_env.client.start_workflow(
            "NobodyPollsThis", id=f"adm-backlog-{uuid.uuid4().hex}", task_queue=queue
        )
        for _ in range(3)
    ]
    probe = Admission.from_settings(Settings(**settings), ts_env.client).probe
    assert probe is not None

    async def behind() -> float:
        age = await probe.age()
        assert age is not None and age > 0.5, age
        return age

    await eventually(behind, timeout=30, interval=0.3)

    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(app_client(pool, ts_env.client, **settings))
        held = await http.post("/requests", json=body("adm-backlog-1"))
        assert held.status_code == 429, held.text
        assert "behind" in held.json()["detail"]
        assert 1 <= int(held.headers["Retry-After"]) <= 60
        assert await rows(pool) == 0
        assert await started(ts_env.client, queue, "NobodyPollsThis") == 3
        assert await started(ts_env.client, queue) == 0

        for handle in waiting:
            await handle.terminate("test over")
        await stack.enter_async_context(build_worker(ts_env.client, queue, pool))

        async def caught_up() -> None:
            age = await probe.age()
            assert age is not None and age <= 0.5, age

        await eventually(caught_up, timeout=60, interval=0.3)

        async def accepted() -> httpx.Response:
            r = await http.post("/requests", json=body("adm-backlog-1"))
            assert r.status_code == 201, r.text
            return r

        created = await eventually(accepted, timeout=30, interval=0.5)
        assert created.json()["existing"] is False
        assert await rows(pool) == 1


P1_IN_SECONDS = {"sla": {"P1": {"first_response": "4s", "plan": "1h", "resolution": "2h"}}}


async def after_late_firings(
    stack: AsyncExitStack, ts_env: WorkflowEnvironment, pool: Any, prefix: str, **settings: Any
) -> httpx.AsyncClient:
    """An app whose first request's P1 clocks fell due while no worker ran: once a worker
    is back, its warnings and breach are recorded seconds late — real lateness in
    request_events, the reading both kinds of control act on. Returns the app's client."""
    await seed_serial_block(pool)
    queue = fresh_queue()
    policy = policy_from_mapping(P1_IN_SECONDS)
    http = await stack.enter_async_context(
        app_client(pool, ts_env.client, policy=policy, CSFLOW_TASK_QUEUE=queue, **settings)
    )
    async with build_worker(ts_env.client, queue, pool, policy):
        first = await http.post("/requests", json=body(f"{prefix}-1", priority="P1"))
        assert first.status_code == 201, first.text
    await asyncio.sleep(6)  # warnings at 2 s and 3 s, the breach at 4 s: all missed
    await stack.enter_async_context(build_worker(ts_env.client, queue, pool, policy))

    async def recorded_late() -> None:
        late = await pool.fetchval(
            "SELECT max(extract(epoch FROM recorded_at - at)) FROM request_events "
            "WHERE kind = 'sla_breached'"
        )
        assert late is not None and late > 1.0, late

    await eventually(recorded_late, timeout=30, interval=0.3)
    return http


async def admitted_in_the_end(http: httpx.AsyncClient, external_id: str, timeout: float) -> None:
    """The refused start, retried with its external id every second, is admitted."""

    async def accepted() -> httpx.Response:
        r = await http.post("/requests", json=body(external_id, priority="P1"))
        assert r.status_code == 201, r.text
        return r

    created = await eventually(accepted, timeout=timeout, interval=1.0)
    assert created.json()["existing"] is False


async def test_late_firings_answer_429_until_they_are_out_of_the_window(
    ts_env: WorkflowEnvironment, pool: Any
) -> None:
    """`CSFLOW_INTAKE_CONTROL=door`: after late firings, intake is refused until they have
    left the lateness window."""
    async with AsyncExitStack() as stack:
        http = await after_late_firings(
            stack,
            ts_env,
            pool,
            "adm-late",
            CSFLOW_INTAKE_CONTROL="door",
            CSFLOW_INTAKE_MAX_BACKLOG=0,  # the lateness gate alone
            CSFLOW_INTAKE_MAX_LATENESS=1.0,
            CSFLOW_INTAKE_LATENESS_WINDOW=15,
            CSFLOW_INTAKE_PROBE_INTERVAL=0.2,
        )
        held = await http.post("/requests", json=body("adm-late-2", priority="P1"))
        assert held.status_code == 429, held.text
        assert "running late" in held.json()["detail"]
        assert 1 <= int(held.headers["Retry-After"]) <= 60
        assert await rows(pool) == 1
        # The late firings fell due ~2–4 s after the first request; 15 s on they are
        # outside the window (the second request's own clocks, on a running worker, are
        # on time).
        await admitted_in_the_end(http, "adm-late-2", timeout=40)
        assert await rows(pool) == 2


async def test_late_firings_lower_the_intake_rate_then_quiet_raises_it(
    ts_env: WorkflowEnvironment, pool: Any
) -> None:
    """`CSFLOW_INTAKE_CONTROL=rate`: the same lateness, read at the rate's next decision,
    cuts the rate intake ran at — the next start is refused with the rate and the reason
    — and with nothing late since the cut, the refused callers raise it again until the
    start is admitted."""
    async with AsyncExitStack() as stack:
        http = await after_late_firings(
            stack,
            ts_env,
            pool,
            "adm-steer",
            CSFLOW_INTAKE_CONTROL="rate",
            CSFLOW_INTAKE_MAX_BACKLOG=0,
            CSFLOW_INTAKE_MAX_LATENESS=1.0,
            CSFLOW_INTAKE_MIN_RATE=0.05,  # one start in ~10 s counts as intake to cut
            CSFLOW_INTAKE_ADJUST_INTERVAL=2.0,
        )
        held = await http.post("/requests", json=body("adm-steer-2", priority="P1"))
        assert held.status_code == 429, held.text
        detail = held.json()["detail"]
        assert "held to" in detail and "requests/s" in detail and "late" in detail, detail
        assert 1 <= int(held.headers["Retry-After"]) <= 60
        assert await rows(pool) == 1
        await admitted_in_the_end(http, "adm-steer-2", timeout=60)
        assert await rows(pool) == 2


def test_the_429_is_in_the_openapi_document_with_its_header() -> None:
    answer = create_app().openapi()["paths"]["/requests"]["post"]["responses"]["429"]
    assert "nothing was started" in answer["description"]
    assert answer["headers"]["Retry-After"]["schema"] == {"type": "integer"}


async def test_the_rate_gate_refills_at_its_rate() -> None:
    """The bucket alone, on the real clock: BURST starts at once, then one per 1/RATE s."""
    bucket = TokenBucket(rate=20.0, capacity=2.0)
    assert bucket.take() == 0 and bucket.take() == 0
    wait = bucket.take()
    assert 0 < wait <= 0.05
    await asyncio.sleep(wait + 0.01)
    assert bucket.take() == 0
