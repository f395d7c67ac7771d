"""Benchmark: what sealing every Temporal payload costs a request's lifecycle (issue 13).

    python bench/encryption.py                       # embedded Temporal + PostgreSQL
    python bench/encryption.py --requests 200 --rounds 3 --concurrency 16
    DATABASE_URL=postgresql://… TEMPORAL_ADDRESS=host:7233 python bench/encryption.py

One process, one Temporal server, one database; two workers on two task queues — one
whose client seals every payload with the key ring (AES-256-GCM, as in production), one
whose client does not (what ``CSFLOW_ENCRYPTION=off`` gives a process). A lifecycle is
what a request does in its first hours: created (numbered, started, its intake written,
assigned), resolved by a handler, confirmed by the customer (the follow-up planned) —
three round trips through Temporal, each waiting for the worker to write PostgreSQL, with
their notifications. Passes of N lifecycles, C in flight, alternate between sealed and
plain for R rounds, so that a machine whose load drifts (a shared one) biases neither; the
last line compares the medians (goal: sealed ≥ 0.95 × plain).

Personal data at rest in PostgreSQL is sealed with the customer's data key in both passes
(it never depends on ``CSFLOW_ENCRYPTION``): the comparison isolates the payload codec.
docs/performance.md records a run.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import dataclasses
import os
import secrets
import statistics
import sys
import time
import uuid
from collections.abc import Sequence
from contextlib import AsyncExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from temporalio.api.common.v1 import Payload
from temporalio.client import Client

from bench.stack import servers
from csflow.contracts import (
    Actor,
    ConfirmCommand,
    Contact,
    Customer,
    RequestIntake,
    ResolveCommand,
)
from csflow.crypto import assertions, converter, keyring, options
from csflow.crypto.codec import EncryptionCodec
from csflow.domain.codes import Category, Channel, Priority, Role
from csflow.settings import Settings
from csflow.store.migrations import apply_migrations
from csflow.store.pool import create_pool
from starter.client import CsflowClient

AGENT = Actor(id="bench-agent", role=Role.AGENT)
CPU: dict[str, list[float]] = {"sealed": [], "plain": []}


def intake(i: int) -> RequestIntake:
    return RequestIntake(
        customer=Customer(
            id=f"E-{i}",
            name=f"Bench Customer {i}",
            contact=Contact(email=f"e{i}@example.com", phone="+86 138 0000 0000"),
        ),
        channel=list(Channel)[i % len(Channel)],
        category=Category.CONSULTATION,
        priority=Priority.P3,
        description="How do I change my delivery address? I moved last week.",
        external_id=f"bench-enc-{uuid.uuid4().hex[:12]}",
    )


async def lifecycle(csflow: CsflowClient, i: int) -> None:
    created = await csflow.create(intake(i))
    n = created.number
    await csflow.resolve(n, ResolveCommand(actor=AGENT, summary="address changed"))
    customer = Actor(id=f"E-{i}", role=Role.CUSTOMER)
    view = await csflow.confirm(n, ConfirmCommand(actor=customer, satisfied=True))
    assert view.status.value == "follow_up_scheduled", view.status


class TimedCodec(EncryptionCodec):
    """The production codec, counting the time it spends and the payloads it handles."""

    seconds = 0.0
    payloads = 0

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        t = time.perf_counter()
        try:
            return await super().encode(payloads)
        finally:
            TimedCodec.seconds += time.perf_counter() - t
            TimedCodec.payloads += len(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        t = time.perf_counter()
        try:
            return await super().decode(payloads)
        finally:
            TimedCodec.seconds += time.perf_counter() - t
            TimedCodec.payloads += len(payloads)


async def timed(label: str, n: int, concurrency: int, csflow: CsflowClient, offset: int) -> float:
    """`n` lifecycles, `concurrency` at a time; prints and returns lifecycles per second,
    with this process's CPU time per lifecycle (client and worker share the process) and,
    for sealed passes, the codec's own share of it."""
    latencies: list[float] = []
    cpu, codec_s, codec_n = time.process_time(), TimedCodec.seconds, TimedCodec.payloads
    todo = iter(range(offset, offset + n))

    async def lane() -> None:
        for i in todo:
            t = time.perf_counter()
            await lifecycle(csflow, i)
            latencies.append(time.perf_counter() - t)

    began = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for _ in range(min(concurrency, n)):
            group.create_task(lane())
    seconds = time.perf_counter() - began
    cpu_ms = (time.process_time() - cpu) / n * 1000
    q = statistics.quantiles(latencies, n=20)
    rate = n / seconds
    codec = ""
    if TimedCodec.payloads > codec_n:
        codec = (
            f"  codec {(TimedCodec.seconds - codec_s) / n * 1000:5.2f} ms "
            f"({(TimedCodec.payloads - codec_n) / n:.0f} payloads)"
        )
    print(
        f"{label:<7} {n:>5} lifecycles in {seconds:6.1f} s  {rate:6.1f}/s   "
        f"latency p50 {statistics.median(latencies) * 1000:5.0f} ms  "
        f"p95 {q[18] * 1000:5.0f} ms  cpu {cpu_ms:5.1f} ms{codec}",
        flush=True,
    )
    if label in CPU:  # not the warm-up passes
        CPU[label].append(cpu_ms)
    return rate


