"""Benchmark: what a cached request run costs the worker's memory, Python against native
(issue 17, deliverable 7).

    python bench/cached_run_memory.py              # N=300 requests opened, all cached
    python bench/cached_run_memory.py --requests 200 --top 10

Starts its own embedded stack (bench/stack.py) and a worker in this process, opens 20
requests to warm it up, then, with `tracemalloc` tracing, opens N more (16 at a time,
sealed payloads) and leaves them open in the worker's cache. It prints, per request: the
process's RSS growth and the growth of what `tracemalloc` traced — the Python objects —
so the rest is native memory (the SDK's Rust core, its buffers, the allocator); then the
Python allocations grouped by file, by line, and the largest by traceback. `tracemalloc`
adds its own overhead to the RSS figure (a traceback per block), so read the RSS growth
without it from `bench/open_requests.py`. docs/performance.md records a run.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import tracemalloc
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil

from bench.stack import Servers, bench_intake, generated_keys, servers, signed_client

SITE = "site-packages/"
ROOT = str(Path(__file__).resolve().parent.parent)  # csflow's own frames start here


async def run(running: Servers, n: int, top: int) -> None:

    from csflow import logs
    from csflow.settings import Settings
    from csflow.store.migrations import apply_migrations
    from csflow.store.pool import create_pool
    from starter.client import CsflowClient
    from worker import build_worker

    logs.configure("console", "ERROR")
    await apply_migrations(running.dsn)
    ring = generated_keys("on")
    queue = f"bench-memory-{uuid.uuid4().hex[:8]}"
    settings = Settings(CSFLOW_TASK_QUEUE=queue)
    client = await signed_client(running.target, ring, settings)
    pool = await create_pool(running.dsn, min_size=1, max_size=10)

    def intake(i: int) -> Any:
        return bench_intake(i, "memory")

    try:
        async with build_worker(client, queue, pool, settings=settings):
            csflow = CsflowClient(client, task_queue=queue, number_wait=120.0)
            for i in range(20):  # caches, numbering shard, tables
                await csflow.create(intake(-i - 1), wait=True)
            await asyncio.sleep(3)
            gc.collect()
            rss_before = psutil.Process().memory_info().rss
            tracemalloc.start(25)
            before = tracemalloc.take_snapshot()
            lanes = asyncio.Semaphore(16)

            async def one(i: int) -> None:
                async with lanes:
                    await csflow.create(intake(i), wait=True)

            await asyncio.gather(*(one(i) for i in range(n)))
            await asyncio.sleep(5)
            gc.collect()
            after = tracemalloc.take_snapshot()
            rss_after = psutil.Process().memory_info().rss
            tracemalloc.stop()
            _report(before, after, rss_after - rss_before, n, top)
            await asyncio.sleep(2)  # the last messages' activities complete before the stop
    finally:
        await pool.close()


def _report(
    before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, rss: int, n: int, top: int
) -> None:
    def short(name: str) -> str:
        return name.split(SITE, 1)[-1]

    traced = sum(s.size_diff for s in after.compare_to(before, "filename"))
    print(
        f"per request: RSS +{rss / n / 1000:.1f} kB (with tracemalloc's own overhead), "
        f"Python objects +{traced / n / 1000:.1f} kB, so native ~{(rss - traced) / n / 1000:.0f} kB"
    )
    print("Python, by file:")
    for s in after.compare_to(before, "filename")[:top]:
        print(f"  {s.size_diff / n / 1000:6.1f} kB  {short(s.traceback[0].filename)}")
    print("Python, by line:")
    for s in after.compare_to(before, "lineno")[:top]:
        frame = s.traceback[0]
        print(f"  {s.size_diff / n / 1000:6.1f} kB  {short(frame.filename)}:{frame.lineno}")
    print("Python, the largest by call path (allocation <- its callers; csflow's frames")
    print("if any, else the SDK's):")
    for s in after.compare_to(before, "traceback")[:3]:
        frames = list(s.traceback)  # oldest first
        site = frames[-1]
        ours = [f for f in frames if f.filename.startswith(ROOT) and SITE not in f.filename]
        path = (ours or frames)[-3:][::-1]
        where = " <- ".join(f"{short(f.filename)}:{f.lineno}" for f in path)
        at = f"{short(site.filename)}:{site.lineno}"
        print(f"  {s.size_diff / n / 1000:6.1f} kB  {at}  ({where})")


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--requests", type=int, default=300, help="N: requests opened and cached")
    ap.add_argument("--top", type=int, default=12, help="lines per listing")
    args: Any = ap.parse_args()
    with servers(data_dir=True) as running:
        asyncio.run(run(running, args.requests, args.top))


if __name__ == "__main__":
    main()
