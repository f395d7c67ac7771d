"""Benchmark: the weekly report on a week of traffic with a year of history behind it.

    python bench/weekly_report.py                    # 10,000 a week, 52 weeks of history
    python bench/weekly_report.py --explain plans.txt --profile   # + EXPLAIN ANALYZE, cProfile
    python bench/weekly_report.py --requests 700000 --history-weeks 52    # 100,000 a day
    DATABASE_URL=postgresql://… python bench/weekly_report.py --requests 200000

Loads `--history-weeks` weeks of synthetic requests (bench/synthetic.py: timelines shaped
like the workflow's, ~15 events a request) at `--requests` a week, then the measured ISO
week, through `copy_records_to_table`, into a freshly migrated database; rolls up every
day of the history (what the nightly `csflow-report-daily` schedule has done by then).
The embedded PostgreSQL does all that with fsync, synchronous_commit and full_page_writes
off, then is restarted with them on (the defaults) before anything is timed. Timed, on
the durable server: the seven daily rollups of the week (each is what the 00:30 daily
schedule does for its day), the weekly report assembled from them (the Monday schedule's
work), the same weekly report again from nothing (`csflow report weekly --refresh`), the
forecast, and the open-improvement query alone. With `--explain FILE`, every statement
of that work is run again under EXPLAIN (ANALYZE, BUFFERS) and the plans written to FILE.
Results are printed with the CPU seconds of this process and of PostgreSQL per step;
docs/performance.md records a run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stack import BenchPostgres, settings
from bench.synthetic import copy, generate
from csflow.reports import metrics, service
from csflow.reports.periods import Period, parse
from csflow.reports.rollup import (
    ROLLUP_VERSION,
    STATEMENTS,
    answer_within_targets,
    bind,
    rollup_day,
)
from csflow.store.migrations import apply_migrations
from csflow.store.pool import create_pool

TZ = "Asia/Shanghai"
# The data is as it stands 30 minutes after the week ends, when the Monday 00:30
# schedule runs: the requests in flight then are open, their later events unwritten.
NOW_AFTER_END = timedelta(minutes=30)
# The indexes migration 0018 added for the query below: dropped (in a transaction rolled
# back) to time the query as it ran before.
INDEXES_0018 = ("requests_closed_at", "request_events_improvements")

# What metrics.gather ran before issue 17: every improvement ever opened before the end.
OLD_OPEN_IMPROVEMENTS_SQL = """
SELECT coalesce(o.data ->> 'department', '(none)') AS department, count(*) AS n
FROM request_events o
WHERE o.kind = 'improvement_opened' AND o.at < $1
  AND NOT EXISTS (
      SELECT 1 FROM request_events c
      WHERE c.number = o.number AND c.kind = 'improvement_closed'
        AND c.data ->> 'task_id' = o.data ->> 'task_id' AND c.at < $1)
