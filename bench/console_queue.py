"""Benchmark: the console's queue page for 1,000 open requests (issue 15).

    python bench/console_queue.py                      # embedded PostgreSQL, 1,000 open
    DATABASE_URL=postgresql://… python bench/console_queue.py --open 5000 --closed 20000

Loads N open requests (plus closed ones, which the queue must skip) into a freshly
migrated database — mixed priorities, SLA colours, assignees, flags and deadlines — then
renders the pages through the real app in-process (httpx's ASGI transport, no socket), as
a signed-in supervisor: the team queue (every open request read through the API's
listing, sorted by deadline, the soonest 300 drawn), one person's queue, a filtered
queue, the live fragment and the version check the pages poll every second. The time is
server time: from the request entering the app to the last byte of its answer. Results
are printed; docs/performance.md records a run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from csflow.api.app import create_app
from csflow.domain.codes import Role
from csflow.settings import Settings
from csflow.store import tokens
from csflow.store.migrations import apply_migrations
from csflow.store.pool import create_pool

OPEN_STATUSES = [
    "received",
    "assigned",
    "in_progress",
    "escalated",
    "rehandling",
    "awaiting_confirmation",
    "resolved",
    "follow_up_scheduled",
]
CHANNELS = {
    "phone": "TEL",
    "chat": "CHT",
    "email": "EML",
    "app": "APP",
    "social": "SOC",
    "web": "WEB",
}
ASSIGNEES = [f"agent-{i}" for i in range(1, 21)]


def rows(
    open_count: int, closed_count: int, now: datetime, seed: int = 15
) -> list[tuple[Any, ...]]:
    rng = random.Random(seed)
    out = []
    for i in range(open_count + closed_count):
        closed = i >= open_count
        channel = rng.choice(list(CHANNELS))
        priority = rng.choices(["P1", "P2", "P3"], [10, 30, 60])[0]
        received = now - timedelta(minutes=rng.randint(1, 60 * 24 * 5))
        deadline = now + timedelta(minutes=rng.randint(-180, 60 * 24))
        state = "red" if deadline < now else rng.choices(["green", "yellow"], [80, 20])[0]
        flags = ["emotion:angry", "soothe_first"] if rng.random() < 0.1 else []
        out.append(
            (
                f"CS{received:%Y%m%d}-{CHANNELS[channel]}-{100000 + i}",
                f"C-{i}",
                "Li Lei",
                json.dumps({"phone": "+86 138 0000 0000"}),
                "regular",
                channel,
                rng.choice(["complaint", "consultation", "after_sales", "suggestion"]),
                "The parcel arrived broken",
                received,
                "closed" if closed else rng.choice(OPEN_STATUSES),
                priority,
                rng.choice(ASSIGNEES),
                "none" if closed else state,
                None if closed else deadline,
                now if closed else None,
                1 + rng.randint(0, 30),
                flags,
                rng.random() < 0.05,
                rng.random() < 0.1,
            )
        )
    return out


async def load(dsn: str, open_count: int, closed_count: int) -> None:
    now = datetime.now(UTC)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.copy_records_to_table(
            "requests",
            records=rows(open_count, closed_count, now),
            columns=[
                "number",
                "customer_id",
                "customer_name",
                "customer_contact",
                "customer_tier",
                "channel",
                "category",
                "description",
                "received_at",
                "status",
                "priority",
                "assignee",
                "sla_state",
                "next_deadline",
                "closed_at",
                "version",
                "flags",
                "delayed",
                "awaiting_customer",
            ],
        )
        await conn.execute("VACUUM ANALYZE requests")
    finally:
        await conn.close()


async def timed(http: httpx.AsyncClient, path: str, runs: int) -> tuple[float, float, float, int]:
    """Median, 95th percentile and worst server time in ms over `runs` (after one
    warm-up), and the answer's size."""
    size = len((await http.get(path)).content)
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        answer = await http.get(path)
        times.append((time.perf_counter() - began) * 1000)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
    p95 = statistics.quantiles(times, n=20)[-1] if len(times) > 1 else times[0]
    return statistics.median(times), p95, max(times), size


async def run(dsn: str, open_count: int, closed_count: int, runs: int) -> None:
    await apply_migrations(dsn)
    pool = await create_pool(dsn, min_size=1, max_size=4)
    try:
        if await pool.fetchval("SELECT count(*) FROM requests"):
            raise SystemExit("the database already has requests: give the bench an empty one")
        print(f"loading {open_count:,} open and {closed_count:,} closed requests …")
        await load(dsn, open_count, closed_count)
        token, _ = await tokens.issue(pool, name="bench", role=Role.SUPERVISOR, subject="agent-3")
        # Nothing here talks to Temporal: the client connects lazily and is never used.
        app = create_app(Settings(), pool=pool)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://csflow",
                cookies={"csflow_token": token},
                timeout=60,
            ) as http,
        ):
            pages = [
                ("team queue (all open, soonest 300 drawn)", "/console/queue/team"),
                ("team queue, live fragment", "/console/queue/team?fragment=1"),
                ("my queue (one agent's share)", "/console/queue/mine"),
                (
                    "team queue filtered: P1, red-flagged",
                    "/console/queue/team?priority=P1&flag=soothe_first",
                ),
                ("version check (polled every second)", "/console/version"),
            ]
            print(f"{runs} runs each, server time in ms (median / p95 / worst), size:")
            for label, path in pages:
                median, p95, worst, size = await timed(http, path, runs)
                print(
                    f"  {label:<44} {median:6.1f} / {p95:6.1f} / {worst:6.1f}"
                    f"   {size / 1024:6.1f} kB"
                )
    finally:
        await pool.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--open", type=int, default=1_000)
    ap.add_argument("--closed", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=50)
    args = ap.parse_args()
    with ExitStack() as stack:
        dsn = os.environ.get("DATABASE_URL")
        if not dsn:
            from csflow.embedded.ports import free_port
            from csflow.embedded.postgres import EmbeddedPostgres

            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="csflow-bench-")))
            pg = stack.enter_context(EmbeddedPostgres(root / "pg", free_port()))
            pg.create_database("csflow")
            dsn = pg.dsn("csflow")
        asyncio.run(run(dsn, args.open, args.closed, args.runs))


if __name__ == "__main__":
    main()
