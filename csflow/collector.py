"""Python's full garbage collections, once per interval instead of by its growth rule.

Why: a worker caches thousands of request runs, each a few hundred tracked objects, and
CPython stops the whole process for a full (generation 2) collection whenever the
objects that outlived the young generations have grown by a quarter since the last
one. Measured on the embedded stack (docs/performance.md, "Full collections on a
schedule"): 0.38 s for one full collection with 1,500 runs cached, 4.4 s with 10,000.
While requests open the heap grows by a quarter every few minutes, and at rest each
firing adds to its run's timeline, so these pauses came again and again — and every SLA
firing due during one was recorded that much late. The young generations (where almost
all garbage dies) are still collected as before; only the full collection is moved to a
schedule: one every `CSFLOW_WORKER_GC_INTERVAL` seconds (30 minutes by default),
whatever the heap did. The price is memory: cyclic garbage that outlived the young
generations — ~130 kB per finished request, mostly its run's objects — waits up to one
interval to be freed. The pause itself is not shortened, only made rare. 0 leaves
Python's own rule in place.

The setting is the process's, not one worker's: `gc.set_threshold` is global. Nested
holders (a benchmark or test running two workers in one process) share one schedule;
the last to leave restores the thresholds it found.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import structlog

log = structlog.get_logger(__name__)

NEVER = 1_000_000_000
"""A generation-2 threshold no process reaches: gen 2 is counted once per gen-1
collection, so CPython never starts a full collection on its own."""


@dataclass
class _Schedule:
    holders: int = 0
    saved: tuple[int, int, int] | None = None
    task: asyncio.Task[None] | None = None


_schedule = _Schedule()


async def _collect_every(interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        started = time.perf_counter()
        found = gc.collect()
        log.info(
            "worker.full_collection",
            seconds=round(time.perf_counter() - started, 3),
            unreachable=found,
        )


@contextlib.asynccontextmanager
async def scheduled_full_collections(interval: float) -> AsyncIterator[None]:
    """For as long as the block runs: no automatic full collection, one every `interval`
    seconds instead (nothing changes when `interval` is 0)."""
    if interval <= 0:
        yield
        return
    s = _schedule
    s.holders += 1
    if s.holders == 1:
        s.saved = gc.get_threshold()
        young, middle, _ = s.saved
        gc.set_threshold(young, middle, NEVER)
        s.task = asyncio.ensure_future(_collect_every(interval))
    try:
        yield
    finally:
        s.holders -= 1
        if s.holders == 0:
            if s.task is not None:
                s.task.cancel()
                with contextlib.suppress(asyncio.CancelledError, RuntimeError):
                    await s.task
            if s.saved is not None:
                gc.set_threshold(*s.saved)
            s.task, s.saved = None, None
