"""Benchmark: a week of traffic, compressed in time, on the real workflows and worker (issue 17).

    python bench/week.py                                  # 300 requests/day, 60 agents, 20 min
    python bench/week.py --agents 30                      # the same week, half the staff
    python bench/week.py --per-day 1000 --minutes 60      # larger
    python bench/week.py --admission off                  # no intake gate (for comparison)

Starts its own embedded stack (Temporal dev server on a SQLite file, PostgreSQL) in a
temporary folder and a worker in this process, with the default policy's clocks divided
by the compression (`--minutes` of real time for `--days` simulated days: 7 days in 20
minutes is 504×, so P1's 15-minute first response is 1.8 s, P3's 24-hour resolution
2.9 minutes; every clock counted in wall time, since a business calendar cannot be
compressed). Then it plays the week:

- **arrivals** — `--per-day` requests on an average day, spread over the week by a
  weekday profile and over each day by an hourly profile (night low, late-morning and
  afternoon peaks), Poisson within each hour; on the sale day (`--sale-day`, Friday by
  default) the sale hour (`--sale-hour`, 20:00) gets 10× its normal rate. Priorities
  5 % P1, 20 % P2, 75 % P3, all channels. Each arrival is a `CsflowClient.create` with an
  external id, behind the API's own admission gate (csflow/api/admission.py, backlog limit
  `CSFLOW_INTAKE_MAX_BACKLOG`, in process): a 429 is retried after its Retry-After, as a
  careful caller does;
- **agents** — `--agents` people, each handling one request at a time from a queue
  ordered by priority then arrival: first response (a progress note) after a few
  simulated minutes, a plan, the work (20–90 simulated minutes by priority), a progress
  note, the resolution;
- **customers** — 75 % confirm satisfied, 10 % are not satisfied (the request is
  re-handled at a raised priority and goes back to the agents' queue), 15 % stay silent
  (the confirmation window closes it); the follow-up team records the visit a simulated
  hour or so after the follow-up is scheduled, 10 % of scores negative (1–2) — each opens
  an improvement task, which the follow-up team completes, letting the request close.

It reports what the organisation would see — requests, SLA compliance (requests without a
breach), breaches by clock, the agents' queue per simulated hour — and what the machine
did — accepted requests/s (overall and at the sale hour), 429s, CPU seconds and peak RSS of
the Temporal server, PostgreSQL and this process (client and worker), and the lateness of
every SLA warning and breach (recorded_at − due). It asserts nothing lost and nothing
duplicated: accepted = rows in `requests` = ServiceRequest workflows on the task queue,
one `received` event per request, no event stored twice, one acknowledgement sent per
request (the outbox keys each message once) and no message left unsent once the outbox
has drained. docs/performance.md records runs.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import os
import random
import statistics
import sys
import time
import uuid
from collections import Counter
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError

from bench.figures import quantiles
from bench.stack import generated_keys, servers, signed_client, tree_cpu, tree_rss
from csflow import logs
from csflow.api.admission import Admission, Saturated
from csflow.config.policy import load_policy
from csflow.contracts import (
    WORKFLOW_TYPE,
    Actor,
    CompleteImprovement,
    ConfirmCommand,
    Contact,
    Customer,
    FollowUpRecord,
    PlanCommand,
    ProgressCommand,
    RequestIntake,
    ResolveCommand,
)
from csflow.domain.codes import Category, Channel, Priority, Role
from csflow.domain.events import EventKind
from csflow.settings import Settings
from csflow.store.migrations import apply_migrations
from csflow.store.pool import create_pool
from starter.client import CsflowClient, RequestRefused, TemporalUnavailable
from worker import build_worker

DAY = 86400.0
HOUR = 3600.0
# Share of a weekday's volume in each hour (sums to 1): quiet nights, a late-morning and
# an afternoon peak, evenings still busy (online shop).
HOURLY = [
    0.010, 0.006, 0.004, 0.004, 0.005, 0.008, 0.015, 0.030, 0.055, 0.075, 0.080, 0.075,
    0.060, 0.065, 0.075, 0.075, 0.065, 0.055, 0.045, 0.045, 0.050, 0.045, 0.032, 0.021,
]  # fmt: skip
WEEKDAY = [1.10, 1.05, 1.00, 1.00, 1.05, 0.90, 0.90]  # Monday … Sunday; mean 1.0
NAMES = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
PRIORITIES = [("P1", 0.05), ("P2", 0.20), ("P3", 0.75)]
WORK_MINUTES = {"P1": (20, 40), "P2": (30, 60), "P3": (40, 90)}  # simulated, uniform
# What a loaded stack answers now and then, and a careful caller retries.
TRANSIENT = (TemporalUnavailable, RPCError, WorkflowUpdateRPCTimeoutOrCancelledError)


def seconds_text(seconds: float) -> str:
    return f"{max(1, round(seconds))}s"


def policy_text(compression: float) -> str:
    """The default policy's clocks divided by `compression`, all counted in wall time."""

    def c(text_seconds: float) -> str:
        return f'"{seconds_text(text_seconds / compression)}"'

    m, h = 60.0, 3600.0
    sla = {
        "P1": (15 * m, 1 * h, 2 * h, 6 * h),
        "P2": (30 * m, 1 * h, 4 * h, 6 * h),
        "P3": (2 * h, 2 * h, 24 * h, 24 * h),
    }
    out = []
    for p, (fr, plan, res, cad) in sla.items():
        out.append(
            f"[sla.{p}]\nfirst_response = {c(fr)}\nplan = {c(plan)}\n"
            f"resolution = {c(res)}\nprogress_cadence = {c(cad)}\n"
        )
    out.append(f"[channels.social]\nfirst_response = {c(2 * h)}\n")
    out.append(f"[channels.email]\nfirst_response = {c(24 * h)}\n")
    for p, steps in {
        "P1": ((15 * m, '["supervisor"]', '["sms"]', "notify"),
               (30 * m, '["director"]', '["sms"]', "director_takeover")),
        "P2": ((1 * h, '["department_head"]', '["email"]', "notify"),
               (2 * h, '["director"]', '["email"]', "director_takeover")),
        "P3": ((4 * h, "[]", '["board"]', "mark_delayed"),
               (8 * h, '["director"]', '["email"]', "director_takeover")),
    }.items():  # fmt: skip
        for after, notify, channels, action in steps:
            out.append(
                f"[[escalation.{p}]]\nafter = {c(after)}\nnotify = {notify}\n"
                f'channels = {channels}\naction = "{action}"\n'
            )
    out.append(f"[follow_up]\nvip = {c(24 * h)}\nmajor = {c(24 * h)}\nroutine = {c(72 * h)}\n")
    out.append(f"[confirmation]\nwindow = {c(72 * h)}\n")
    return "\n".join(out)


