"""How many workflow runs the worker caches when `CSFLOW_WORKER_MAX_CACHED_WORKFLOWS` is
`auto` (the default): as many as a quarter of the memory this process may use holds.

Why not a fixed number: a run the worker has evicted replays its whole history on every
SLA firing, and when more requests are open than the cache holds the runs whose clocks
fall due next are exactly the least recently used ones — at 2,500 open with the SDK's
default of 1,000, firings fell minutes behind; with every run cached they stayed near a
second (docs/performance.md, "The worker's cache against the open requests"). A cached
run costs ~250 kB, so the cache should be as large as the machine allows, and the memory
it may use is the container's limit when there is one, else the machine's.

Only while the open requests fit, though: once more are open than a large cache holds,
the SDK core's cost per task grows with the runs cached and every new run waits for an
eviction, and at 30,000 open a cache of 2,000 beat 20,000 on every figure (docs/
performance.md, "A small cache past the cache"). `auto` cannot know how many requests
an organisation keeps open, so it sizes for the case it can serve; past that, the
setting takes a number.
"""

from __future__ import annotations

import os
from pathlib import Path

PER_RUN = 256 * 1024  # bytes a cached run costs the worker, measured (~250 kB)
SHARE = 4  # a quarter of the memory: the rest is the SDK, the pool, the dispatcher
FLOOR, CEILING = 1000, 20000  # never fewer than the SDK's default; never absurdly many

_CGROUP_LIMITS = (
    Path("/sys/fs/cgroup/memory.max"),  # cgroup v2
    Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"),  # cgroup v1
)


def available_bytes() -> int | None:
    """The memory this process may use: its cgroup's limit if it has one, else the
    machine's physical memory; None when neither can be read."""
    physical: int | None = None
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        physical = None
    for path in _CGROUP_LIMITS:
        try:
            text = path.read_text().strip()
        except OSError:
            continue
        if text.isdigit() and (physical is None or int(text) < physical):
            return int(text)  # v1 reports "no limit" as a huge number: physical wins
    return physical


def cached_runs(available: int | None) -> int:
    """Runs to cache for `available` bytes: a quarter of them at PER_RUN each, kept
    between FLOOR and CEILING (FLOOR when the memory is unknown)."""
    if available is None:
        return FLOOR
    return max(FLOOR, min(CEILING, available // SHARE // PER_RUN))
