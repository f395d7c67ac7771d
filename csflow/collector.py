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

Evicted runs are garbage too: with more requests open than the worker caches, every
start and every firing of an evicted run evicts another, and their cycles waited for the
schedule — at 36,000 open with 20,000 cached, the first scheduled collection stood the
worker still for ~20 s, past every workflow task's 10 s timeout. So, given the bytes the
worker's cache may fill (`cache_bytes`), a full collection also runs as soon as the
process has grown a quarter past the larger of what it held after the last one and what
its full cache would hold, five minutes at least after the last: while the cache fills
nothing is collected early (that growth is runs, not garbage), and once it is full the
garbage waits minutes, not the whole interval. Measured with a cache of 2,000 and 8,000
open (docs/performance.md, "Full collections on a schedule"): one early collection of
4.3 s, and the worker 88 MB smaller at the end than under the schedule alone, which
would have walked all of that garbage at the half hour.

The setting is the process's, not one worker's: `gc.set_threshold` is global. Nested
holders (a benchmark or test running two workers in one process) share one schedule;
the last to leave restores the thresholds it found.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import psutil
import structlog

log = structlog.get_logger(__name__)

GROWTH = 0.25
"""How far the process may grow past its reference before a full collection runs early."""

CHECK_EVERY = 10.0
"""Seconds between looks at the process's size (one read of /proc, nothing walked)."""

MIN_GAP = 300.0
"""Seconds at least between a full collection and one the growth starts: the process's
size after a collection stays near its high-water mark (freed memory is reused, seldom
returned), so the reference only rises, and under steady churn this keeps the pauses to
one per five minutes at most."""

NEVER = 1_000_000_000
"""A generation-2 threshold no process reaches: gen 2 is counted once per gen-1
collection, so CPython never starts a full collection on its own."""


@dataclass
class _Schedule:
    holders: int = 0
    saved: tuple[int, int, int] | None = None
    task: asyncio.Task[None] | None = None


_schedule = _Schedule()


def resident_bytes() -> int:
    return int(psutil.Process().memory_info().rss)


async def _collect_every(
    interval: float, floor: int | None, size: Callable[[], int] = resident_bytes
) -> None:
    """One full collection per `interval`, and (`floor` given: the process's size with
    its cache full) one as soon as the process outgrows its reference by GROWTH, at
    least MIN_GAP after the last."""
    last = time.monotonic()
    reference = floor
    while True:
        await asyncio.sleep(min(interval, CHECK_EVERY))
        if time.monotonic() - last >= interval:
            reason = "schedule"
        elif (
            reference is not None
            and time.monotonic() - last >= MIN_GAP
            and size() > reference * (1 + GROWTH)
        ):
            reason = "growth"
        else:
            continue
        started = time.perf_counter()
        found = gc.collect()
        log.info(
            "worker.full_collection",
            reason=reason,
            seconds=round(time.perf_counter() - started, 3),
            unreachable=found,
        )
        last = time.monotonic()
        if floor is not None:
            reference = max(floor, size())


@contextlib.asynccontextmanager
async def scheduled_full_collections(
    interval: float, cache_bytes: int | None = None, size: Callable[[], int] = resident_bytes
) -> AsyncIterator[None]:
    """For as long as the block runs: no automatic full collection, one every `interval`
    seconds instead, and one whenever the process has grown GROWTH past the larger of
    its size after the last one and its size now plus `cache_bytes` (None: the schedule
    alone). Nothing changes when `interval` is 0. Nested holders share the first one's
    schedule."""
    if interval <= 0:
        yield
        return
    s = _schedule
    s.holders += 1
    if s.holders == 1:
        s.saved = gc.get_threshold()
        young, middle, _ = s.saved
        gc.set_threshold(young, middle, NEVER)
        floor = None if cache_bytes is None else size() + cache_bytes
        s.task = asyncio.ensure_future(_collect_every(interval, floor, size))
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
