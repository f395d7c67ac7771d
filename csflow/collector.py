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
worker's cache may fill (`cache_bytes`), once the process has grown past them (the cache
is full: runs are being evicted), a full collection also runs as soon as Python's
allocated blocks (`sys.getallocatedblocks`, which falls when garbage is freed) are a
quarter over what the last full collection left, once the gap its pause sets has passed
(`PAUSE_SHARE`). While the cache fills nothing is collected early (that growth is runs,
not garbage). The measure is blocks, not the process's size: freed memory is reused but
seldom returned, so a size-based reference only ever rose, each early collection came
later than the last and walked more garbage — 6.9, 10.0, 13.3 and 16.1 s at 19,000 to
68,000 open with 2,000 cached (docs/performance.md, "Toward 100,000 open"). Against the
blocks the collections stay about as frequent as evictions make garbage, and each walks
a quarter of the live set at most in garbage.
The setting is the process's, not one worker's: `gc.set_threshold` is global. Nested
holders (a benchmark or test running two workers in one process) share one schedule;
the last to leave restores the thresholds it found.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import psutil
import structlog

log = structlog.get_logger(__name__)

GROWTH = 0.25
"""How far the allocated blocks may grow past what the last full collection left (the
live set) before one runs early, once the cache is full: garbage of a quarter of the
live set at most, as CPython's own rule allows."""

CHECK_EVERY = 1.0
"""Seconds between looks at the process's size and blocks (one read of /proc and a
counter, nothing walked)."""

MIN_GAP = 2.0
"""Seconds at least between a full collection and one the growth starts."""

PAUSE_SHARE = 0.05
"""The most of the worker's time the collections the growth starts may take: after a
pause of p seconds the next waits p / PAUSE_SHARE at least (MIN_GAP when that is
longer). Under steady churn the blocks outgrow the live set fast; what a pause costs
is its length, since every firing due during it is that late. A pause walks the live
set and the garbage made since the last one: with a small cache the live set is small,
so short gaps make short pauses (the garbage walked in all is the same); with a large
cache each pause is long whatever the gap, and the gap grows with it so the worker
still spends most of its time working (1.5 s pauses: one per 30 s, as measured with
2,000 runs cached; docs/performance.md, "Short pauses, often")."""

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
    interval: float,
    floor: int | None,
    live: int,
    size: Callable[[], int],
    blocks: Callable[[], int],
) -> None:
    """One full collection per `interval`, and (`floor` given: the process's size with
    its cache full) once the process is past that floor, one whenever the allocated
    blocks are GROWTH over what the last collection left — `live` until the first: the
    blocks when the schedule began (required: 0 would mean "collect at once")."""
    last = time.monotonic()
    gap = MIN_GAP  # after a pause: as long as PAUSE_SHARE allows
    while True:
        await asyncio.sleep(min(interval, CHECK_EVERY))
        if time.monotonic() - last >= interval:
            reason = "schedule"
        elif (
            floor is not None
            and time.monotonic() - last >= gap
            and blocks() > live * (1 + GROWTH)
            and size() > floor
        ):
            reason = "growth"
        else:
            continue
        before = blocks()
        started = time.perf_counter()
        found = gc.collect()
        pause = time.perf_counter() - started
        live = blocks()
        log.info(
            "worker.full_collection",
            reason=reason,
            seconds=round(pause, 3),
            unreachable=found,
            blocks_before=before,
            blocks_after=live,
        )
        last = time.monotonic()
        gap = max(MIN_GAP, pause / PAUSE_SHARE)


@contextlib.asynccontextmanager
async def scheduled_full_collections(
    interval: float,
    cache_bytes: int | None = None,
    size: Callable[[], int] = resident_bytes,
    blocks: Callable[[], int] = sys.getallocatedblocks,
) -> AsyncIterator[None]:
    """For as long as the block runs: no automatic full collection, one every `interval`
    seconds instead, and — once the process is bigger than its size now plus
    `cache_bytes` (None: the schedule alone) — one whenever the allocated blocks are
    GROWTH over what the last collection left. Nothing changes when `interval` is 0.
    Nested holders share the first one's schedule."""
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
        s.task = asyncio.ensure_future(_collect_every(interval, floor, blocks(), size, blocks))
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
