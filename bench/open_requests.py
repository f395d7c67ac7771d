"""Benchmark: N requests open at once, their clocks running (issue 17).

    python bench/open_requests.py                          # N=1,000 on an embedded stack
    python bench/open_requests.py --requests 10000 --first-response 20m    # CI-sized
    python bench/open_requests.py --admission on --requests 100000 --first-response 4h \
        --plan 8h --probe-every 25 --probe-clocks 30m --until intake --settle 600 \
        --explain 0 --footprint-every 600                  # the issue's size, with probes

(The first-response and plan clocks should outlast the intake, ~10–20 requests/s end to
end here, or every firing falls due while intake runs; `--probe-every K` then makes
every K-th request a P2 probe whose clocks, `--probe-clocks`, do fall due.)

Starts its own embedded stack (Temporal dev server on a SQLite file, PostgreSQL) in a
temporary folder, a worker in this process with a policy whose P3 clocks are short
(first response `--first-response`, 2 minutes by default; plan, resolution and progress
cadence longer), generates a key ring and actor key as bench/lifecycle.py does (both with
bench/stack.py), then opens N P3 requests through `starter.CsflowClient.create(wait=False)`,
C at a time, and leaves them open. It reports:

- the start rate (calls) and the end-to-end intake rate (until the worker has persisted
  every intake row);
- once all N are open: Temporal server RSS, this process's RSS (the worker and the
  client), the SQLite file (with its WAL) and the PostgreSQL database's growth — each
  per open request;
- the lateness of every SLA warning and breach that fell due while the requests were
  open: the time the worker persisted the firing (`request_events.recorded_at`) minus
  the instant it fell due (`at`, recorded exactly) — p50, p99 and max, separately for
  the firings due while intake was running and those due after it (at rest).

It waits until the last request's first-response breach has fallen due (plus
`--settle` seconds) before reading the lateness — or, with `--until intake`, only
`--settle` seconds after the intake (the footprint of N open, for an N whose clocks
would take hours to fall due; the lateness is then of what fell due so far); then
prints the SQLite file by kind (bench/storage.py) and, with `--explain K`, where a late
firing's seconds went (bench/lateness.py). `TEMPORAL_ADDRESS` and `DATABASE_URL`, when
set, name servers to measure instead of starting them. docs/performance.md records the
runs.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import time
import uuid
from collections.abc import Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil

from bench import storage
from bench.figures import quantiles
from bench.lateness import where_lateness_goes
from bench.stack import bench_intake, generated_keys, servers, signed_client, tree_rss

if TYPE_CHECKING:
    from csflow.api.intake_rate import AdaptiveRate


async def _watch_rate(steered: AdaptiveRate, began: float) -> None:
    """Print the steered intake rate whenever it changes (CSFLOW_INTAKE_CONTROL=rate)."""
    seen: float | None = steered.rate
    while True:
        await asyncio.sleep(0.5)
        if steered.rate != seen:
            seen = steered.rate
            shown = "unlimited" if seen is None else f"{seen:.1f}/s"
            why = steered.last_change or ""
            at = time.perf_counter() - began
            print(f"  {at:6.0f} s  intake rate {shown} ({why})", flush=True)


async def _until(pool: Any, rows: int) -> None:
    """Until the worker has persisted `rows` intakes (PostgreSQL has nothing to await)."""
    while await pool.fetchval("SELECT count(*) FROM requests") < rows:  # noqa: ASYNC110
        await asyncio.sleep(0.5)


async def _loop_lag(out: list[tuple[float, float]], every: float = 0.05) -> None:
    """How late this process's event loop wakes a 50 ms sleep, appended as (when, lag):
    the worker's activations, local activities and the client share that loop, so its
    lag is a delay every firing meets in this process."""
    while True:
        start = time.perf_counter()
        await asyncio.sleep(every)
        out.append((start, time.perf_counter() - start - every))


def full_collections(out: list[tuple[float, float]]) -> Callable[[str, dict[str, Any]], None]:
    """A `gc.callbacks` hook appending (when, seconds) for each full (generation 2)
    collection of this process: the whole process, the worker's activations included,
    stands still for it (csflow/collector.py)."""
    started = [0.0]

    def hook(phase: str, info: dict[str, Any]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            out.append((started[0], time.perf_counter() - started[0]))

    return hook


def _pauses(found: list[tuple[float, float]]) -> str:
    if not found:
        return "none"
    seconds = [s for _, s in found]
    return f"{len(found)}, longest {max(seconds):.2f} s, {sum(seconds):.1f} s in all"


def _sqlite_bytes(db: Path) -> int:
    return sum(p.stat().st_size for p in db.parent.glob(db.name + "*") if p.is_file())


def policy_text(first_response: str, plan: str = "30m", probe_clocks: str | None = None) -> str:
    """P3 clocks short enough that warnings (at 50 % and 75 %) and breaches fall due
    during the run; with `probe_clocks`, P2's first-response and plan clocks (the probes'),
    the rest of P2 long, and P3's resolution and progress cadence 24 h — a probe run's P3
    clocks are meant to stay silent, and at 2 h their warnings fell due an hour into a
    50,000 run, every request's at once; the other priorities keep the defaults."""
    rest = "24h" if probe_clocks else "2h"
    text = (
        "[sla.P3]\n"
        f'first_response = "{first_response}"\n'
        f'plan = "{plan}"\nresolution = "{rest}"\nprogress_cadence = "{rest}"\n'
    )
    if probe_clocks:
        text += (
            "[sla.P2]\n"
            f'first_response = "{probe_clocks}"\nplan = "{probe_clocks}"\n'
            'resolution = "24h"\nprogress_cadence = "24h"\n'
        )
    return text