GROUP BY 1"""

GATHER_SQL = {
    "days rolled up": (
        """SELECT count(*) FROM report_days
           WHERE time_zone = $1 AND day BETWEEN $2 AND $3 AND version >= $4""",
        "tz first last version",
    ),
    "counts": (
        """SELECT metric, key, sum(n)::bigint AS n FROM report_day_counts
           WHERE time_zone = $1 AND day BETWEEN $2 AND $3 GROUP BY metric, key""",
        "tz first last",
    ),
    "open improvements": (metrics.OPEN_IMPROVEMENTS_SQL, "end"),
    "open improvements (before issue 17)": (OLD_OPEN_IMPROVEMENTS_SQL, "end"),
}


class Clock:
    """Wall time, this process's CPU and PostgreSQL's CPU over one step."""

    def __init__(self, pg: BenchPostgres | None) -> None:
        self.pg = pg

    def __enter__(self) -> Clock:
        self.wall = time.perf_counter()
        self.cpu = time.process_time()
        self.pg_cpu = self.pg.postgres_cpu() if self.pg else 0.0
        return self

    def __exit__(self, *_: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu
        self.pg_cpu = (self.pg.postgres_cpu() - self.pg_cpu) if self.pg else float("nan")

    def __str__(self) -> str:
        return (
            f"{self.wall:7.2f} s  (bench CPU {self.cpu:5.2f} s, "
            f"PostgreSQL CPU {self.pg_cpu:6.2f} s)"
        )


async def load(dsn: str, count: int, weeks: int, period: Period) -> tuple[int, float]:
    start, end = period.bounds(TZ)
    now = end + NOW_AFTER_END  # what happens later is not written yet
    conn = await asyncpg.connect(dsn)  # no jsonb codec here: rows carry JSON text
    began = time.perf_counter()
    try:
        loaded = 0
        if weeks:
            history = start - timedelta(days=7 * weeks)
            loaded += await copy(
                conn,
                generate(count * weeks, history, 7 * weeks, seed=17, now=now),
                f"{weeks} weeks of history",
            )
        loaded += await copy(
            conn,
            generate(count, start, period.length, first_index=count * weeks, now=now),
            f"the week {period.label}",
        )
        await conn.execute("VACUUM ANALYZE requests")
        await conn.execute("VACUUM ANALYZE request_events")
    finally:
        await conn.close()
    return loaded, time.perf_counter() - began


async def rollup_history(dsn: str, period: Period, weeks: int) -> float:
    """Every day before the week, as the nightly schedule would have left them."""
    pool = await create_pool(dsn, min_size=1, max_size=2)
    began = time.perf_counter()
    try:
        days = [period.first_day - timedelta(days=d) for d in range(7 * weeks, 0, -1)]
        for i, day in enumerate(days, start=1):
            await rollup_day(pool, day, TZ, force=True)
            print(f"\r  rolled up {i:>3}/{len(days)} history days", end="", flush=True)
        if days:
            print()
    finally:
        await pool.close()
    return time.perf_counter() - began


async def measure(dsn: str, week: str, pg: BenchPostgres | None) -> dict[str, Any]:
    pool = await create_pool(dsn, min_size=1, max_size=2)
    out: dict[str, Any] = {}
    try:
        out["events"] = await pool.fetchval("SELECT count(*) FROM request_events")
        out["requests"] = await pool.fetchval("SELECT count(*) FROM requests")
        period = parse("weekly", week)
        _, end = period.bounds(TZ)
        days = []
        for day in period.days:
            with Clock(pg) as c:
                await rollup_day(pool, day, TZ, force=True)
            days.append((day, c))
        out["daily_rollups"] = days
        with Clock(pg) as c:
            report = await service.publish(pool, "weekly", week, TZ, datetime.now(UTC))
        out["weekly_from_rollups"] = c
        out["received"] = report.received
        out["open_improvements"] = report.open_improvements
        with Clock(pg) as c:
            await service.produce(pool, "weekly", week, TZ, datetime.now(UTC), refresh=True)
        out["weekly_from_scratch"] = c
        with Clock(pg) as c:
            await service.produce_forecast(
                pool, period.last_day + timedelta(days=1), TZ, 14, datetime.now(UTC)
            )
        out["forecast"] = c
        for name, sql in (
            ("open_new", metrics.OPEN_IMPROVEMENTS_SQL),
            ("open_old", OLD_OPEN_IMPROVEMENTS_SQL),
        ):
            async with pool.acquire() as conn:
                tr = conn.transaction()
                await tr.start()
                try:
                    if name == "open_old":
                        await _without_0018(conn)
                    with Clock(pg) as c:
                        rows = await conn.fetch(sql, end)
                finally:
                    await tr.rollback()  # the indexes stay
            out[name] = (c, {r["department"]: r["n"] for r in rows})
        out["sizes"] = {
            r["name"]: r["size"]
            for r in await pool.fetch(
                """SELECT c.relname AS name, pg_size_pretty(pg_total_relation_size(c.oid)) AS size
               FROM pg_class c WHERE c.relname IN ('requests', 'request_events',
                   'report_day_counts', 'report_day_durations', 'report_day_samples')
               ORDER BY 1"""
            )
        }
    finally:
        await pool.close()
    return out


async def _without_0018(conn: Any) -> None:
    for index in INDEXES_0018:
        await conn.execute(f"DROP INDEX {index}")


async def explain(dsn: str, week: str, path: Path) -> list[tuple[str, float, str]]:
    """EXPLAIN (ANALYZE, BUFFERS) of every statement the week's report runs: the rollup
    statements for each day of the week (inside a transaction rolled back, as they
    write), then the gather statements. Returns (statement, ms, top plan line)."""
    period = parse("weekly", week)
    _, end = period.bounds(TZ)
    conn = await asyncpg.connect(dsn)
    found: list[tuple[str, float, str]] = []
    try:
        from csflow.reports.periods import day_start

        targets = answer_within_targets()
        with path.open("w") as out:
            for day in period.days:
                after = day_start(day + timedelta(days=1), TZ)
                values = (day_start(day, TZ), after, TZ, day, targets)
                # As rollup_day does, in one transaction — rolled back: the day is kept.
                tr = conn.transaction(isolation="repeatable_read")
                await tr.start()
                try:
                    await conn.execute(
                        "DELETE FROM report_days WHERE time_zone = $1 AND day = $2", TZ, day
                    )
                    await conn.execute(
                        """INSERT INTO report_days (time_zone, day, day_start, day_end,
                                                   computed_at, version)
                           VALUES ($1, $2, $3, $4, now(), $5)""",
                        TZ,
                        day,
                        values[0],
                        after,
                        ROLLUP_VERSION,
                    )
                    for sql in STATEMENTS:
                        bound, args = bind(sql, values)
                        if not sql.lstrip().startswith(("INSERT", "SELECT", "WITH")):
                            await conn.execute(bound, *args)  # DDL: cannot be explained
                            continue
                        name = f"rollup {day} {_statement_name(sql)}"
                        found.append(await _explain(conn, name, bound, args, out))
                finally:
                    await tr.rollback()
            values_by = {
                "tz": TZ,
                "first": period.first_day,
                "last": period.last_day,
                "version": ROLLUP_VERSION,
                "end": end,
            }
            for name, (sql, params) in GATHER_SQL.items():
                args = [values_by[p] for p in params.split()]
                tr = conn.transaction()
                await tr.start()
                try:
                    if "before" in name:
                        await _without_0018(conn)
                    found.append(await _explain(conn, f"gather {name}", sql, args, out))
                finally:
                    await tr.rollback()
    finally:
        await conn.close()
    return found


async def _explain(
    conn: Any, name: str, sql: str, args: Sequence[Any], out: Any
) -> tuple[str, float, str]:
    # The rollup statements pass the pick-up targets as jsonb: asyncpg needs it as text here.
    args = [_json(a) for a in args]
    rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT) {sql}", *args)
    lines = [r[0] for r in rows]
    out.write(f"==== {name}\n{sql.strip()}\n\n" + "\n".join(lines) + "\n\n")
    total = next(
        (float(x.split(":")[1].split()[0]) for x in lines if x.startswith("Execution Time")), 0.0
    )
    return name, total, lines[0].strip()


def _json(value: Any) -> Any:
    import json

    return json.dumps(value) if isinstance(value, dict) else value


def _statement_name(sql: str) -> str:
    """The statement's constant name in rollup.py / attribution.py (for the plan file)."""
    from csflow.reports import attribution, rollup

    for module in (rollup, attribution):
        for key, value in vars(module).items():
            if value is sql and key.isupper():
                return key
    return "statement"


