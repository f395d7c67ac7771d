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
import os
import random
import sys
import time
import uuid
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from bench.stack import generated_keys, servers, signed_client
from bench.week_figures import Machine, Stored, lost_or_doubled, print_machine, print_organisation
from bench.week_people import Week
from bench.week_profile import DAY, HOUR, NAMES, arrivals, policy_text
from csflow import logs
from csflow.api.admission import Admission
from csflow.config.policy import load_policy
from csflow.settings import Settings
from csflow.store.migrations import apply_migrations
from csflow.store.pool import create_pool
from starter.client import CsflowClient
from worker import build_worker


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