@dataclass(order=True)
class Ticket:
    """A request waiting for an agent: by priority, then by when it was queued."""

    rank: int
    queued: float
    number: str = field(compare=False)
    priority: str = field(compare=False)
    customer: str = field(compare=False)
    round: int = field(compare=False, default=1)


@dataclass
class Tally:
    offered: int = 0
    accepted: int = 0
    existing_on_retry: int = 0
    held_429: int = 0
    unavailable_retries: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    closed_by_us: int = 0
    improvements: int = 0
    rehandled: int = 0
    silent: int = 0
    negative: int = 0
    numbers: list[str] = field(default_factory=list)
    accepted_at: list[float] = field(default_factory=list)  # real seconds since start
    create_seconds: list[float] = field(default_factory=list)  # arrival to receipt, retries in


def arrivals(args: argparse.Namespace, rng: random.Random) -> list[tuple[float, str]]:
    """(simulated seconds from Monday 00:00, priority) for the whole week, sorted."""
    out: list[tuple[float, str]] = []
    for d in range(args.days):
        for h in range(24):
            rate = args.per_day * WEEKDAY[d % 7] * HOURLY[h]
            if d == args.sale_day and h == args.sale_hour:
                rate *= 10
            t = 0.0
            while True:  # Poisson process within the hour
                t += rng.expovariate(rate / HOUR) if rate > 0 else HOUR
                if t >= HOUR:
                    break
                pr = rng.choices([p for p, _ in PRIORITIES], [w for _, w in PRIORITIES])[0]
                out.append((d * DAY + h * HOUR + t, pr))
    out.sort()
    return out


