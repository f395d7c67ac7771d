"""Benchmark: a csflow lifecycle beside Temporal's floor of the same shape (issue 17).

    python bench/lifecycle.py                                 # N=100, C=16, R=3, sealed
    python bench/lifecycle.py --encryption both               # sealed and plaintext csflow
    python bench/lifecycle.py --lifecycles 300 --concurrency 32 --rounds 3
    python bench/lifecycle.py --only csflow --rounds 1        # e.g. under a profiler
    python bench/lifecycle.py --measure create                # creates only, both sides

One run starts its own embedded stack in a temporary folder, on free ports: the
Temporal dev server `csflow up` runs (SQLite file, WAL) and an embedded PostgreSQL.
On that one server it runs, per round, one pass of each of:

- `floor` — a bare workflow with the shape of a csflow lifecycle and nothing else
  (bench/floor.py): started, then six Updates (receipt, plan, progress, resolve, confirm,
  follow-up), three no-op activities at the start and two behind each Update (15 in
  all), about 20 workflow tasks; Temporal's default JSON converter, no codec, no
  interceptors. What Temporal itself costs for this shape on this machine.
- `csflow` — the real thing through the Python starter (`starter.CsflowClient`) against
  the real worker (`worker.build_worker`, default policy): create (a number from the
  numbering workflow, the start, the `receipt` Update), `submit_plan`, `post_progress`,
  `resolve`, `confirm`, `record_follow_up`, then the workflow's result (closed).
  Payloads sealed with a key ring generated for the run and actors signed with a
  generated actor key, as in production; `--encryption off` runs csflow in plaintext
  (CSFLOW_ENCRYPTION=off) and `--encryption both` runs both, on two task queues of
  the same worker process and server, so one run compares them.

Each pass runs N lifecycles, C at a time, and reports lifecycles/s (first start to last
result), then CPU seconds per lifecycle of the Temporal server process, the PostgreSQL
processes (postmaster, backends, and backends that exited meanwhile) and this process
(the client and the worker: csflow's starter and worker live here, as do the floor's),
and, from a sample of the pass's workflows, history bytes (the server's own
`history_size_bytes` — what it stores — and the length of `fetch_history()` as compact
JSON), events, workflow tasks and
activities per lifecycle (local activities counted by their markers, patch markers not),
which event types, activities and Updates its bytes are in, and how long workflow tasks
waited to be picked up (schedule-to-start p50/p99/max, and WORKFLOW_TASK_TIMED_OUT events
per lifecycle — what a sticky timeout shorter than the worker's backlog causes). The
worker (csflow's and the floor's) runs with CSFLOW_WORKER_STICKY_TIMEOUT and
CSFLOW_WORKER_MAX_CACHED_WORKFLOWS from the environment, as `csflow worker` does; set
them to compare. The client+worker CPU is also split by thread: the asyncio loop, the other Python
threads, the SDK's native (Rust) threads. Passes alternate their order each round so a shared
machine's drifting load biases none; the summary is the median of R rounds per variant
and the ratio to the floor. The numbering workflow's own history (a few events per ask
on a long-lived shard) is not counted in the lifecycle's. docs/performance.md records a
run.

`--measure create` times creates instead of lifecycles: the floor's start and its first
Update (`receipt`, behind the three intake activities) against `CsflowClient.create`
(number, start, the `receipt` Update once the intake is persisted); both are left open.

`--profile-summary RAW` runs nothing: it reads a `py-spy record --gil --format raw` file
taken of a run (attach with `-p PID` once the run prints "-- round", so that start-up is
left out) and prints where the samples went, by layer (sandbox, SDK runtime, payload
conversion, pydantic, codec, SQL, csflow code, ...) and by function (bench/profile_summary.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from temporalio.client import Client
from temporalio.worker import Worker

if TYPE_CHECKING:  # imported where used: bench/ is on sys.path only once main() runs
    from bench.stack import Processes
    from csflow.contracts import RequestIntake

# ---- measuring ------------------------------------------------------------------------


@dataclass
class Pass:
    variant: str
    n: int
    seconds: float
    cpu: dict[str, float]  # seconds per lifecycle
    history_json: float  # bytes per lifecycle (mean of the sample)
    history_server: float  # the server's history_size_bytes, mean of the sample
    events: float
    workflow_tasks: float
    activities: float
    local_activities: float
    latencies: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.n / self.seconds


async def _histories(client: Client, ids: list[str]) -> dict[str, float]:
    json_bytes: list[int] = []
    server_bytes: list[int] = []
    kinds: list[Counter[str]] = []
    by_kind: Counter[str] = Counter()  # bytes by event type, activity or Update name
    waits: list[float] = []  # workflow task schedule-to-start, seconds
    for wid in ids:
        handle = client.get_workflow_handle(wid)
        history = await handle.fetch_history()
        scheduled: dict[int, float] = {}
        for e in history.events:
            by_kind[_event_label(e)] += e.ByteSize()
            at = e.event_time.seconds + e.event_time.nanos / 1e9
            kind = _event_kind(e)
            if kind == "WORKFLOW_TASK_SCHEDULED":
                scheduled[e.event_id] = at
            elif kind == "WORKFLOW_TASK_STARTED":
                started = e.workflow_task_started_event_attributes.scheduled_event_id
                if started in scheduled:
                    waits.append(at - scheduled[started])
        # Compact JSON, as a history export would be written (`to_json()` indents).
        json_bytes.append(len(json.dumps(history.to_json_dict(), separators=(",", ":"))))
        kinds.append(Counter(_event_kind(e) for e in history.events))
        kinds[-1]["LOCAL_ACTIVITY"] = sum(
            1
            for e in history.events
            if _event_kind(e) == "MARKER_RECORDED"
            and e.marker_recorded_event_attributes.marker_name == "core_local_activity"
        )
        described = await handle.describe()
        server_bytes.append(described.raw_description.workflow_execution_info.history_size_bytes)
    for label, size in by_kind.most_common(12):
        print(f"    {size / len(ids) / 1000:6.1f} kB/lifecycle  {label}")
    return {
        "json": statistics.mean(json_bytes),
        "server": statistics.mean(server_bytes),
        "events": statistics.mean(sum(k.values()) for k in kinds),
        "wft": statistics.mean(k["WORKFLOW_TASK_COMPLETED"] for k in kinds),
        "act": statistics.mean(k["ACTIVITY_TASK_SCHEDULED"] for k in kinds),
        "local": statistics.mean(k["LOCAL_ACTIVITY"] for k in kinds),
        "wft_wait_p50": _quantile(waits, 0.5),
        "wft_wait_p99": _quantile(waits, 0.99),
        "wft_wait_max": max(waits, default=0.0),
        "wft_timeouts": statistics.mean(k["WORKFLOW_TASK_TIMED_OUT"] for k in kinds),
    }


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _event_label(event: Any) -> str:
    """The event type, with the activity type or Update name that says whose bytes."""
    kind = _event_kind(event)
    if kind == "ACTIVITY_TASK_SCHEDULED":
        return f"{kind} {event.activity_task_scheduled_event_attributes.activity_type.name}"
    if kind == "WORKFLOW_EXECUTION_UPDATE_ACCEPTED":
        name = event.workflow_execution_update_accepted_event_attributes.accepted_request
        return f"{kind} {name.input.name}"
    return kind


def _event_kind(event: Any) -> str:
    from temporalio.api.enums.v1 import EventType

    return str(EventType.Name(event.event_type)).removeprefix("EVENT_TYPE_")


async def timed_pass(
    variant: str,
    n: int,
    concurrency: int,
    one: Callable[[int], Awaitable[str]],
    procs: Processes,
    client: Client,
    sample: int,
) -> Pass:
    """Run `one(i)` (a whole lifecycle, returning its workflow id) for i < n, C at a time."""
    ids: list[str] = []
    latencies: list[float] = []
    todo = iter(range(n))

    async def lane() -> None:
        for i in todo:
            t = time.perf_counter()
            ids.append(await one(i))
            latencies.append(time.perf_counter() - t)

    before = procs.snapshot()
    began = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for _ in range(min(concurrency, n)):
            group.create_task(lane())
    seconds = time.perf_counter() - began
    after = procs.snapshot()
    cpu = {k: (after[k] - before[k]) / n for k in before}
    h = await _histories(client, ids[: max(1, sample)])
    result = Pass(
        variant,
        n,
        seconds,
        cpu,
        h["json"],
        h["server"],
        h["events"],
        h["wft"],
        h["act"],
        h["local"],
        latencies,
    )
    print(
        f"{variant:<16} {n:>5} lifecycles in {seconds:6.1f} s  {result.rate:6.2f}/s  "
        f"p50 {statistics.median(latencies):5.2f} s  | CPU s/lifecycle: server "
        f"{cpu['server']:.3f}, postgres {cpu['postgres']:.3f}, client+worker "
        f"{cpu['bench']:.3f} (loop {cpu['loop']:.3f}, other Python threads "
        f"{cpu['py-threads']:.3f}, SDK core {cpu['native']:.3f})  | "
        f"history {h['server'] / 1000:5.1f} kB server, "
        f"{h['json'] / 1000:5.1f} kB JSON, {h['events']:.0f} events, "
        f"{h['wft']:.0f} WFTs, {h['act']:.0f} activities + {h['local']:.0f} local  | "
        f"WFT schedule-to-start p50 {h['wft_wait_p50']:.2f} s, p99 {h['wft_wait_p99']:.2f} s, "
        f"max {h['wft_wait_max']:.2f} s, {h['wft_timeouts']:.1f} WFT timeouts/lifecycle",
        flush=True,
    )
    return result


# ---- the run --------------------------------------------------------------------------


@dataclass(frozen=True)
class Lane:
    """One variant the rounds time: a label, a whole lifecycle `one(i)`, its client."""

    label: str
    one: Callable[[int], Awaitable[str]]
    client: Client


async def run(args: argparse.Namespace, dsn: str, target: str, procs: Processes) -> None:
    from bench.stack import generated_keys
    from csflow import logs
    from csflow.settings import Settings
    from csflow.store.migrations import apply_migrations
    from csflow.store.pool import create_pool

    logs.configure("console", "WARNING")  # one line per notification otherwise
    await apply_migrations(dsn)
    ring = generated_keys(args.encryption)  # into the environment, before Settings reads it
    settings = Settings()
    run_id = uuid.uuid4().hex[:8]
    plain = await Client.connect(target)
    variants = await _csflow_clients(args, target, ring, settings)

    async with AsyncExitStack() as stack:
        pool = await create_pool(dsn, min_size=1, max_size=10)
        stack.push_async_callback(pool.close)
        lanes: list[Lane] = []
        if args.only in ("both", "floor"):
            lanes.append(await _floor_lane(args, stack, plain, settings, f"bench-floor-{run_id}"))
        for label, client in variants.items():
            queue = f"bench-lifecycle-{run_id}-{len(lanes)}"
            lanes.append(await _csflow_lane(args, stack, label, client, pool, settings, queue))
        if lanes and lanes[0].label == "floor":
            await lanes[0].one(0)  # warm, as each csflow lane was when it was built
        summarise(await _rounds(args, lanes, procs))


async def _csflow_clients(
    args: argparse.Namespace, target: str, ring: Any, settings: Any
) -> dict[str, Client]:
    """csflow's clients, as production builds them: payloads sealed with the run's key
    ring and actors signed; plaintext as well or instead with --encryption."""
    from bench.stack import signed_client

    variants: dict[str, Client] = {}
    if args.only in ("both", "csflow"):
        if args.encryption in ("on", "both"):
            variants["csflow (sealed)"] = await signed_client(target, ring, settings)
        if args.encryption in ("off", "both"):
            variants["csflow (plain)"] = await signed_client(target, None, settings)
    return variants


async def _floor_lane(
    args: argparse.Namespace, stack: AsyncExitStack, plain: Client, settings: Any, queue: str
) -> Lane:
    """The floor's worker on its own task queue, and one floor lifecycle (or create)."""
    # Imported here, not at the top: bench/ is on sys.path only once main() runs. Its
    # own module, so the sandbox re-imports the floor alone for each run, not this file.
    from bench import floor as floor_module

    await stack.enter_async_context(
        Worker(
            plain,
            task_queue=queue,
            workflows=[floor_module.FloorWorkflow],
            activities=[floor_module.floor_step],
            # As csflow's worker (CSFLOW_WORKER_STICKY_TIMEOUT, ..._MAX_CACHED_WORKFLOWS).
            sticky_queue_schedule_to_start_timeout=timedelta(
                seconds=settings.worker_sticky_timeout
            ),
            max_cached_workflows=settings.worker_max_cached_workflows,
        )
    )

    async def floor(i: int) -> str:
        handle = await plain.start_workflow(
            floor_module.FloorWorkflow.run,
            f"F-{i}",
            id=f"floor-{uuid.uuid4().hex}",
            task_queue=queue,
        )
        updates = floor_module.FLOOR_UPDATES
        for name in updates[:1] if args.measure == "create" else updates:
            await handle.execute_update(floor_module.FloorWorkflow.step, name)
        if args.measure == "create":
            return handle.id  # started and answered its receipt: left open
        await handle.result()
        return handle.id

    return Lane("floor", floor, plain)


