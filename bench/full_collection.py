"""Benchmark: what one full garbage collection costs a worker holding N cached runs, and
how often CPython's own rule starts one while requests open (issue 17, deliverable 7).

    python bench/full_collection.py                      # N=1,500, Python's rule
    python bench/full_collection.py --requests 5000 --lifecycles 0
    CSFLOW_WORKER_GC_INTERVAL=1800 python bench/full_collection.py  # csflow's default

Starts its own embedded stack (bench/stack.py) and a worker in this process whose cache
holds every run, opens 20 requests to warm it up, then opens N more (16 at a time, sealed
payloads) and leaves them open. It prints the objects the collector tracks per cached
run (and by type, the `--top` commonest), every full (generation 2) collection that ran
while the N opened — when, and how long the whole process stood still for it — and the
time of three full collections after, with every run cached.
`CSFLOW_WORKER_GC_INTERVAL` is read as `csflow worker` reads it; unset, the benchmark
sets 0 (Python's own rule), which is what it measures.
Then, with no full collection allowed, it takes M whole lifecycles (`--lifecycles`,
default 200: create, plan, progress, resolve, confirm, follow-up, closed) and reports
the cyclic garbage a full collection then finds per finished lifecycle — objects and
bytes (`sys.getsizeof` of each, so a floor) — which is what waits for the next
scheduled collection under `CSFLOW_WORKER_GC_INTERVAL`.
docs/performance.md, "Full collections on a schedule", records runs.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.open_requests import full_collections
from bench.stack import Servers, bench_intake, generated_keys, servers, signed_client


async def _finished_garbage(csflow: Any, client: Any, m: int) -> None:
    """M whole lifecycles with no full collection, then one that keeps what it finds."""
    from csflow.contracts import (
        Actor,
        ConfirmCommand,
        FollowUpRecord,
        PlanCommand,
        ProgressCommand,
        ResolveCommand,
    )
    from csflow.domain.codes import Role

    agent = Actor(id="agent-007", role=Role.AGENT)
    customer = Actor(id="cust-1", role=Role.CUSTOMER)

    async def lifecycle(i: int) -> None:
        n = (await csflow.create(bench_intake(10_000_000 + i, "gc-life"), wait=True)).number
        eta = datetime.now(UTC) + timedelta(days=2)
        await csflow.submit_plan(n, PlanCommand(actor=agent, measures=["call back"], eta=eta))
        await csflow.post_progress(n, ProgressCommand(actor=agent, note="courier informed"))
        await csflow.resolve(n, ResolveCommand(actor=agent, summary="address changed"))
        view = await csflow.confirm(n, ConfirmCommand(actor=customer, satisfied=True))
        owner = Actor(id=view.follow_up.owner, role=Role.FOLLOW_UP)
        await csflow.record_follow_up(n, FollowUpRecord(actor=owner, score=5, nps=9))
        await client.get_workflow_handle(n).result()

    gc.collect()
    saved = gc.get_threshold()
    gc.set_threshold(saved[0], saved[1], 1_000_000_000)  # no full collection meanwhile
    lanes = asyncio.Semaphore(16)

    async def one(i: int) -> None:
        async with lanes:
            await lifecycle(i)

    try:
        await asyncio.gather(*(one(i) for i in range(m)))
        await asyncio.sleep(3)  # the closed runs leave the cache
        gc.set_debug(gc.DEBUG_SAVEALL)  # what the collection finds stays in gc.garbage
        gc.collect()
        found = list(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.set_threshold(*saved)
    size = sum(sys.getsizeof(o) for o in found)
    print(
        f"{m} whole lifecycles, no full collection meanwhile: the next one found "
        f"{len(found) / m:.0f} unreachable objects, {size / m / 1000:.1f} kB "
        "(sys.getsizeof), per finished lifecycle"
    )
    found.clear()


async def run(running: Servers, n: int, lifecycles: int, top: int) -> None:
    from csflow import logs
    from csflow.settings import Settings
    from csflow.store.migrations import apply_migrations
    from csflow.store.pool import create_pool
    from starter.client import CsflowClient
    from worker import build_worker

    logs.configure("console", "ERROR")
    await apply_migrations(running.dsn)
    ring = generated_keys("on")
    queue = f"bench-gc-{uuid.uuid4().hex[:8]}"
    settings = Settings(
        CSFLOW_TASK_QUEUE=queue,
        CSFLOW_WORKER_MAX_CACHED_WORKFLOWS=str(n + 1000),
        CSFLOW_WORKER_GC_INTERVAL=os.environ.get("CSFLOW_WORKER_GC_INTERVAL", "0"),
    )
    client = await signed_client(running.target, ring, settings)
    pool = await create_pool(running.dsn, min_size=1, max_size=10)
    full: list[tuple[float, float]] = []
    hook = full_collections(full)

    try:
        async with build_worker(client, queue, pool, settings=settings):
            csflow = CsflowClient(client, task_queue=queue, number_wait=120.0)
            for i in range(20):  # caches, numbering shard, tables
                await csflow.create(bench_intake(-i - 1, "gc"), wait=True)
            gc.collect()
            kinds_before = Counter(type(o).__qualname__ for o in gc.get_objects())
            baseline = kinds_before.total()
            lanes = asyncio.Semaphore(16)

            async def one(i: int) -> None:
                async with lanes:
                    await csflow.create(bench_intake(i, "gc"), wait=True)

            gc.callbacks.append(hook)
            began = time.perf_counter()
            await asyncio.gather(*(one(i) for i in range(n)))
            took = time.perf_counter() - began
            gc.callbacks.remove(hook)
            await asyncio.sleep(3)
            kinds = Counter(type(o).__qualname__ for o in gc.get_objects())
            tracked = kinds.total()
            print(
                f"{n:,} opened in {took:.0f} s ({n / took:.1f}/s), "
                f"CSFLOW_WORKER_GC_INTERVAL={settings.worker_gc_interval:g}"
            )
            print(
                f"objects the collector tracks: {tracked:,} "
                f"({(tracked - baseline) / n:.0f} per cached run over {baseline:,} at start)"
            )
            grown = (kinds - kinds_before).most_common(top)
            print(
                "  per cached run, by type: "
                + ", ".join(f"{name} {count / n:.1f}" for name, count in grown)
            )
            print(f"full collections while they opened: {len(full)}")
            for at, seconds in full:
                print(f"  at {at - began:6.1f} s: the process stood still {seconds:.3f} s")
            for _ in range(3):
                t = time.perf_counter()
                gc.collect()
                print(f"one full collection, {n:,} runs cached: {time.perf_counter() - t:.3f} s")
            if lifecycles:
                await _finished_garbage(csflow, client, lifecycles)
    finally:
        await pool.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--requests", type=int, default=1500, help="N: requests opened and cached")
    ap.add_argument(
        "--lifecycles", type=int, default=200, help="M: whole lifecycles for the garbage figure"
    )
    ap.add_argument("--top", type=int, default=12, help="types listed per cached run")
    args: Any = ap.parse_args()
    with servers(data_dir=True) as running:
        asyncio.run(run(running, args.requests, args.lifecycles, args.top))


if __name__ == "__main__":
    main()
