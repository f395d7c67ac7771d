"""Benchmark: the weekly report over 1,000,000 requests (issue 8).

    python bench/weekly_report.py                   # embedded PostgreSQL, 1M requests
    DATABASE_URL=postgresql://… python bench/weekly_report.py --requests 200000

Loads N synthetic requests received during one ISO week (the worst case: every request
of the database is in the reported week) with ~12 timeline events each, through
`copy_records_to_table`, into a freshly migrated database, then times what production
runs: the seven daily rollups (each is what the 00:30 daily schedule does for its day),
the weekly report assembled from them (the Monday schedule's work once the days are
rolled up), and the same weekly report again from nothing (`csflow report weekly
--refresh`). Results are printed; docs/performance.md records a run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.synthetic import EVENT_COLUMNS, REQUEST_COLUMNS, generate
from csflow.reports import service
from csflow.reports.periods import parse
from csflow.reports.rollup import rollup_day
from csflow.store.migrations import apply_migrations
from csflow.store.pool import create_pool

TZ = "Asia/Shanghai"


async def load(dsn: str, count: int, week: str) -> float:
    period = parse("weekly", week)
    start, _ = period.bounds(TZ)
    conn = await asyncpg.connect(dsn)  # no jsonb codec here: rows carry JSON text
    began = time.perf_counter()
    loaded = 0
    try:
        for requests, events in generate(count, start, period.length):
            await conn.copy_records_to_table("requests", records=requests, columns=REQUEST_COLUMNS)
            await conn.copy_records_to_table(
                "request_events", records=events, columns=EVENT_COLUMNS
            )
            loaded += len(requests)
            print(f"\r  loaded {loaded:>9,} requests", end="", flush=True)
        print()
        await conn.execute("VACUUM ANALYZE requests")
        await conn.execute("VACUUM ANALYZE request_events")
    finally:
        await conn.close()
    return time.perf_counter() - began


async def measure(dsn: str, week: str) -> dict[str, Any]:
    pool = await create_pool(dsn, min_size=1, max_size=2)
    out: dict[str, Any] = {}
    try:
        out["events"] = await pool.fetchval("SELECT count(*) FROM request_events")
        period = parse("weekly", week)
        days = []
        for day in period.days:
            t = time.perf_counter()
            await rollup_day(pool, day, TZ, force=True)
            days.append(time.perf_counter() - t)
        out["daily_rollups"] = days
        t = time.perf_counter()
        report = await service.publish(pool, "weekly", week, TZ, datetime.now(UTC))
        out["weekly_from_rollups"] = time.perf_counter() - t
        out["received"] = report.received
        t = time.perf_counter()
        await service.produce(pool, "weekly", week, TZ, datetime.now(UTC), refresh=True)
        out["weekly_from_scratch"] = time.perf_counter() - t
        t = time.perf_counter()
        await service.produce_forecast(
            pool, period.last_day + timedelta(days=1), TZ, 14, datetime.now(UTC)
        )
        out["forecast"] = time.perf_counter() - t
        out["sizes"] = {
            r["name"]: r["size"]
            for r in await pool.fetch(
                """SELECT c.relname AS name, pg_size_pretty(pg_total_relation_size(c.oid)) AS size
               FROM pg_class c WHERE c.relname IN ('requests', 'request_events',
                   'report_day_counts', 'report_day_durations') ORDER BY 1"""
            )
        }
    finally:
        await pool.close()
    return out


async def run(dsn: str, count: int, week: str) -> None:
    await apply_migrations(dsn)
    if await _count(dsn):
        raise SystemExit("the database already has requests: give the benchmark an empty one")
    print(f"loading {count:,} requests received in {week} …")
    loaded_in = await load(dsn, count, week)
    r = await measure(dsn, week)
    print(f"loaded {count:,} requests, {r['events']:,} events in {loaded_in:.0f} s")
    for day, secs in zip(parse("weekly", week).days, r["daily_rollups"], strict=True):
        print(f"  daily rollup {day}: {secs:6.2f} s")
    print(f"  all seven daily rollups:        {sum(r['daily_rollups']):6.2f} s")
    print(
        f"  weekly report from the rollups: {r['weekly_from_rollups']:6.2f} s "
        f"({r['received']:,} requests received in the week)"
    )
    print(f"  weekly report from scratch:     {r['weekly_from_scratch']:6.2f} s (--refresh)")
    print(f"  forecast (rollups exist):       {r['forecast']:6.2f} s")
    print("  sizes: " + ", ".join(f"{k} {v}" for k, v in r["sizes"].items()))


async def _count(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        n: int = await conn.fetchval("SELECT count(*) FROM requests")
        return n
    finally:
        await conn.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=1_000_000)
    ap.add_argument("--week", default="2026-W47")
    args = ap.parse_args()
    with ExitStack() as stack:
        dsn = os.environ.get("DATABASE_URL")
        if not dsn:
            from csflow.embedded.ports import free_port
            from csflow.embedded.postgres import EmbeddedPostgres

            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="csflow-bench-")))
            # Durability off only speeds the bulk load; the report queries read the same.
            fast = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
            pg = stack.enter_context(
                EmbeddedPostgres(root / "pg", free_port(), server_settings=fast)
            )
            pg.create_database("csflow")
            dsn = pg.dsn("csflow")
        asyncio.run(run(dsn, args.requests, args.week))


if __name__ == "__main__":
    main()
