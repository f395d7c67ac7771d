"""Admission control for `POST /requests`: hold intake back before it starves the clocks.

Why: every open request's SLA warnings, breaches and reminders are workflow tasks on the
same worker that runs each new request's intake. Measured on the embedded stack
(docs/performance.md, "Admission control"), opening requests as fast as the stack
accepts them queued the worker's workflow tasks for tens of seconds, and firings that
fell due meanwhile were recorded up to two minutes late. Refusing a start with 429 and
`Retry-After` costs the caller a retry; starting it anyway costs every open request its
clock. Nothing is started or written for a 429, so the retry (same `external_id` or
`Idempotency-Key`) is safe.

Three gates, checked in this order, each of which can be switched off (0):

- **backlog** (`CSFLOW_INTAKE_MAX_BACKLOG`) — the age of the oldest workflow task
  waiting on the worker's task queue (Temporal's `DescribeTaskQueue` with `report_stats`,
  workflow tasks, normal queue): a leading reading of "the worker is behind". It sees
  new work only — timer tasks of cached requests go to the worker's sticky queue, which
  the API cannot name — hence the next gate.
- **lateness** (`CSFLOW_INTAKE_MAX_LATENESS` over `CSFLOW_INTAKE_LATENESS_WINDOW`) — p99
  of how late the SLA warnings and breaches due in the window were recorded: the target
  itself, read from request_events; it lags, but it sees a worker starved by anything.
- **rate** — a token bucket refilled at `CSFLOW_INTAKE_RATE` requests per second,
  holding `CSFLOW_INTAKE_BURST`: a configured ceiling, for a deployment that has measured
  what its machine sustains (bench/week.py) and wants arrivals above it refused at once
  rather than after the backlog has formed.

The two readings are taken at most once per `CSFLOW_INTAKE_PROBE_INTERVAL` and shared
by every caller meanwhile. A reading that fails opens its gate: the other answers of
`POST /requests` (503 when Temporal or PostgreSQL is down) still apply.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog
from temporalio.api.enums.v1 import TaskQueueKind, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

from csflow.api.intake_rate import AdaptiveRate
from csflow.domain.clocks import FiringKind

if TYPE_CHECKING:
    from fastapi import FastAPI
    from temporalio.client import Client

    from csflow.settings import Settings

log = structlog.get_logger(__name__)

MAX_RETRY_AFTER = 60
"""The longest Retry-After given (seconds): a caller should look again within a minute."""


class Saturated(Exception):
    """Intake is held back; `retry_after` whole seconds is when trying again can succeed."""

    def __init__(self, reason: str, retry_after: float) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = max(1, min(MAX_RETRY_AFTER, math.ceil(retry_after)))


@dataclass
class TokenBucket:
    """`rate` tokens a second up to `capacity`; a start takes one.

    Monotonic time, one event loop: no lock needed, the take is not awaited.
    """

    rate: float
    capacity: float
    tokens: float = field(init=False)
    stamp: float = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = self.capacity
        self.stamp = time.monotonic()

    def take(self) -> float:
        """0 when a token was taken; otherwise the seconds until one is there."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


class SharedReading:
    """A figure read at most once per `interval`: concurrent callers share the reading in
    flight and, until the interval has passed, the last one read — so a burst of starts
    costs one DescribeTaskQueue or one query, not one each."""

    def __init__(self, read: Callable[[], Awaitable[float | None]], interval: float) -> None:
        self._read = read
        self._interval = interval
        self._read_at = -math.inf
        self._value: float | None = None
        self._reading: asyncio.Task[float | None] | None = None

    async def get(self) -> float | None:
        if time.monotonic() - self._read_at < self._interval:
            return self._value
        if self._reading is None:
            self._reading = asyncio.ensure_future(self._fresh())
        reading = self._reading
        try:
            # shield: one caller giving up (its request cancelled) must not cancel the
            # reading the others wait for.
            return await asyncio.shield(reading)
        finally:
            if self._reading is reading and reading.done():
                self._reading = None

    async def _fresh(self) -> float | None:
        value = await self._read()
        self._value, self._read_at = value, time.monotonic()
        return value


