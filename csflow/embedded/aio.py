"""Run a coroutine to completion from synchronous code, whatever loop the caller has.

The embedded servers expose a synchronous API (test fixtures, the supervisor's threads)
but their readiness checks use async clients; a private loop on a short-lived thread
works both where no loop exists and where one is already running in the calling thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_coroutine(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` on a fresh event loop in a helper thread and return its result."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="csflow-embedded") as pool:
        return pool.submit(asyncio.run, coro).result()
