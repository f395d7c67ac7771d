"""Benchmark: scorecards for 500 agents over a 1,000,000-request month (issue 16).

    python bench/scorecards.py                      # embedded PostgreSQL, 1M requests
    python bench/scorecards.py --requests 200000 --month 2026-11
    DATABASE_URL=postgresql://… python bench/scorecards.py --requests 200000

Loads N synthetic requests received during one calendar month (bench/synthetic.py, ~15
timeline events each, handled by `--agents` agents, 20 to a team, 100 to a department, in
the staff directory) into an embedded PostgreSQL running with fsync, synchronous_commit
and full_page_writes off, restarts it with them on (the defaults), rolls up every day of
the month (what the nightly
`csflow-report-daily` runs do; timed, as they now also hold the per-agent and per-channel
figures), then times what the scorecard page and `csflow scorecard show --month` do from
the rollups: gather + assemble every agent, team and department scorecard, three times
(the figure recorded is the slowest). docs/performance.md records a run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stack import BenchPostgres, settings
from bench.synthetic import copy, generate
from csflow.reports import scorecards
from csflow.reports.periods import Period, parse
from csflow.reports.rollup import rollup_day
from csflow.store.migrations import apply_migrations
from csflow.store.pool import create_pool

TZ = "Asia/Shanghai"


async def load(dsn: str, count: int, period: Period, agents: int) -> float:
    start, _ = period.bounds(TZ)
    conn = await asyncpg.connect(dsn)  # no jsonb codec here: rows carry JSON text
    began = time.perf_counter()
    try:
        await conn.copy_records_to_table(
            "staff",
            columns=["id", "name", "role", "department", "team"],
            records=[
                (f"agent-{i:03d}", f"Agent {i}", "agent", f"dept-{i // 100}", f"team-{i // 20:02d}")
                for i in range(agents)
            ]
            + [("fu-1", "Follow-up", "follow_up", "follow-up", None)],
        )
        await copy(conn, generate(count, start, period.length, agents=agents), "loaded")
        await conn.execute("VACUUM ANALYZE requests")
        await conn.execute("VACUUM ANALYZE request_events")
    finally:
        await conn.close()
    return time.perf_counter() - began


async def measure(dsn: str, period: Period) -> dict[str, Any]:
    pool = await create_pool(dsn, min_size=1, max_size=2)
    out: dict[str, Any] = {}
    try:
        out["events"] = await pool.fetchval("SELECT count(*) FROM request_events")
        days = []
        for day in period.days:
            t = time.perf_counter()
            await rollup_day(pool, day, TZ, force=True)
            days.append(time.perf_counter() - t)
            print(f"\r  rolled up {day}: {days[-1]:.1f} s", end="", flush=True)
        print()
        out["daily_rollups"] = days
        runs = []
        for _ in range(3):
            t = time.perf_counter()
            inputs = await scorecards.gather(pool, period, TZ)
            gathered = time.perf_counter() - t
            report = scorecards.assemble(period, TZ, datetime.now(UTC), inputs)
            runs.append((time.perf_counter() - t, gathered))
        out["scorecards"] = runs
        first, last = period.first_day, period.last_day
        _, end = period.bounds(TZ)
        parts = {}
        for name, sql, args in (
            ("counts", scorecards.COUNTS_SQL, (TZ, first, last)),
            ("samples", scorecards.SAMPLES_SQL, (TZ, first, last)),
            ("open tasks", scorecards.OPEN_SQL, (end,)),
            ("staff", scorecards.STAFF_SQL, ()),
        ):
            t = time.perf_counter()
            await pool.fetch(sql, *args)
            parts[name] = time.perf_counter() - t
        out["parts"] = parts
        out["agents"] = len(report.agents)
        out["teams"] = len(report.teams)
        out["departments"] = len(report.departments)
        out["handled"] = report.organisation.handled
        out["samples"] = (
            report.organisation.first_response.count + report.organisation.resolution.count
        )
        out["sizes"] = {
            r["name"]: r["size"]
            for r in await pool.fetch(
                """SELECT c.relname AS name, pg_size_pretty(pg_total_relation_size(c.oid)) AS size
               FROM pg_class c WHERE c.relname IN ('request_events', 'report_day_agent_counts',
                   'report_day_samples') ORDER BY 1"""
            )
        }
    finally:
        await pool.close()
    return out


async def run(
    dsn: str, count: int, month: str, agents: int, pg: BenchPostgres | None = None
) -> None:
    await apply_migrations(dsn)
    conn = await asyncpg.connect(dsn)
    try:
        if await conn.fetchval("SELECT count(*) FROM requests"):
            raise SystemExit("the database already has requests: give the benchmark an empty one")
    finally:
        await conn.close()
    period = parse("monthly", month)
    print(f"loading {count:,} requests received in {month}, {agents} agents …")
    loaded_in = await load(dsn, count, period, agents)
    if pg is not None:
        pg.durable()  # loaded with durability off; measured with it on
    print("measuring with " + ", ".join(f"{k}={v}" for k, v in (await settings(dsn)).items()))
    r = await measure(dsn, period)
    print(f"loaded {count:,} requests, {r['events']:,} events in {loaded_in:.0f} s")
    d = r["daily_rollups"]
    print(
        f"  daily rollups: {min(d):.2f} – {max(d):.2f} s per day, {sum(d):.1f} s for "
        f"the {len(d)} days"
    )
    for i, (total, gathered) in enumerate(r["scorecards"], start=1):
        print(
            f"  scorecards from the rollups, run {i}: {total:.2f} s "
            f"(gather {gathered:.2f} s, assemble {total - gathered:.2f} s)"
        )
    print("  of which: " + ", ".join(f"{k} {v:.2f} s" for k, v in r["parts"].items()))
    print(
        f"  {r['agents']} agent, {r['teams']} team, {r['departments']} department "
        f"scorecards; {r['handled']:,} requests handled; {r['samples']:,} durations"
    )
    print("  sizes: " + ", ".join(f"{k} {v}" for k, v in r["sizes"].items()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=1_000_000)
    ap.add_argument("--month", default="2026-11")
    ap.add_argument("--agents", type=int, default=500)
    args = ap.parse_args()
    with ExitStack() as stack:
        dsn = os.environ.get("DATABASE_URL")
        pg = None
        if not dsn:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="csflow-bench-")))
            pg = BenchPostgres(root)
            stack.callback(pg.stop)
            dsn = pg.dsn
        asyncio.run(run(dsn, args.requests, args.month, args.agents, pg))


if __name__ == "__main__":
    main()
