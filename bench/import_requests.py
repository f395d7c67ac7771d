"""Benchmark: bulk import of N requests recorded offline, imported twice (issue 7).

    python bench/import_requests.py                  # embedded Temporal + PostgreSQL, 10,000
    python bench/import_requests.py --rows 2000 --concurrency 32
    python bench/import_requests.py --rows 500 --history   # each row with its events
    DATABASE_URL=postgresql://… TEMPORAL_ADDRESS=host:7233 python bench/import_requests.py

Generates a CSV of N good rows received over the past week (every channel, category and
priority), plus ~1 % bad rows and ~0.5 % in-file duplicates mixed in, then runs the same
import the CLI runs (`csflow.imports`, through `starter.CsflowClient`) twice: the first
pass creates N requests, the second must find all N already present and create nothing.
With `--history` every row received over an hour ago also brings two events recorded by
hand (the first answer and the plan, in an events file, `csflow import --events`): each is
one more Update per row, replayed with its original time. Both passes are timed;
afterwards PostgreSQL must hold N request keys and Temporal N
workflows on the benchmark's task queue. Without DATABASE_URL/TEMPORAL_ADDRESS it runs
the embedded servers `csflow up` runs (Temporal dev server on a SQLite file, PostgreSQL
18 with default durability). A worker runs during the import, as on a live stack: it
hands out the numbers (the numbering workflow) and runs every request's intake. Given
servers must be empty: request numbers are workflow ids. Results are printed; docs/performance.md
records a run.
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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from temporalio.client import Client

from bench.stack import servers
from csflow.crypto import options
from csflow.imports import COLUMNS, Importer, ImportReport, read_import_file
from csflow.settings import Settings
from csflow.store.migrations import apply_migrations
from csflow.store.pool import create_pool
from starter.client import CsflowClient

CHANNELS = ("phone", "email", "chat", "web", "app", "social")
CATEGORIES = ("complaint", "consultation", "after_sales", "suggestion")
SHANGHAI = ZoneInfo("Asia/Shanghai")  # where the paper forms were filled in


EVENT_HEADER = "external_id,kind,at,actor_id,actor_role,note,measures,eta"


def generate(path: Path, rows: int, seed: int = 7, events: Path | None = None) -> tuple[int, int]:
    """Write the file (and with `events`, each older row's response and plan); return (bad
    rows, duplicate rows) mixed among the `rows` good ones."""
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    names = [c.name for c in COLUMNS]
    lines = [",".join(names)]
    history = [EVENT_HEADER]
    bad = duplicates = 0
    good_lines: list[str] = []
    for i in range(rows):
        received = now - timedelta(minutes=rng.randrange(30, 7 * 24 * 60))
        row = {
            "external_id": f"PAPER-{i:06d}",
            "received_at": received.astimezone(SHANGHAI).isoformat(),
            "customer_id": f"C-{rng.randrange(1, 3000):05d}",
            "customer_name": f"客户 {i}",
            "customer_tier": "vip" if rng.random() < 0.1 else "regular",
            "customer_contact_phone": f"+86 13{rng.randrange(10)} {rng.randrange(10**4):04d} "
            f"{rng.randrange(10**4):04d}",
            "channel": rng.choice(CHANNELS),
            "category": rng.choice(CATEGORIES),
            "priority": rng.choice(("P1", "P2", "P3", "P3")),
            "description": f"Written down during the outage: case {i}",
        }
        line = ",".join(row.get(n, "") for n in names)
        lines.append(line)
        if events is not None and received < now - timedelta(hours=1):
            answered = received + timedelta(minutes=rng.randrange(1, 25))
            planned = answered + timedelta(minutes=rng.randrange(1, 25))
            eta = (now + timedelta(days=3)).astimezone(SHANGHAI).isoformat()
            history += [
                f"{row['external_id']},response,{answered.astimezone(SHANGHAI).isoformat()},"
                "bench.agent,agent,called back,,",
                f"{row['external_id']},plan,{planned.astimezone(SHANGHAI).isoformat()},"
                f"bench.agent,agent,,check the order;call back,{eta}",
            ]
        good_lines.append(line)
        if rng.random() < 0.01:  # a forgotten zone, an unknown channel, no external id
            kind = rng.randrange(3)
            broken = dict(row, external_id=f"BAD-{i:06d}")
            if kind == 0:
                broken["received_at"] = received.strftime("%Y-%m-%d %H:%M:%S")
            elif kind == 1:
                broken["channel"] = "fax"
            else:
                broken["external_id"] = ""
            lines.append(",".join(broken.get(n, "") for n in names))
            bad += 1
        if rng.random() < 0.005 and good_lines:  # the same sheet typed in twice
            lines.append(rng.choice(good_lines))
            duplicates += 1
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    if events is not None:
        events.write_text("\n".join(history) + "\n", encoding="utf-8")
    return bad, duplicates


async def run(
    dsn: str, target: str, rows: int, concurrency: int, workdir: Path, history: bool = False
) -> None:
    await apply_migrations(dsn)
    source = workdir / "outage.csv"
    events = workdir / "outage-events.csv" if history else None
    bad, duplicates = generate(source, rows, events=events)
    t = time.perf_counter()
    parsed = read_import_file(source, events=events)
    replayed = sum(len(r.events) for r in parsed.rows)
    parse_seconds = time.perf_counter() - t
    assert len(parsed.rows) == rows and len(parsed.bad) == bad, (len(parsed.rows), bad)
    assert len(parsed.duplicates) == duplicates
    print(
        f"{source.name}: {parsed.total:,} rows ({rows:,} good, {bad} bad, {duplicates} "
        f"duplicates, {replayed:,} recorded events) read and validated in "
        f"{parse_seconds:.2f} s"
    )

    queue = f"bench-import-{uuid.uuid4().hex[:8]}"
    temporal = await Client.connect(target, **options.client_options(Settings()))
    async with AsyncExitStack() as stack:
        pool = await create_pool(dsn, min_size=1, max_size=min(concurrency, 10))
        stack.push_async_callback(pool.close)
        if await pool.fetchval("SELECT count(*) FROM request_keys"):
            raise SystemExit("the database already has requests: give the benchmark an empty stack")
        # The worker numbers the requests (the numbering workflow) and runs their intake.
        from csflow import logs
        from worker import build_worker

        logs.configure("console", "WARNING")  # one line per notification otherwise

        worker_pool = await create_pool(dsn, min_size=1, max_size=10)
        stack.push_async_callback(worker_pool.close)
        await stack.enter_async_context(build_worker(temporal, queue, worker_pool))
        csflow = CsflowClient(temporal, pool, task_queue=queue)
        importer = Importer(csflow, temporal, pool, concurrency=concurrency, on_progress=_progress)
        first = await importer.run(parsed)
        _line("first pass ", first)
        assert len(first.imported) == rows and not first.failed, first.failed[:5]
        second = await importer.run(read_import_file(source, events=events))
        _line("second pass", second)
        assert len(second.present) == rows and not second.imported and not second.failed

        keys = await pool.fetchval("SELECT count(*) FROM request_keys")
        started = await _workflows(temporal, queue, rows)
        assert keys == rows, keys
        assert started == rows, started
        print(
            f"after both passes: {keys:,} request keys in PostgreSQL, {started:,} "
            f"workflows on task queue {queue}"
        )


def _progress(p: Any) -> None:
    if p.done and (p.done % 500 == 0 or p.done == p.total):
        print(f"\r  {p.done:>6,}/{p.total:,}", end="", flush=True)


def _line(name: str, r: ImportReport) -> None:
    done = len(r.imported) + len(r.present)
    print(
        f"\r{name}: {r.seconds:7.1f} s, {done / max(r.seconds, 1e-9):6.0f} rows/s — "
        f"{len(r.imported):,} imported, {len(r.present):,} already present, "
        f"{len(r.bad)} bad, {len(r.duplicates)} duplicates, {len(r.failed)} failed"
    )


async def _workflows(temporal: Client, queue: str, expected: int) -> int:
    """Visibility catches up after the last start; wait for it rather than mis-count."""
    deadline = time.monotonic() + 120
    while True:
        count = (
            await temporal.count_workflows(
                f"WorkflowType = 'ServiceRequest' AND TaskQueue = '{queue}'"
            )
        ).count
        if count >= expected or time.monotonic() > deadline:
            return count
        await asyncio.sleep(1)


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000, help="good rows in the file")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument(
        "--history", action="store_true", help="rows bring their response and plan as events"
    )
    args = ap.parse_args()
    with servers(from_env=True) as running:
        workdir, dsn, target = running.workdir, running.dsn, running.target
        if not os.environ.get("CSFLOW_KEYRING_FILE"):
            # The worker seals personal data at rest: a throwaway key ring for the run.
            from csflow.crypto.keyring import ensure_dev_ring

            os.environ["CSFLOW_KEYRING_FILE"] = str(workdir / "keyring.json")
            ensure_dev_ring(workdir / "keyring.json")
        print(
            f"PostgreSQL {dsn}, Temporal {target}, concurrency {args.concurrency}, "
            f"{os.cpu_count()} cores"
        )
        asyncio.run(run(dsn, target, args.rows, args.concurrency, workdir, args.history))


if __name__ == "__main__":
    main()