async def run(
    dsn: str,
    count: int,
    weeks: int,
    week: str,
    pg: BenchPostgres | None,
    plans: Path | None,
    profile: bool = False,
) -> None:
    await apply_migrations(dsn)
    if await _count(dsn):
        raise SystemExit("the database already has requests: give the benchmark an empty one")
    period = parse("weekly", week)
    print(f"loading {weeks} weeks of history and {week}, {count:,} requests a week …")
    loaded, loaded_in = await load(dsn, count, weeks, period)
    history_in = await rollup_history(dsn, period, weeks)
    print(f"loaded {loaded:,} requests in {loaded_in:.0f} s; days rolled up in {history_in:.0f} s")
    if pg is not None:
        pg.durable()
    print("measuring with " + ", ".join(f"{k}={v}" for k, v in (await settings(dsn)).items()))
    print(f"load average before: {_uptime()}")
    r = await measure(dsn, week, pg)
    print(f"{r['requests']:,} requests, {r['events']:,} events in the database")
    for day, c in r["daily_rollups"]:
        print(f"  daily rollup {day}:            {c}")
    total = sum(c.wall for _, c in r["daily_rollups"])
    print(f"  all seven daily rollups:          {total:7.2f} s")
    print(
        f"  weekly report from the rollups:   {r['weekly_from_rollups']} "
        f"({r['received']:,} received, {r['open_improvements']:,} improvement tasks open)"
    )
    print(f"  weekly report from scratch:       {r['weekly_from_scratch']} (--refresh)")
    print(f"  forecast (rollups exist):         {r['forecast']}")
    print(f"  open improvements, this query:    {r['open_new'][0]}")
    print(f"  open improvements, before:        {r['open_old'][0]}")
    if r["open_new"][1] != r["open_old"][1]:
        raise SystemExit(f"the two queries disagree: {r['open_new'][1]} != {r['open_old'][1]}")
    print("  sizes: " + ", ".join(f"{k} {v}" for k, v in r["sizes"].items()))
    print(f"load average after: {_uptime()}")
    if profile:
        await _profile_python(dsn, week)
    if plans is not None:
        found = await explain(dsn, week, plans)
        print(f"EXPLAIN (ANALYZE, BUFFERS): plans in {plans}; the slowest statements:")
        for name, ms, top in sorted(found, key=lambda f: -f[1])[:12]:
            print(f"  {ms:9.1f} ms  {name}  — {top[:70]}")
        print(f"  {sum(f[1] for f in found):9.1f} ms  all {len(found)} statements")