def _intake(i: int) -> RequestIntake:
    """The i-th request: a P3 consultation from one of 997 customers, channels in turn."""
    from bench.stack import ADDRESS, bench_intake

    return bench_intake(i, rotate_channels=True, description=ADDRESS)


async def _csflow_lane(
    args: argparse.Namespace,
    stack: AsyncExitStack,
    label: str,
    client: Client,
    pool: Any,
    settings: Any,
    queue: str,
) -> Lane:
    """csflow's worker on its own task queue, and one whole lifecycle through the
    starter: create, plan, progress, resolve, confirm, follow-up, the closed result.
    Runs one first, so that the numbering shards exist and the caches are warm."""
    from csflow.contracts import (
        Actor,
        ConfirmCommand,
        FollowUpRecord,
        PlanCommand,
        ProgressCommand,
        ResolveCommand,
    )
    from csflow.domain.codes import Role
    from starter.client import CsflowClient
    from worker import build_worker

    await stack.enter_async_context(build_worker(client, queue, pool, settings=settings))
    csflow = CsflowClient(client, pool, task_queue=queue, receipt_wait=120.0, number_wait=120.0)
    agent = Actor(id="agent-007", role=Role.AGENT)
    customer = Actor(id="cust-1", role=Role.CUSTOMER)

    async def lifecycle(i: int) -> str:
        created = await csflow.create(_intake(i))
        n = created.number
        if created.view is None:
            raise RuntimeError(f"{n}: no receipt within the wait")
        if args.measure == "create":
            return n  # numbered, started, intake persisted: left open
        eta = datetime.now(UTC) + timedelta(days=2)
        await csflow.submit_plan(
            n, PlanCommand(actor=agent, measures=["update the address"], eta=eta)
        )
        await csflow.post_progress(n, ProgressCommand(actor=agent, note="courier informed"))
        await csflow.resolve(n, ResolveCommand(actor=agent, summary="address changed"))
        view = await csflow.confirm(n, ConfirmCommand(actor=customer, satisfied=True))
        if view.follow_up is None:
            raise RuntimeError(f"{n}: no follow-up scheduled after confirmation")
        await csflow.record_follow_up(
            n,
            FollowUpRecord(
                actor=Actor(id=view.follow_up.owner, role=Role.FOLLOW_UP), score=5, nps=9
            ),
        )
        await client.get_workflow_handle(n).result()
        return n

    await lifecycle(0)
    return Lane(label, lifecycle, client)


