"""An intake rate that follows the clocks: the measured limits lower it, quiet raises it.

Why: read as a door, the two measured limits (the worker's backlog, the firings'
lateness) refuse every start while a reading is over its limit. The lateness reading
remembers a window (one firing 1.5 s late holds the door shut for a minute), and the
callers it held return together when it opens. Measured at ~20,000 open, intake then
alternated between full speed and minutes of near-stillness while the machine stood
idle (docs/performance.md, "Toward 100,000 open").

Here the same readings steer a token bucket instead, the way TCP finds a link's
capacity (additive increase, multiplicative decrease):

- every `interval` seconds, when a reading is over its limit, the rate is cut to
  `CUT` x the rate the stack was actually fed at (never below `floor`; intake below
  the floor is not what made the clocks late, and is not cut);
- the lateness read for that decision counts only the firings due since the last cut,
  so what the cut has not yet had time to mend does not cut again;
- when both readings are under their limits and callers were refused in the interval
  (demand is above the rate), the rate rises by `STEP` of itself, at least `MIN_STEP`,
  up to the ceiling (`CSFLOW_INTAKE_RATE`, when set);
- with no ceiling, intake is not limited until the first cut.

A refused caller's Retry-After is the bucket's time to the next token (at least 1 s):
the callers come back spread over time, not together.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import structlog

log = structlog.get_logger(__name__)

CUT = 0.7
"""A cut keeps this share of the rate intake actually ran at."""
STEP = 0.05
"""A quiet interval with demand above the rate raises it by this share of itself..."""
MIN_STEP = 0.5
"""...and by at least this many requests per second."""


def over(p99: float | None, limit: float) -> str | None:
    """Why a lateness reading is over its limit (0: no limit), or None."""
    if limit > 0 and p99 is not None and p99 > limit:
        return f"SLA firings p99 {p99:.2f} s late (limit {limit:g} s)"
    return None


def next_rate(
    rate: float | None,
    fed: float,
    refused: int,
    why_over: str | None,
    *,
    ceiling: float | None,
    floor: float,
) -> float | None:
    """The rate after one interval: pure, so the rule is tested without a clock.

    `rate` None is "not limited"; `fed` is the rate starts were admitted at over the
    interval; `refused` how many callers the bucket turned away in it.
    """
    if why_over is not None:
        if fed < floor:
            return rate  # intake below the floor did not make the clocks late
        if rate is None:
            return max(floor, CUT * fed)
        return min(rate, max(floor, CUT * min(rate, fed)))  # a cut never raises
    if rate is None or refused == 0:
        return rate  # no demand above the rate: nothing to learn by raising it
    raised = rate + max(MIN_STEP, STEP * rate)
    return raised if ceiling is None else max(rate, min(ceiling, raised))  # nor a rise lowers


class AdaptiveRate:
    """One API process's intake rate, steered by `read(since)` once per `interval`.

    `read(since)` returns the p99 lateness of the firings due after `since` (the last
    cut), None when there is no reading. One event loop: `take()` is not awaited
    between reading and writing the bucket, and one caller at a time makes the decision
    (the others go on with the current rate meanwhile).
    """

    def __init__(
        self,
        read: Callable[[datetime], Awaitable[float | None]],
        max_lateness: float,
        *,
        interval: float,
        ceiling: float | None,
        floor: float,
        burst: float | None = None,
    ) -> None:
        self._read = read
        self.max_lateness = max_lateness
        self.interval = interval
        self.ceiling = ceiling
        self.floor = floor
        self._burst = burst
        self.rate: float | None = ceiling
        self.cuts = 0
        self.last_reason: str | None = None  # why the last cut
        self.last_change: str | None = None  # why the rate last moved, either way
        self._tokens = self._capacity()
        self._stamp = time.monotonic()
        self._period_began = time.monotonic()
        self._admitted = 0
        self._refused = 0
        self._since = datetime.now(UTC)
        self._deciding: asyncio.Task[None] | None = None

    def _capacity(self) -> float:
        if self.rate is None:
            return math.inf
        return max(1.0, self._burst if self._burst else self.rate)

    async def take(self) -> float:
        """0 when a start may go ahead now; otherwise the seconds until it may."""
        if time.monotonic() - self._period_began >= self.interval and self._deciding is None:
            self._deciding = asyncio.ensure_future(self._decide())
            # shield: a caller giving up (its request cancelled) must not cancel the decision
            await asyncio.shield(self._deciding)
        now = time.monotonic()
        if self.rate is None:
            self._admitted += 1
            return 0.0
        capacity = self._capacity()
        self._tokens = min(capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            self._admitted += 1
            return 0.0
        self._refused += 1
        return (1.0 - self._tokens) / self.rate

    async def _decide(self) -> None:
        try:
            self._adjust(*await self._reading())
        finally:
            self._period_began, self._admitted, self._refused = time.monotonic(), 0, 0
            self._deciding = None

    async def _reading(self) -> tuple[float | None, float]:
        elapsed = max(1e-3, time.monotonic() - self._period_began)
        try:
            p99 = await self._read(self._since)
        except Exception as err:  # no reading cuts nothing; the start itself decides
            log.warning("intake lateness unreadable; the rate is not cut", error=str(err))
            p99 = None
        return p99, self._admitted / elapsed

    def _adjust(self, p99: float | None, fed: float) -> None:
        why = over(p99, self.max_lateness)
        before = self.rate
        self.rate = next_rate(
            before, fed, self._refused, why, ceiling=self.ceiling, floor=self.floor
        )
        if why is not None and fed >= self.floor:
            self.cuts += 1
            self.last_reason = why
            self._since = datetime.now(UTC)  # what the cut has not mended yet is not new
            self._tokens, self._stamp = 0.0, time.monotonic()  # the new rate starts now
        if self.rate != before:
            self.last_change = why or "quiet, callers refused: raised"
            log.info(
                "intake.rate",
                rate=None if self.rate is None else round(self.rate, 2),
                was=None if before is None else round(before, 2),
                fed=round(fed, 2),
                refused=self._refused,
                reason=why or "quiet, demand above the rate",
            )