async def _profile_python(dsn: str, week: str) -> None:
    """The bench process's own time in the weekly report from the rollups and the
    forecast, by function (cProfile; run after the timed steps, as it slows them)."""
    from unittest import mock

    async def inline(f: Any, /, *args: Any, **kwargs: Any) -> Any:
        return f(*args, **kwargs)  # the forecast's fit, in the profiled thread

    period = parse("weekly", week)
    pool = await create_pool(dsn, min_size=1, max_size=2)
    try:
        with mock.patch("csflow.reports.demand.asyncio.to_thread", inline):
            await _profiled(pool, week, period)
    finally:
        await pool.close()


async def _profiled(pool: Any, week: str, period: Period) -> None:
    import cProfile
    import pstats

    after = period.last_day + timedelta(days=1)
    steps: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
        (
            "weekly report from the rollups",
            lambda: service.publish(pool, "weekly", week, TZ, _now()),
        ),
        ("forecast", lambda: service.produce_forecast(pool, after, TZ, 14, _now())),
    ]
    for name, step in steps:
        prof = cProfile.Profile()
        prof.enable()
        await step()
        prof.disable()
        print(f"cProfile, {name} (this process; waits on PostgreSQL show as I/O):")
        pstats.Stats(prof, stream=sys.stdout).sort_stats("tottime").print_stats(8)


def _now() -> datetime:
    return datetime.now(UTC)


def _uptime() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


async def _count(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        n: int = await conn.fetchval("SELECT count(*) FROM requests")
        return n
    finally:
        await conn.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--requests", type=int, default=10_000, help="requests a week")
    ap.add_argument("--history-weeks", type=int, default=52)
    ap.add_argument("--week", default="2026-W47")
    ap.add_argument("--explain", type=Path, help="write EXPLAIN (ANALYZE, BUFFERS) plans here")
    ap.add_argument(
        "--profile", action="store_true", help="cProfile the report and forecast afterwards"
    )
    ap.add_argument(
        "--durable-load", action="store_true", help="load with durability on as well (slower)"
    )
    args = ap.parse_args()
    with ExitStack() as stack:
        dsn = os.environ.get("DATABASE_URL")
        pg = None
        if not dsn:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="csflow-bench-")))
            pg = BenchPostgres(root, fast_load=not args.durable_load)
            stack.callback(pg.stop)
            dsn = pg.dsn
        asyncio.run(
            run(
                dsn,
                args.requests,
                args.history_weeks,
                args.week,
                pg,
                args.explain,
                args.profile,
            )
        )


if __name__ == "__main__":
    main()