class Week:
    """The organisation at work on one clock compressed `k` times: arrivals through the
    API's gate, agents taking requests from a priority queue, customers answering and the
    follow-up team visiting. Every command goes through `CsflowClient`, as a backend's
    would; what happened is counted in `tally`."""

    def __init__(
        self, args: argparse.Namespace, csflow: CsflowClient, gate: Admission, rng: random.Random
    ) -> None:
        self.args, self.csflow, self.gate, self.rng = args, csflow, gate, rng
        self.k: float = args.compression
        self.tally = Tally()
        self.waiting: list[Ticket] = []
        self.work = asyncio.Condition()
        self.follow_ups: set[asyncio.Task[None]] = set()
        self.busy: set[int] = set()
        self.channels = list(Channel)
        self.began = time.monotonic()
        self.wall_began = time.time()

    # ---- the compressed clock ----

    def sim_now(self) -> float:
        return (time.monotonic() - self.began) * self.k

    async def at_sim(self, t: float) -> None:
        await asyncio.sleep(max(0.0, t / self.k - (time.monotonic() - self.began)))

    async def sim_sleep(self, sim_seconds: float) -> None:
        await asyncio.sleep(sim_seconds / self.k)

    # ---- the people ----

    async def command(self, what: str, call: Any) -> Any:
        """A command's answer, or None when it was refused (counted by kind)."""
        try:
            return await call
        except RequestRefused as err:
            self.tally.refused[f"{what}: {err.kind}"] += 1
        except TRANSIENT as err:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                # The SDK reports an Update call cancelled under it (the drain's cancel of
                # an agent mid-command) as this error: swallowed, the agent would go back
                # to its queue and the run would never end.
                raise asyncio.CancelledError from err
            self.tally.refused[f"{what}: {type(err).__name__}"] += 1
        return None

    async def queue(self, ticket: Ticket) -> None:
        async with self.work:
            heapq.heappush(self.waiting, ticket)
            self.work.notify()

    async def arrive(self, i: int, t: float, priority: str) -> None:
        await self.at_sim(t)
        tally = self.tally
        tally.offered += 1
        customer = f"W-{self.rng.randrange(5000)}"
        intake = RequestIntake(
            customer=Customer(
                id=customer, name="Week Customer", contact=Contact(email=f"{customer}@e.com")
            ),
            channel=self.channels[i % len(self.channels)],
            category=Category.CONSULTATION,
            priority=Priority(priority),
            description="Where is my parcel?",
            external_id=f"week-{i}",
        )
        asked = time.monotonic()
        while True:
            try:
                await self.gate.admit()
                # wait=True: the agents see a request once its intake is written
                # (assigned), as the console's queue does.
                created = await self.csflow.create(intake, wait=True)
                break
            except Saturated as err:
                tally.held_429 += 1
                await asyncio.sleep(err.retry_after)
            except TRANSIENT as err:
                # Under load: e.g. "Workflow Task in failed state" from a numbering shard
                # whose workflow task failed, or an Update's RPC deadline passing — a
                # careful caller retries with the same external id.
                tally.unavailable_retries += 1
                tally.refused[f"create: {type(err).__name__} (retried)"] += 1
                await asyncio.sleep(1.0)
        if created.existing:
            # The same request, found by its external id: after our retry, or after the
            # client's own retry of a number ask whose first answer was lost. Loss or
            # doubling is judged at the end, from rows and workflows.
            tally.existing_on_retry += 1
        tally.accepted += 1
        tally.numbers.append(created.number)
        tally.accepted_at.append(time.monotonic() - self.began)
        tally.create_seconds.append(time.monotonic() - asked)
        await self.queue(
            Ticket(int(priority[1]), self.sim_now(), created.number, priority, customer)
        )

    async def agent(self, a: int) -> None:
        me = Actor(id=f"agent-{a:03d}", role=Role.AGENT)
        while True:
            async with self.work:
                while not self.waiting:
                    await self.work.wait()
                ticket = heapq.heappop(self.waiting)
            self.busy.add(a)
            try:
                await self.handle(me, ticket)
            finally:
                self.busy.discard(a)

    async def handle(self, me: Actor, ticket: Ticket) -> None:
        """One request through an agent's hands: first answer, plan, work, resolution."""
        n, p, rng = ticket.number, ticket.priority, self.rng
        key = f"{n}-{ticket.round}"
        await self.sim_sleep(rng.uniform(2, 10) * 60)  # reading it, first answer
        await self.command(
            "progress",
            self.csflow.post_progress(
                n, ProgressCommand(actor=me, note="we are on it"), idempotency_key=f"{key}-ack"
            ),
        )
        if ticket.round == 1:
            eta = datetime.now(UTC) + timedelta(days=1)
            await self.command(
                "plan",
                self.csflow.submit_plan(
                    n,
                    PlanCommand(actor=me, measures=["check with the courier"], eta=eta),
                    idempotency_key=f"{key}-plan",
                ),
            )
        lo, hi = WORK_MINUTES[p]
        await self.sim_sleep(rng.uniform(lo, hi) * 60)
        await self.command(
            "progress",
            self.csflow.post_progress(
                n,
                ProgressCommand(actor=me, note="courier found it"),
                idempotency_key=f"{key}-progress",
            ),
        )
        resolved = await self.command(
            "resolve",
            self.csflow.resolve(
                n,
                ResolveCommand(actor=me, summary="parcel redelivered"),
                idempotency_key=f"{key}-resolve",
            ),
        )
        if resolved is None:
            return
        # The customer, in their own time, while the agent takes the next one.
        task = asyncio.create_task(self.customer_answers(ticket))
        self.follow_ups.add(task)
        task.add_done_callback(self.follow_ups.discard)

    async def customer_answers(self, ticket: Ticket) -> None:
        """75 % satisfied, 10 % not (re-handled at the request's raised priority), 15 %
        silent (the confirmation window closes it); a second round satisfies."""
        n, tally = ticket.number, self.tally
        draw = self.rng.random()
        if draw < 0.15:
            tally.silent += 1
            await self.follow_up(n, silent=True)
            return
        await self.sim_sleep(self.rng.uniform(0.5, 6) * HOUR)
        who = Actor(id=ticket.customer, role=Role.CUSTOMER)
        satisfied = draw >= 0.25 or ticket.round > 1
        view = await self.command(
            "confirm",
            self.csflow.confirm(
                n,
                ConfirmCommand(
                    actor=who,
                    satisfied=satisfied,
                    reason=None if satisfied else "the parcel is still missing",
                ),
                idempotency_key=f"{n}-{ticket.round}-confirm",
            ),
        )
        if view is None:
            return
        if not satisfied:
            tally.rehandled += 1
            priority = view.priority.value
            await self.queue(
                Ticket(
                    int(priority[1]), self.sim_now(), n, priority, ticket.customer, ticket.round + 1
                )
            )
            return
        await self.follow_up(n, silent=False)

    async def follow_up(self, number: str, silent: bool) -> None:
        """The follow-up team: the visit a simulated hour or two after it is due; 10 % of
        scores negative, each improvement task they open completed a few hours later."""
        rng, tally = self.rng, self.tally
        if silent:  # the confirmation window (72 h) closes it first
            await self.sim_sleep(72 * HOUR + rng.uniform(1, 3) * HOUR)
        else:
            await self.sim_sleep(rng.uniform(1, 3) * HOUR)
        view = None
        for _ in range(20):
            view = await self.command("state", self.csflow.state(number))
            if view is not None and view.follow_up is not None:
                break
            await self.sim_sleep(HOUR)
        if view is None or view.follow_up is None:
            tally.refused["follow-up: never scheduled"] += 1
            return
        owner = Actor(id=view.follow_up.owner, role=Role.FOLLOW_UP)
        negative = rng.random() < 0.10
        tally.negative += negative
        score = rng.choice([1, 2]) if negative else rng.choice([4, 5, 5])
        after = await self.command(
            "follow-up",
            self.csflow.record_follow_up(
                number,
                FollowUpRecord(actor=owner, score=score, nps=2 if negative else 9),
                idempotency_key=f"{number}-fu",
            ),
        )
        if after is None:
            return
        for task_id in after.improvements:
            await self.sim_sleep(rng.uniform(2, 6) * HOUR)
            done = await self.command(
                "improvement",
                self.csflow.complete_improvement(
                    task_id,
                    CompleteImprovement(actor=owner, what_changed="courier briefed"),
                    idempotency_key=f"{task_id}-done",
                ),
            )
            tally.improvements += done is not None
        tally.closed_by_us += 1

    # ---- the week ----

    async def play(self, plan_of_week: list[tuple[float, str]]) -> list[asyncio.Task[None]]:
        """Every arrival, in its own task, with the agents at work; returns when all are
        accepted, the agents still working."""
        agents = [asyncio.create_task(self.agent(a)) for a in range(self.args.agents)]
        async with asyncio.TaskGroup() as group:
            for i, (t, pr) in enumerate(plan_of_week):
                group.create_task(self.arrive(i, t, pr))
        return agents

    async def drain(self, agents: list[asyncio.Task[None]], pool: Any) -> None:
        """The week's end plus --drain simulated hours: the agents empty their queue, the
        customers and follow-ups answer; whatever is still open then stays open. Then the
        last writes land and the outbox sends what they queued."""
        drain_until = self.began + (self.args.days * DAY + self.args.drain * HOUR) / self.k
        while (  # noqa: ASYNC110 — polling three kinds of work; 1 s is plenty
            self.waiting or self.busy or self.follow_ups
        ) and time.monotonic() < drain_until:
            await asyncio.sleep(1.0)
        for task in [*agents, *self.follow_ups]:
            task.cancel()
        await asyncio.gather(*agents, *self.follow_ups, return_exceptions=True)
        await asyncio.sleep(max(5.0, 2 * HOUR / self.k))
        for _ in range(120):  # every accepted intake persisted (or 2 minutes pass)
            if await pool.fetchval("SELECT count(*) FROM requests") >= self.tally.accepted:
                break
            await asyncio.sleep(1.0)
        for _ in range(60):  # the outbox's dispatcher has sent what they queued
            if not await pool.fetchval(
                "SELECT count(*) FROM outbox WHERE status IN ('pending', 'retrying', 'sending')"
            ):
                break
            await asyncio.sleep(1.0)