async def run(dsn: str, target: str, n: int, rounds: int, concurrency: int) -> None:
    from csflow import logs
    from worker import build_worker

    logs.configure("console", "WARNING")  # one line per notification otherwise
    await apply_migrations(dsn)
    settings = Settings()
    ring = keyring.load(settings.keyring_path())
    base = options.client_options(settings)
    timed_converter = dataclasses.replace(
        converter.data_converter(None), payload_codec=TimedCodec(ring)
    )
    sealed = await Client.connect(target, **{**base, "data_converter": timed_converter})
    plain = await Client.connect(
        target, **{**base, "data_converter": converter.data_converter(None)}
    )
    async with AsyncExitStack() as stack:
        pool = await create_pool(dsn, min_size=2, max_size=20)
        stack.push_async_callback(pool.close)
        clients: dict[str, CsflowClient] = {}
        for label, client in (("sealed", sealed), ("plain", plain)):
            queue = f"bench-enc-{label}-{uuid.uuid4().hex[:6]}"
            await stack.enter_async_context(build_worker(client, queue, pool))
            # "plain": no customer-key sealing either, so the two differ by all of it.
            clients[label] = CsflowClient(client, pool, task_queue=queue, keys=label == "sealed")
        for label, csflow in clients.items():  # warm both: numbering entities, pools, caches
            await timed(f"{label}*", max(4, concurrency), concurrency, csflow, 0)
        rates: dict[str, list[float]] = {"sealed": [], "plain": []}
        offset = 1000
        order = ("sealed", "plain")
        for r in range(rounds):
            for label in order if r % 2 == 0 else order[::-1]:
                rates[label].append(await timed(label, n, concurrency, clients[label], offset))
                offset += n
        on, off = statistics.median(rates["sealed"]), statistics.median(rates["plain"])
        print(
            f"median: sealed {on:.1f}/s, plain {off:.1f}/s — sealed at {on / off:.2f}× "
            f"plain ({concurrency} in flight; goal ≥ 0.95×)"
        )
        cpu_on, cpu_off = statistics.median(CPU["sealed"]), statistics.median(CPU["plain"])
        print(
            f"median CPU of this process per lifecycle: sealed {cpu_on:.1f} ms, plain "
            f"{cpu_off:.1f} ms — plain ÷ sealed {cpu_off / cpu_on:.2f}; the codec itself "
            f"{TimedCodec.seconds / max(TimedCodec.payloads, 1) * 1e6:.0f} µs per payload"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--requests", type=int, default=150, help="lifecycles per pass")
    ap.add_argument("--rounds", type=int, default=3, help="sealed/plain rounds")
    ap.add_argument("--concurrency", type=int, default=16)
    args = ap.parse_args()
    # A throwaway ring and actor key unless given: nothing is written outside the folder.
    if not (os.environ.get(keyring.ENV_RING) or os.environ.get(keyring.ENV_FILE)):
        os.environ[keyring.ENV_RING] = keyring.KeyRing.generate().to_json()
    os.environ.setdefault(assertions.ENV_KEY, base64.b64encode(secrets.token_bytes(32)).decode())
    with servers(from_env=True) as running:
        dsn, target = running.dsn, running.target
        print(
            f"PostgreSQL {dsn}, Temporal {target}, {args.requests} lifecycles per pass, "
            f"{args.rounds} rounds, concurrency {args.concurrency}, {os.cpu_count()} cores",
            flush=True,
        )
        asyncio.run(run(dsn, target, args.requests, args.rounds, args.concurrency))


if __name__ == "__main__":
    main()
