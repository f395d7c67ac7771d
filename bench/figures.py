"""How the benchmarks print a distribution of seconds (latency, firing lateness).

One format, so that figures from different benchmarks in docs/performance.md read
alike and compare: the count, the median, p99 (nearest rank) and the maximum.
"""

from __future__ import annotations

import statistics


def quantiles(values: list[float]) -> str:
    """`n=… p50 … p99 … max …` in seconds, or `none` for no values."""
    if not values:
        return "none"
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"n={len(ordered)}  p50 {statistics.median(ordered):.2f} s  p99 {p99:.2f} s  "
        f"max {ordered[-1]:.2f} s"
    )