@dataclass
class Machine:
    """What the processes did, sampled while the week ran: the agents' queue each
    simulated hour, each process's peak RSS each real second."""

    pids: dict[str, int | None]
    queue_by_hour: list[int] = field(default_factory=list)
    rss_peak: dict[str, int] = field(default_factory=dict)
    cpu0: dict[str, float] = field(init=False)  # CPU seconds when sampling began

    def __post_init__(self) -> None:
        self.cpu0 = {name: tree_cpu(pid) for name, pid in self.pids.items()}

    async def sample(self, week: Week) -> None:
        next_hour = 0.0
        while True:
            for name, pid in self.pids.items():
                self.rss_peak[name] = max(self.rss_peak.get(name, 0), tree_rss(pid))
            while week.sim_now() >= next_hour:
                self.queue_by_hour.append(len(week.waiting))
                next_hour += HOUR
            await asyncio.sleep(min(1.0, HOUR / week.k))

    def cpu(self) -> dict[str, float]:
        return {name: tree_cpu(pid) - self.cpu0[name] for name, pid in self.pids.items()}


@dataclass
class Stored:
    """What PostgreSQL and Temporal hold at the end: what the organisation saw, and what
    could have been lost or doubled."""

    rows: int
    breached: list[Any]  # by clock: events and distinct requests
    breached_requests: int
    statuses: list[Any]
    late: list[Any]  # every warning and breach: due and recorded
    received: list[Any]  # `received` events per request
    doubled: int  # events stored twice
    messages: dict[str, int]  # outbox rows by status
    acknowledged: int
    workflows: int

    @classmethod
    async def read(cls, pool: Any, client: Any, queue: str) -> Stored:
        breached = EventKind.SLA_BREACHED.value
        return cls(
            rows=int(await pool.fetchval("SELECT count(*) FROM requests")),
            breached=await pool.fetch(
                "SELECT data->>'clock' AS clock, count(*) AS n, count(DISTINCT number) AS r "
                "FROM request_events WHERE kind = $1 GROUP BY 1 ORDER BY 1",
                breached,
            ),
            breached_requests=int(
                await pool.fetchval(
                    "SELECT count(DISTINCT number) FROM request_events WHERE kind = $1", breached
                )
            ),
            statuses=await pool.fetch("SELECT status, count(*) AS n FROM requests GROUP BY 1"),
            late=await pool.fetch(
                "SELECT at, recorded_at FROM request_events WHERE kind = ANY($1)",
                [EventKind.SLA_WARNING.value, breached],
            ),
            received=await pool.fetch(
                "SELECT number, count(*) AS n FROM request_events WHERE kind = $1 GROUP BY 1",
                EventKind.RECEIVED.value,
            ),
            doubled=int(
                await pool.fetchval(
                    "SELECT count(*) FROM (SELECT 1 FROM request_events "
                    "GROUP BY number, kind, at, data::text HAVING count(*) > 1) d"
                )
            ),
            messages={
                r["status"]: r["n"]
                for r in await pool.fetch("SELECT status, count(*) AS n FROM outbox GROUP BY 1")
            },
            acknowledged=int(
                await pool.fetchval(
                    "SELECT count(*) FROM outbox "
                    "WHERE template = 'acknowledgement' AND status = 'sent'"
                )
            ),
            workflows=(
                await client.count_workflows(
                    f"TaskQueue = '{queue}' AND WorkflowType = '{WORKFLOW_TYPE}'"
                )
            ).count,
        )


