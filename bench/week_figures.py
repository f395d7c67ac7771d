"""bench/week.py's figures: what the processes did while the week ran, what PostgreSQL
and Temporal hold at the end, the two reports (the organisation's, the machine's) and the
check that nothing was lost or doubled.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench.figures import quantiles
from bench.stack import tree_cpu, tree_rss
from bench.week_people import Tally, Week
from bench.week_profile import DAY, HOUR, NAMES
from csflow.contracts import (
    WORKFLOW_TYPE,
)
from csflow.domain.events import EventKind


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