async def _rounds(
    args: argparse.Namespace, lanes: list[Lane], procs: Processes
) -> dict[str, list[Pass]]:
    """R rounds of one pass per lane, the order reversed every other round so that a
    machine's drifting load biases no lane."""
    results: dict[str, list[Pass]] = {lane.label: [] for lane in lanes}
    for r in range(args.rounds):
        print(
            f"-- round {r + 1}/{args.rounds}  (load average "
            f"{' '.join(f'{x:.1f}' for x in os.getloadavg())})",
            flush=True,
        )
        for lane in lanes if r % 2 == 0 else lanes[::-1]:
            results[lane.label].append(
                await timed_pass(
                    lane.label,
                    args.lifecycles,
                    args.concurrency,
                    lane.one,
                    procs,
                    lane.client,
                    args.history_sample,
                )
            )
    return results


def summarise(results: dict[str, list[Pass]]) -> None:
    """One markdown row per variant: medians over the rounds, ratio to the floor's."""

    def med(label: str, get: Callable[[Pass], float]) -> float:
        return statistics.median(get(p) for p in results[label])

    floor_rate = med("floor", lambda p: p.rate) if "floor" in results else None
    print(
        f"\nmedians of {len(next(iter(results.values())))} rounds "
        f"(load average now {' '.join(f'{x:.1f}' for x in os.getloadavg())}):"
    )
    print(
        "| variant | lifecycles/s | × floor | history kB (server / JSON) | events | WFTs | "
        "activities (+local) | CPU s/lifecycle server / PostgreSQL / client+worker | "
        "client+worker: loop / other Python threads / SDK core |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for label in results:
        rate = med(label, lambda p: p.rate)
        ratio = f"{rate / floor_rate:.2f}×" if floor_rate else "—"
        history = (
            f"{med(label, lambda p: p.history_server) / 1000:.1f} / "
            f"{med(label, lambda p: p.history_json) / 1000:.1f}"
        )
        shape = (
            f"{med(label, lambda p: p.events):.0f} | "
            f"{med(label, lambda p: p.workflow_tasks):.0f} | "
            f"{med(label, lambda p: p.activities):.0f} "
            f"(+{med(label, lambda p: p.local_activities):.0f})"
        )
        cpu = " / ".join(
            f"{statistics.median(p.cpu[k] for p in results[label]):.3f}"
            for k in ("server", "postgres", "bench")
        )
        split = " / ".join(
            f"{statistics.median(p.cpu[k] for p in results[label]):.3f}"
            for k in ("loop", "py-threads", "native")
        )
        print(f"| {label} | {rate:.2f} | {ratio} | {history} | {shape} | {cpu} | {split} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--lifecycles", type=int, default=100, help="N: lifecycles per pass")
    ap.add_argument("--concurrency", type=int, default=16, help="C: lifecycles in flight")
    ap.add_argument("--rounds", type=int, default=3, help="R: passes per variant (median)")
    ap.add_argument(
        "--measure",
        choices=("lifecycle", "create"),
        default="lifecycle",
        help="whole lifecycles, or creates only (start and receipt; left open)",
    )
    ap.add_argument(
        "--encryption",
        choices=("on", "off", "both"),
        default="on",
        help="csflow's payloads sealed (on, as shipped), plaintext, or both",
    )
    ap.add_argument(
        "--only",
        choices=("both", "floor", "csflow"),
        default="both",
        help="run only the floor or only csflow (e.g. under a profiler)",
    )
    ap.add_argument(
        "--history-sample",
        type=int,
        default=10,
        help="workflows per pass whose history is fetched and measured",
    )
    ap.add_argument(
        "--profile-summary",
        type=Path,
        metavar="RAW",
        help="instead of running: summarise a `py-spy record --format raw` file",
    )
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    if args.profile_summary:
        from bench.profile_summary import profile_summary

        profile_summary(args.profile_summary)
        return
    from bench.stack import Processes, servers

    with servers(data_dir=True) as running:
        procs = Processes(running.server_pid, running.postgres_pid)
        print(
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; Temporal {running.target} (pid "
            f"{procs.server_pid}), PostgreSQL (pid {procs.postgres_pid}); N={args.lifecycles}, "
            f"C={args.concurrency}, R={args.rounds}, encryption {args.encryption}, "
            f"{os.cpu_count()} cores, load average "
            f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}",
            flush=True,
        )
        asyncio.run(run(args, running.dsn, running.target, procs))


if __name__ == "__main__":
    main()