def print_organisation(
    args: argparse.Namespace,
    plan_of_week: list[tuple[float, str]],
    tally: Tally,
    stored: Stored,
    machine: Machine,
) -> None:
    per_day = Counter(int(t // DAY) for t, _ in plan_of_week)
    print(f"\n== the organisation ({args.agents} agents) ==")
    compliance = 100 * (1 - stored.breached_requests / max(stored.rows, 1))
    print(
        f"requests {stored.rows:,}; SLA compliance {compliance:.1f} % "
        f"({stored.breached_requests:,} requests breached at least one clock)"
    )
    print(
        "breaches by clock: "
        + (
            ", ".join(f"{r['clock']} {r['n']} ({r['r']} requests)" for r in stored.breached)
            or "none"
        )
    )
    print("status at the end: " + ", ".join(f"{r['status']} {r['n']}" for r in stored.statuses))
    print(
        f"re-handled {tally.rehandled}, silent {tally.silent}, negative follow-ups "
        f"{tally.negative}, improvements completed {tally.improvements}, "
        f"follow-ups recorded {tally.closed_by_us}"
    )
    print("agents' queue per simulated hour (max / mean over the day; the day's arrivals):")
    for d in range(args.days):
        hours = machine.queue_by_hour[d * 24 : (d + 1) * 24] or [0]
        print(
            f"  {NAMES[d % 7]}  arrivals {per_day[d]:5d}   queue max {max(hours):5d}  "
            f"mean {statistics.fmean(hours):7.1f}   by hour " + " ".join(str(x) for x in hours)
        )


def print_machine(
    args: argparse.Namespace, week: Week, stored: Stored, machine: Machine, elapsed: float
) -> None:
    tally, k = week.tally, week.k
    print(f"\n== the machine ({os.cpu_count()} cores) ==")
    sale_lo = (args.sale_day * DAY + args.sale_hour * HOUR) / k
    sale = [t for t in tally.accepted_at if sale_lo <= t < sale_lo + HOUR / k]
    print(
        f"elapsed {elapsed:.0f} s; accepted {tally.accepted:,} ({tally.accepted / elapsed:.2f}/s "
        f"overall, {len(sale) / (HOUR / k):.2f}/s in the sale hour's real {HOUR / k:.1f} s); "
        f"429 held {tally.held_429}, unavailable retries {tally.unavailable_retries}, "
        f"found existing {tally.existing_on_retry}"
    )
    print(f"arrival to receipt (429 waits included): {quantiles(tally.create_seconds)}")
    cpu = machine.cpu()
    print(
        "CPU s: "
        + ", ".join(f"{name} {sec:.0f} ({100 * sec / elapsed:.0f} %)" for name, sec in cpu.items())
        + "; peak RSS: "
        + ", ".join(f"{name} {b / 1e6:.0f} MB" for name, b in machine.rss_peak.items())
    )
    lateness = [(r["recorded_at"] - r["at"]).total_seconds() for r in stored.late]
    print(f"firing lateness (warnings and breaches): {quantiles(lateness)}")
    in_sale = [
        (r["recorded_at"] - r["at"]).total_seconds()
        for r in stored.late
        if sale_lo <= (r["at"].timestamp() - week.wall_began) < sale_lo + 3 * HOUR / k
    ]
    print(f"  … due in the sale hour and the two after: {quantiles(in_sale)}")
    if tally.refused:
        print("commands refused: " + ", ".join(f"{w} {n}" for w, n in tally.refused.items()))
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


def lost_or_doubled(tally: Tally, stored: Stored) -> list[str]:
    """Nothing lost, nothing duplicated: what says otherwise, empty when all is well."""
    problems = []
    rows, workflows = stored.rows, stored.workflows
    if not (tally.accepted == rows == workflows == len(set(tally.numbers)) == tally.offered):
        problems.append(
            f"offered {tally.offered}, accepted {tally.accepted}, distinct numbers "
            f"{len(set(tally.numbers))}, rows {rows}, workflows {workflows}"
        )
    if len(stored.received) != rows or any(r["n"] != 1 for r in stored.received):
        problems.append(f"`received` events: {len(stored.received)} requests, some twice")
    if stored.doubled:
        problems.append(f"{stored.doubled} events stored twice")
    if stored.acknowledged != rows:  # one row per key: a key is never sent twice
        problems.append(f"{stored.acknowledged} acknowledgements sent for {rows} requests")
    if unsent := sum(n for status, n in stored.messages.items() if status != "sent"):
        problems.append(f"{unsent} messages not sent")
    return problems


async def run(
    args: argparse.Namespace, dsn: str, target: str, pids: dict[str, int | None], policy: Path
) -> int:
    logs.configure("console", "ERROR")  # one line per notification otherwise
    await apply_migrations(dsn)
    ring = generated_keys(args.encryption)
    queue = f"bench-week-{uuid.uuid4().hex[:8]}"
    settings = Settings(CSFLOW_TASK_QUEUE=queue)
    client = await signed_client(target, ring, settings)
    rng = random.Random(args.seed)  # the arrivals' draws, then the people's
    plan_of_week = arrivals(args, rng)
    print(
        f"{len(plan_of_week):,} arrivals over {args.days} days "
        f"(sale: {NAMES[args.sale_day % 7]} {args.sale_hour:02d}:00 at 10×); "
        f"compression {args.compression:.0f}× — a simulated hour is "
        f"{HOUR / args.compression:.1f} s",
        flush=True,
    )
    async with AsyncExitStack() as stack:
        pool = await create_pool(dsn, min_size=2, max_size=20)
        stack.push_async_callback(pool.close)
        await stack.enter_async_context(
            build_worker(client, queue, pool, policy=load_policy(policy), settings=settings)
        )
        # The API's gate, as POST /requests builds it (backlog and lateness limits from
        # the environment's CSFLOW_INTAKE_* or their defaults), called in process.
        gate = Admission.from_settings(settings, client, pool)
        if args.admission == "off":
            gate = Admission(None, None, 0.0)
        csflow = CsflowClient(client, pool, task_queue=queue, number_wait=120.0, receipt_wait=120.0)
        machine = Machine(pids)
        week = Week(args, csflow, gate, rng)
        sampler = asyncio.create_task(machine.sample(week))
        agents = await week.play(plan_of_week)
        print(
            f"all {week.tally.accepted:,} accepted after {time.monotonic() - week.began:.0f} s",
            flush=True,
        )
        await week.drain(agents, pool)
        sampler.cancel()
        elapsed = time.monotonic() - week.began
        stored = await Stored.read(pool, client, queue)

    print_organisation(args, plan_of_week, week.tally, stored, machine)
    print_machine(args, week, stored, machine, elapsed)
    print("messages by outbox status: " + ", ".join(f"{s} {n}" for s, n in stored.messages.items()))
    problems = lost_or_doubled(week.tally, stored)
    print("\nlost/duplicated: " + ("; ".join(problems) if problems else "none"))
    return 1 if problems else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--per-day", type=int, default=300, help="requests on an average day")
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--minutes", type=float, default=20.0, help="real minutes for the days")
    ap.add_argument("--agents", type=int, default=60)
    ap.add_argument("--sale-day", type=int, default=4, help="0 = Monday")
    ap.add_argument("--sale-hour", type=int, default=20)
    ap.add_argument("--admission", choices=("on", "off"), default="on")
    ap.add_argument(
        "--drain", type=float, default=12.0, help="simulated hours after the week to finish"
    )
    ap.add_argument("--encryption", choices=("on", "off"), default="on")
    ap.add_argument("--seed", type=int, default=17)
    args = ap.parse_args()
    args.compression = args.days * DAY / (args.minutes * 60)
    with servers("csflow-week-", data_dir=True) as running:
        policy_file = running.workdir / "policy.toml"
        policy_file.write_text(policy_text(args.compression))
        pids = {
            "server": running.server_pid,
            "postgres": running.postgres_pid,
            "client+worker": os.getpid(),
        }
        print(
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {args.per_day}/day, {args.days} days in "
            f"{args.minutes:g} min, {args.agents} agents, admission {args.admission}, "
            f"{os.cpu_count()} cores, load average "
            f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}",
            flush=True,
        )
        code = asyncio.run(run(args, running.dsn, running.target, pids, policy_file))
    sys.exit(code)


if __name__ == "__main__":
    main()
