"""bench/week.py's people: agents working a priority queue, customers answering, the
follow-up team visiting — every command through `CsflowClient`, as a backend's would, and
what happened counted in a `Tally`.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError

from bench.week_profile import DAY, HOUR
from csflow.api.admission import Admission, Saturated
from csflow.contracts import (
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
from starter.client import CsflowClient, RequestRefused, TemporalUnavailable

WORK_MINUTES = {"P1": (20, 40), "P2": (30, 60), "P3": (40, 90)}  # simulated, uniform
# What a loaded stack answers now and then, and a careful caller retries.
TRANSIENT = (TemporalUnavailable, RPCError, WorkflowUpdateRPCTimeoutOrCancelledError)


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
