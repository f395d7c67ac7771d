"""Benchmark: what numbering behind the workflow costs a create (issue 12).

    python bench/starts.py                          # embedded Temporal + PostgreSQL
    python bench/starts.py --requests 300 --rounds 3 --concurrency 32
    DATABASE_URL=postgresql://… TEMPORAL_ADDRESS=host:7233 python bench/starts.py

A create is two steps since numbers moved behind the workflows: `next_number` on the
numbering workflow (Update-with-start; the worker's local activity takes the serial from
PostgreSQL), then the ServiceRequest start. Passes of N requests each, C in flight,
one worker running (the numbering needs it; it also runs every request's intake, as in
production):

- `numbers only` — `CsflowClient.number`: the Update alone;
- `start only` — the serial taken from PostgreSQL in this process (what the starter did
  before) and the workflow started: the baseline a create cost before;
- `create` — `CsflowClient.create(wait=False)`: number, then start, as every caller now does.

Each pass prints requests/s and latency percentiles of the calls, then — for the two
passes that start requests — waits until the worker has persisted every intake, and
prints the end-to-end rate (from the first call to the last intake row): the system's
real throughput, since a request is only useful once its intake has run. Passes run one
after another, each after the previous one's intake has drained; `--rounds R` repeats
start only and create R times, alternating which goes first, so that a machine whose load
drifts (a shared one) biases neither. The last line compares the medians. Given servers
must be empty (request numbers are workflow ids); without DATABASE_URL/TEMPORAL_ADDRESS
the embedded servers `csflow up` runs are used.
docs/performance.md records a run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from bench.stack import ADDRESS, bench_intake, servers
from csflow.contracts import (
    WORKFLOW_TYPE,
    RequestIntake,
    RequestView,
    ServiceRequestInput,
)
from csflow.crypto import options
from csflow.domain.numbering import business_day
from csflow.domain.policy import DEFAULT_POLICY
from csflow.settings import Settings
from csflow.store import requests as store
from csflow.store.migrations import apply_migrations
from csflow.store.pool import create_pool
from starter.client import CsflowClient, summary_for

TZ = DEFAULT_POLICY.calendar.time_zone


def intake(i: int) -> RequestIntake:
    """Each request its own customer, channels in turn (the recorded figures' workload)."""
    return bench_intake(i, customers=None, rotate_channels=True, description=ADDRESS)


async def timed(
    label: str, n: int, concurrency: int, one: Callable[[int], Awaitable[Any]], pool: Any = None
) -> float:
    """Run `one(i)` for i < n, `concurrency` at a time; print the calls' rate. With a pool,
    also wait for n more intake rows and return the end-to-end rate (else the calls')."""
    before = await pool.fetchval("SELECT count(*) FROM requests") if pool else 0
    latencies: list[float] = []
    todo = iter(range(n))

    async def lane() -> None:
        for i in todo:
            t = time.perf_counter()
            await one(i)
            latencies.append(time.perf_counter() - t)

    began = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for _ in range(min(concurrency, n)):
            group.create_task(lane())
    seconds = time.perf_counter() - began
    q = statistics.quantiles(latencies, n=20)
    rate = n / seconds
    print(
        f"{label:<13} {n:>5} calls in {seconds:6.1f} s  {rate:6.1f}/s   "
        f"latency p50 {statistics.median(latencies) * 1000:5.0f} ms  "
        f"p95 {q[18] * 1000:5.0f} ms"
    )
    if pool is None:
        return rate
    while True:  # the worker's intakes catch up
        if await pool.fetchval("SELECT count(*) FROM requests") >= before + n:
            break
        await asyncio.sleep(0.2)
    seconds = time.perf_counter() - began
    print(
        f"{'':<13} {n:>5} intakes persisted {seconds:6.1f} s after the first call: "
        f"{n / seconds:6.1f}/s end to end"
    )
    return n / seconds


async def run(dsn: str, target: str, n: int, rounds: int, concurrency: int) -> None:
    from csflow import logs
    from worker import build_worker

    logs.configure("console", "WARNING")  # one line per notification otherwise
    await apply_migrations(dsn)
    queue = f"bench-starts-{uuid.uuid4().hex[:8]}"
    temporal = await Client.connect(target, **options.client_options(Settings()))
    async with AsyncExitStack() as stack:
        pool = await create_pool(dsn, min_size=1, max_size=10)
        stack.push_async_callback(pool.close)
        if await pool.fetchval("SELECT count(*) FROM requests"):
            raise SystemExit("the database already has requests: give the benchmark an empty stack")
        await stack.enter_async_context(build_worker(temporal, queue, pool))
        csflow = CsflowClient(temporal, task_queue=queue)  # Temporal alone, as a service
        await csflow.number(intake(0), datetime.now(UTC))  # the entity exists: steady state

        async def number(i: int) -> None:
            await csflow.number(intake(i), datetime.now(UTC))

        async def start_only(i: int) -> None:
            req, at = intake(i), datetime.now(UTC)
            num, _ = await store.issue_number(
                pool, business_day(at, TZ), req.channel, req.external_id
            )
            await temporal.start_workflow(
                WORKFLOW_TYPE,
                ServiceRequestInput(number=num, intake=req, received_at=at),
                id=num,
                task_queue=queue,
                result_type=RequestView,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                static_summary=summary_for(num, req),
            )

        async def create(i: int) -> None:
            await csflow.create(intake(i), wait=False)

        await timed("numbers only", n, concurrency, number)
        rates: dict[str, list[float]] = {"start only": [], "create": []}
        passes = (("start only", start_only), ("create", create))
        for r in range(rounds):
            for label, one in passes if r % 2 == 0 else passes[::-1]:
                rates[label].append(await timed(label, n, concurrency, one, pool))
        baseline = statistics.median(rates["start only"])
        full = statistics.median(rates["create"])
        print(
            f"median end to end: start only {baseline:.1f}/s, create {full:.1f}/s — create "
            f"(number + start) at {full / baseline:.0%} ({concurrency} in flight)"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--requests", type=int, default=300, help="requests per pass")
    ap.add_argument("--rounds", type=int, default=3, help="start-only/create rounds")
    ap.add_argument("--concurrency", type=int, default=16)
    args = ap.parse_args()
    with servers(from_env=True) as running:
        dsn, target = running.dsn, running.target
        print(
            f"PostgreSQL {dsn}, Temporal {target}, {args.requests} requests per pass, "
            f"{args.rounds} rounds, concurrency {args.concurrency}, {os.cpu_count()} cores"
        )
        asyncio.run(run(dsn, target, args.requests, args.rounds, args.concurrency))


if __name__ == "__main__":
    main()