async def run(
    args: argparse.Namespace,
    dsn: str,
    target: str,
    server_pid: int | None,
    sqlite: Path,
    policy_file: Path,
) -> None:
    from csflow import logs
    from csflow.api.admission import Admission, Saturated
    from csflow.config.policy import load_policy
    from csflow.domain.events import EventKind
    from csflow.settings import Settings
    from csflow.store.migrations import apply_migrations
    from csflow.store.pool import create_pool
    from starter.client import CsflowClient, TemporalUnavailable
    from worker import build_worker

    logs.configure("console", "ERROR")  # every breach logs a notification otherwise
    await apply_migrations(dsn)
    ring = generated_keys(args.encryption)
    queue = f"bench-open-{uuid.uuid4().hex[:8]}"
    settings = Settings(CSFLOW_TASK_QUEUE=queue)
    policy = load_policy(policy_file)
    first_response = policy.sla.P3.first_response.duration
    client = await signed_client(target, ring, settings)
    n = args.requests

    def intake(i: int) -> Any:
        probe = args.probe_every and i >= 0 and i % args.probe_every == 0
        return bench_intake(i, "open", "P2" if probe else "P3")

    async with AsyncExitStack() as stack:
        pool = await create_pool(dsn, min_size=1, max_size=10)
        stack.push_async_callback(pool.close)
        await stack.enter_async_context(
            build_worker(client, queue, pool, policy=policy, settings=settings)
        )
        csflow = CsflowClient(client, task_queue=queue, number_wait=120.0)
        # One request first: worker caches, numbering shard and tables exist; the
        # footprint per request is measured from here.
        await csflow.create(intake(-1), wait=True)
        await _until(pool, 1)
        db_before = await pool.fetchval("SELECT pg_database_size(current_database())")
        sqlite_before = _sqlite_bytes(sqlite)
        kinds_before = storage.breakdown(sqlite)
        server_before, me_before = tree_rss(server_pid), psutil.Process().memory_info().rss

        lags: list[tuple[float, float]] = []
        probe = asyncio.create_task(_loop_lag(lags))
        stack.callback(probe.cancel)
        full: list[tuple[float, float]] = []
        gc.callbacks.append(hook := full_collections(full))
        stack.callback(gc.callbacks.remove, hook)

        async def footprint_every(seconds: float) -> None:
            """`--footprint-every S`: the footprint so far, each S seconds — a long run
            stopped early still says what it cost up to there."""
            while True:
                await asyncio.sleep(seconds)
                opened = await pool.fetchval("SELECT count(*) FROM requests") - 1
                if opened <= 0:
                    continue
                db = await pool.fetchval("SELECT pg_database_size(current_database())")
                server = tree_rss(server_pid)
                me = psutil.Process().memory_info().rss
                print(
                    f"  [{datetime.now(UTC):%H:%M:%S}] {opened:,} open: per request "
                    f"server RSS {(server - server_before) / opened / 1000:.1f} kB, "
                    f"worker+client RSS {(me - me_before) / opened / 1000:.1f} kB, SQLite "
                    f"{(_sqlite_bytes(sqlite) - sqlite_before) / opened / 1000:.1f} kB, "
                    f"PostgreSQL {(db - db_before) / opened / 1000:.1f} kB",
                    flush=True,
                )

        if args.footprint_every:
            snapshots = asyncio.create_task(footprint_every(args.footprint_every))
            stack.callback(snapshots.cancel)
        todo = iter(range(n))
        began = time.perf_counter()
        began_at = datetime.now(UTC)

        # `--admission on`: each create first passes the API's own gate (csflow/api/
        # admission.py, limits from the environment's CSFLOW_INTAKE_* or their defaults),
        # a 429 waiting its Retry-After as a careful caller does — intake then runs at the
        # highest rate the stack accepts, not the highest the client can push.
        gate = Admission.from_settings(settings, client, pool) if args.admission == "on" else None
        held = retried = 0  # 429s waited out; 503s ("unavailable") tried again
        if gate is not None and gate.steered is not None:
            watch = asyncio.create_task(_watch_rate(gate.steered, began))
            stack.callback(watch.cancel)
        # `--last K --last-limit S`: the last K creates pass a gate of their own whose
        # lateness limit is S — N - K open fast under the configured limit, then intake
        # at N open under the limit a deployment keeping its promise would set.
        last_from = n - args.last if args.last else n
        last_gate = None
        if args.last and args.admission == "on":
            limited = settings.model_copy(update={"intake_max_lateness": args.last_limit})
            last_gate = Admission.from_settings(limited, client, pool)
        last_began: list[datetime] = []  # when the first of the last K was admitted

        async def lane() -> None:
            nonlocal held, retried
            for i in todo:
                door = last_gate if last_gate is not None and i >= last_from else gate
                if i >= last_from and not last_began:
                    last_began.append(datetime.now(UTC))
                    print(f"  the last {args.last:,} from here (limit {args.last_limit:g} s)")
                    if last_gate is not None and last_gate.steered is not None:
                        watch_last = asyncio.create_task(_watch_rate(last_gate.steered, began))
                        stack.callback(watch_last.cancel)
                while door is not None:
                    try:
                        await door.admit()
                        break
                    except Saturated as err:
                        held += 1
                        await asyncio.sleep(err.retry_after)
                made = intake(i)
                while True:
                    try:
                        await csflow.create(made, wait=False)
                        break
                    except TemporalUnavailable:
                        # What the API answers 503 (numbering busy, Temporal unreachable):
                        # nothing was started; the same external id again, as a careful
                        # caller retries, creates the request once.
                        retried += 1
                        await asyncio.sleep(1.0)
                if i and i % 1000 == 0:
                    print(f"  {i:,} started", flush=True)

        async with asyncio.TaskGroup() as group:
            for _ in range(min(args.concurrency, n)):
                group.create_task(lane())
        calls = time.perf_counter() - began
        await _until(pool, n + 1)
        intake_seconds = time.perf_counter() - began
        intake_end = datetime.now(UTC)
        print(
            f"{n:,} requests started in {calls:.1f} s ({n / calls:.1f}/s); intakes "
            f"persisted after {intake_seconds:.1f} s ({n / intake_seconds:.1f}/s end to end); "
            f"admission {args.admission}, {held:,} held back (429), {retried:,} retried "
            "after 'unavailable' (503)",
            flush=True,
        )
        if gate is not None and gate.steered is not None:  # CSFLOW_INTAKE_CONTROL=rate
            end_rate = gate.steered.rate
            print(
                f"intake rate (CSFLOW_INTAKE_CONTROL=rate): {gate.steered.cuts} cuts, "
                f"{'unlimited' if end_rate is None else f'{end_rate:.1f}/s'} at the end",
                flush=True,
            )

        # Every first-response clock (and its warnings) falls due within this wait —
        # or, `--until intake`, only the footprint is read, `--settle` s after intake.
        last_due = intake_end + first_response if args.until == "breach" else intake_end
        wait = max(0.0, (last_due - datetime.now(UTC)).total_seconds()) + args.settle
        what = "the last first-response breach" if args.until == "breach" else "the footprint"
        print(f"waiting {wait:.0f} s for {what} …", flush=True)
        await asyncio.sleep(wait)

        open_now = await pool.fetchval(
            "SELECT count(*) FROM requests WHERE status NOT IN ('closed', 'cancelled')"
        )
        server_rss, me_rss = tree_rss(server_pid), psutil.Process().memory_info().rss
        db_after = await pool.fetchval("SELECT pg_database_size(current_database())")
        sqlite_after = _sqlite_bytes(sqlite)
        rows = await pool.fetch(
            "SELECT at, recorded_at FROM request_events WHERE kind = ANY($1) AND at >= $2",
            [EventKind.SLA_WARNING.value, EventKind.SLA_BREACHED.value],
            began_at,
        )
        during = [
            (r["recorded_at"] - r["at"]).total_seconds() for r in rows if r["at"] < intake_end
        ]
        after = [
            (r["recorded_at"] - r["at"]).total_seconds() for r in rows if r["at"] >= intake_end
        ]
        per = max(open_now - 1, 1)  # the warm-up request is in the baseline
        print(
            f"{open_now:,} open: Temporal server RSS {server_rss / 1e6:.0f} MB "
            f"({(server_rss - server_before) / per / 1000:.1f} kB per request over its "
            f"{server_before / 1e6:.0f} MB at start), worker+client RSS {me_rss / 1e6:.0f} MB "
            f"({(me_rss - me_before) / per / 1000:.1f} kB per request), SQLite "
            f"{sqlite_after / 1e6:.1f} MB ({(sqlite_after - sqlite_before) / per / 1000:.1f} kB "
            f"per request), PostgreSQL +{(db_after - db_before) / 1e6:.1f} MB "
            f"({(db_after - db_before) / per / 1000:.1f} kB per request)"
        )
        # Off the event loop: reading a file of gigabytes through `dbstat` takes tens of
        # seconds, and the worker in this process must not stand still meanwhile.
        kinds = await asyncio.to_thread(storage.breakdown, sqlite)
        if kinds:  # the embedded server's file (none for a server elsewhere)
            print(
                "  SQLite main file by kind, per request: "
                + ", ".join(
                    f"{kind} {(size - kinds_before.get(kind, 0)) / per / 1000:.1f} kB"
                    for kind, size in kinds.items()
                )
                + " (pages still in the WAL not counted)"
            )
        print(f"firing lateness while intake ran: {quantiles(during)}")
        print(f"firing lateness at rest:          {quantiles(after)}")
        if last_began:
            t0 = last_began[0]
            last = [
                (r["recorded_at"] - r["at"]).total_seconds()
                for r in rows
                if t0 <= r["at"] < intake_end
            ]
            rate = args.last / max((intake_end - t0).total_seconds(), 1e-9)
            print(
                f"  … while the last {args.last:,} ran ({rate:.1f}/s end to end, lateness "
                f"limit {args.last_limit:g} s): {quantiles(last)}"
            )
        ended = began + intake_seconds
        print(
            "this process's event loop (worker and client), late by: while intake ran "
            f"{quantiles([lag for t, lag in lags if t < ended])}; after "
            f"{quantiles([lag for t, lag in lags if t >= ended])}"
        )
        print(
            f"full garbage collections (CSFLOW_WORKER_GC_INTERVAL={settings.worker_gc_interval:g}"
            f" s): while intake ran {_pauses([f for f in full if f[0] < ended])}; after "
            f"{_pauses([f for f in full if f[0] >= ended])}"
        )
        if args.explain:
            sample = await pool.fetch(
                "SELECT number FROM requests ORDER BY random() LIMIT $1", args.explain
            )
            stages = await where_lateness_goes(client, [r["number"] for r in sample])
            print(f"where a firing's time goes ({args.explain} requests' histories):")
            for stage, values in stages.items():
                print(f"  {stage:<44} {quantiles(values)}")
        print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--requests", type=int, default=1000, help="N: requests to open")
    ap.add_argument("--concurrency", type=int, default=16, help="creates in flight")
    ap.add_argument(
        "--first-response", default="2m", help="P3 first-response clock (policy duration)"
    )
    ap.add_argument("--plan", default="30m", help="P3 plan clock (policy duration)")
    ap.add_argument(
        "--probe-every",
        type=int,
        default=0,
        metavar="K",
        help="every K-th request is a probe: P2, its first-response and plan clocks "
        "--probe-clocks (0: none)",
    )
    ap.add_argument("--probe-clocks", default="30m", help="the probes' two clocks")
    ap.add_argument("--settle", type=float, default=30.0, help="seconds after the last breach")
    ap.add_argument(
        "--footprint-every",
        type=float,
        default=0.0,
        metavar="S",
        help="also print the footprint per open request every S seconds (0: only at the end)",
    )
    ap.add_argument(
        "--until",
        choices=("breach", "intake"),
        default="breach",
        help="read the figures after the last first-response breach (default), or --settle "
        "seconds after intake: the footprint of N open, with only the firings due so far",
    )
    ap.add_argument("--encryption", choices=("on", "off"), default="on")
    ap.add_argument(
        "--last",
        type=int,
        default=0,
        metavar="K",
        help="the last K requests pass an admission gate of their own with --last-limit as "
        "its lateness limit; the firings due while they ran are reported apart (0: none)",
    )
    ap.add_argument(
        "--last-limit",
        type=float,
        default=0.7,
        metavar="S",
        help="the lateness limit (CSFLOW_INTAKE_MAX_LATENESS) of the last K's gate",
    )
    ap.add_argument(
        "--admission",
        choices=("on", "off"),
        default="off",
        help="pass each create through the API's admission gate (429 + Retry-After)",
    )
    ap.add_argument(
        "--explain",
        type=int,
        default=20,
        help="requests whose histories are read to say where a firing's time goes (0: none)",
    )
    args = ap.parse_args()
    with servers(data_dir=True, from_env=True) as running:
        policy_file = running.workdir / "policy.toml"
        policy_file.write_text(
            policy_text(
                args.first_response, args.plan, args.probe_clocks if args.probe_every else None
            )
        )
        print(
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; N={args.requests}, C={args.concurrency}, "
            f"P3 first response {args.first_response}, plan {args.plan}, "
            + (
                f"every {args.probe_every}th a P2 probe (clocks {args.probe_clocks}), "
                if args.probe_every
                else ""
            )
            + f"encryption {args.encryption}, "
            f"{os.cpu_count()} cores, load average "
            f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}",
            flush=True,
        )
        asyncio.run(
            run(
                args,
                running.dsn,
                running.target,
                running.server_pid,
                running.sqlite,
                policy_file,
            )
        )


if __name__ == "__main__":
    main()