class BacklogProbe:
    """The age, in seconds, of the oldest workflow task waiting on `task_queue`.

    One `DescribeTaskQueue` per `interval` at most: concurrent callers share the reading
    in flight and the last one read. None when the server gives no figure (an older
    server, an error): the gate then stays open rather than refusing on a guess.
    """

    def __init__(
        self, client: Client, namespace: str, task_queue: str, interval: float, timeout: float
    ) -> None:
        self._client = client
        self._request = DescribeTaskQueueRequest(
            namespace=namespace,
            task_queue=TaskQueue(name=task_queue, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            report_stats=True,
        )
        self._timeout = timeout
        self._shared = SharedReading(self._read, interval)
        self._warned = False

    async def age(self) -> float | None:
        return await self._shared.get()

    async def _read(self) -> float | None:
        try:
            answer = await self._client.workflow_service.describe_task_queue(
                self._request, timeout=timedelta(seconds=self._timeout)
            )
            age: float | None = (
                answer.stats.approximate_backlog_age.ToTimedelta().total_seconds()
                if answer.HasField("stats")
                else None
            )
        except Exception as err:  # an unreachable server is the start's 503, not ours
            if not self._warned:
                log.warning("intake backlog unreadable; the backlog gate is open", error=str(err))
                self._warned = True
            age = None
        return age


_LATENESS = """
SELECT percentile_disc(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM recorded_at - at))
FROM request_events
WHERE kind = ANY($1::text[]) AND at > now() - make_interval(secs => $2)
"""

_LATENESS_SINCE = """
SELECT percentile_disc(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM recorded_at - at))
FROM request_events
WHERE kind = ANY($1::text[]) AND at > greatest($3::timestamptz, now() - make_interval(secs => $2))
"""


class LatenessProbe:
    """p99 of how late the SLA warnings and breaches that fell due in the last `window`
    seconds were recorded (request_events: `recorded_at` - `at`) — the figure the gate
    protects, read where the worker writes it. It lags (a firing still waiting is not
    recorded yet), so it confirms what the backlog probe predicts; firings due long ago
    (an import of old requests) are outside the window and never hold intake.
    Read at most once per `interval`, through the `request_events (kind, at)` index."""

    KINDS = (FiringKind.WARNING.value, FiringKind.BREACH.value)

    def __init__(self, pool: Any, window: float, interval: float) -> None:
        self.pool = pool
        self.window = window
        self.interval = interval
        self._shared = SharedReading(self._read, interval)

    async def p99(self) -> float | None:
        return await self._shared.get()

    async def p99_since(self, since: datetime) -> float | None:
        """The same p99 over the firings due after `since` only (and within the window):
        what the intake rate's last cut could have changed (csflow/api/intake_rate.py)."""
        return await self._fetch(_LATENESS_SINCE, since)

    async def _read(self) -> float | None:
        return await self._fetch(_LATENESS)

    async def _fetch(self, sql: str, *extra: Any) -> float | None:
        try:
            value = await asyncio.wait_for(
                self.pool.fetchval(sql, list(self.KINDS), self.window, *extra), timeout=1.0
            )
            p99 = None if value is None else float(value)
        except Exception:  # a database that does not answer is the start's 503, not ours
            p99 = None
        return p99


class Admission:
    """The gates for one API process; `admit()` before a start, `Saturated` to refuse."""

    def __init__(
        self,
        bucket: TokenBucket | None,
        probe: BacklogProbe | None,
        max_backlog_age: float,
        lateness: LatenessProbe | None = None,
        max_lateness: float = 0.0,
        steered: AdaptiveRate | None = None,
    ) -> None:
        self.bucket = bucket
        self.probe = probe
        self.max_backlog_age = max_backlog_age
        self.lateness = lateness
        self.max_lateness = max_lateness
        self.steered = steered

    @classmethod
    def from_settings(cls, settings: Settings, client: Client, pool: Any = None) -> Admission:
        probe = (
            BacklogProbe(
                client,
                settings.temporal_namespace,
                settings.task_queue,
                settings.intake_probe_interval,
                timeout=1.0,
            )
            if settings.intake_max_backlog > 0
            else None
        )
        lateness = (
            LatenessProbe(pool, settings.intake_lateness_window, settings.intake_probe_interval)
            if settings.intake_max_lateness > 0 and pool is not None
            else None
        )
        if settings.intake_control == "rate":  # the backlog stays a door: it has no memory
            steered = _steered(settings, lateness)
            return cls(None, probe, settings.intake_max_backlog, steered=steered)
        bucket = (  # `door`: CSFLOW_INTAKE_RATE is a fixed bucket under the limits
            TokenBucket(
                settings.intake_rate, float(settings.intake_burst or max(1, settings.intake_rate))
            )
            if settings.intake_rate > 0
            else None
        )
        return cls(
            bucket, probe, settings.intake_max_backlog, lateness, settings.intake_max_lateness
        )

    async def admit(self) -> None:
        """Return when a start may go ahead; raise Saturated when it must not."""
        if self.probe is not None:
            age = await self.probe.age()
            if age is not None and age > self.max_backlog_age:
                raise Saturated(
                    f"the worker is behind: its oldest waiting workflow task is {age:.1f} s "
                    f"old (limit {self.max_backlog_age:g} s); nothing was started",
                    retry_after=age,
                )
        if self.steered is not None:
            wait = await self.steered.take()
            if wait > 0:
                raise Saturated(_held_to(self.steered), retry_after=wait)
            return
        if self.lateness is not None:
            p99 = await self.lateness.p99()
            if p99 is not None and p99 > self.max_lateness:
                raise Saturated(
                    f"SLA firings are running late: p99 {p99:.1f} s over the last "
                    f"{self.lateness.window:g} s (limit {self.max_lateness:g} s); "
                    "nothing was started",
                    retry_after=max(p99, self.lateness.interval),
                )
        if self.bucket is not None:
            wait = self.bucket.take()
            if wait > 0:
                raise Saturated(
                    f"intake is limited to {self.bucket.rate:g} requests/s "
                    "(CSFLOW_INTAKE_RATE); nothing was started",
                    retry_after=wait,
                )


def _steered(settings: Settings, lateness: LatenessProbe | None) -> AdaptiveRate:
    """`CSFLOW_INTAKE_CONTROL=rate`: the lateness limit steers a rate (intake_rate.py)."""

    async def read(since: datetime) -> float | None:
        return await lateness.p99_since(since) if lateness is not None else None

    return AdaptiveRate(
        read,
        settings.intake_max_lateness,
        interval=settings.intake_adjust_interval,
        ceiling=settings.intake_rate or None,
        floor=settings.intake_min_rate,
        burst=float(settings.intake_burst) or None,
    )


def _held_to(steered: AdaptiveRate) -> str:
    rate = steered.rate or 0.0
    why = (
        f"held to {rate:.1f} requests/s while the clocks catch up ({steered.last_reason})"
        if steered.cuts
        else f"limited to {rate:g} requests/s (CSFLOW_INTAKE_RATE)"
    )
    return f"intake is {why}; nothing was started"


async def admit_or_429(app: FastAPI) -> None:
    """The intake route's hook: the app's Admission (built from its settings and Temporal
    client on first use), and a 429 with Retry-After and the reason when it refuses."""
    gate: Admission | None = getattr(app.state, "admission", None)
    if gate is None:
        gate = app.state.admission = Admission.from_settings(
            app.state.settings, app.state.temporal, app.state.pool
        )
    await gate.admit()  # Saturated: answered 429 by csflow.api.errors
