"""The stack a benchmark runs on, and what its processes cost.

Every benchmark that drives the workflows needs the same things around it: a throwaway
folder, the Temporal dev server `csflow up` runs (SQLite file) and an embedded
PostgreSQL on free ports — or the servers the environment names —, a generated actor
key and key ring, and the CPU time and memory of the server processes. They start here,
in one way, so that the benchmarks measure the same stack and their figures compare;
each benchmark keeps only what it measures. The report benchmarks' PostgreSQL, which
bulk-loads with durability off and is restarted durable before anything is measured
(`BenchPostgres`), starts here too, and so does the request they open (`bench_intake`).

Imported after the benchmark has put the repository on sys.path (a benchmark runs as
`python bench/NAME.py`).
"""

from __future__ import annotations

import base64
import os
import secrets
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil

if TYPE_CHECKING:
    from csflow.contracts import RequestIntake


@dataclass(frozen=True)
class Servers:
    """Where a benchmark's servers are. A pid is None for a server the environment named
    (it runs elsewhere; its cost is not this machine's to count)."""

    workdir: Path
    dsn: str
    target: str
    server_pid: int | None = None
    postgres_pid: int | None = None

    @property
    def sqlite(self) -> Path:
        """The embedded Temporal server's database file (its WAL beside it)."""
        return self.workdir / "temporal.db"


@contextmanager
def servers(
    prefix: str = "csflow-bench-", *, data_dir: bool = False, from_env: bool = False
) -> Iterator[Servers]:
    """An embedded PostgreSQL (database `csflow`) and Temporal dev server in a temporary
    folder, on free ports; all stopped and removed on exit.

    `data_dir`: CSFLOW_DATA_DIR points into the folder, so the keys a run generates are
    written nowhere else. `from_env`: DATABASE_URL and TEMPORAL_ADDRESS, when set, name
    servers to use instead of starting them (a benchmark against a real deployment).
    """
    from csflow.embedded.ports import free_port

    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=prefix)))
        if data_dir:
            os.environ["CSFLOW_DATA_DIR"] = str(workdir / "data")
        dsn = os.environ.get("DATABASE_URL") if from_env else None
        target = os.environ.get("TEMPORAL_ADDRESS") if from_env else None
        server_pid = postgres_pid = None
        if not dsn:
            from csflow.embedded.postgres import EmbeddedPostgres

            pg = stack.enter_context(EmbeddedPostgres(workdir / "pg", free_port()))
            pg.create_database("csflow")
            dsn = pg.dsn("csflow")
            postgres_pid = pg.child.pid if pg.child else None
        if not target:
            from csflow.embedded.temporal import TemporalDevServer

            server = stack.enter_context(
                TemporalDevServer(workdir / "temporal.db", free_port(), free_port())
            )
            target = server.target
            server_pid = server.child.pid if server.child else None
        yield Servers(workdir, dsn, target, server_pid, postgres_pid)


def generated_keys(encryption: str) -> Any:
    """Generate the run's actor key and (unless off) key ring into the environment, as
    the deployment docs (docs/security.md) say a process receives them."""
    from csflow.crypto.keyring import ENV_RING, KeyRing

    os.environ["CSFLOW_ACTOR_KEY"] = base64.b64encode(secrets.token_bytes(32)).decode()
    if encryption == "off":
        os.environ["CSFLOW_ENCRYPTION"] = "off"
        os.environ.pop(ENV_RING, None)
        return None
    ring = KeyRing.generate()
    os.environ[ENV_RING] = ring.to_json()
    os.environ.pop("CSFLOW_ENCRYPTION", None)
    return ring


async def signed_client(target: str, ring: Any, settings: Any) -> Any:
    """A Temporal client as csflow's own clients are built: payloads sealed with `ring`
    (from `generated_keys`; None: plaintext) and every Update's actor signed with the key
    in `settings.data_dir`."""
    from temporalio.client import Client

    from csflow.crypto import assertions, converter
    from csflow.crypto.interceptors import ActorSigning

    return await Client.connect(
        target,
        data_converter=converter.data_converter(ring),
        interceptors=[ActorSigning(assertions.load_key(settings.data_dir))],
    )


# ---- what the processes cost --------------------------------------------------------


def tree_cpu(pid: int | None) -> float:
    """CPU seconds of a process, its live descendants, and the children it reaped (a
    PostgreSQL backend that exited is counted in the postmaster's children times)."""
    if pid is None:
        return 0.0
    try:
        root = psutil.Process(pid)
        total = 0.0
        t = root.cpu_times()
        total += t.user + t.system + t.children_user + t.children_system
        for child in root.children(recursive=True):
            try:
                c = child.cpu_times()
                total += c.user + c.system
            except psutil.NoSuchProcess:
                pass
        return total
    except psutil.NoSuchProcess:
        return 0.0


def tree_rss(pid: int | None) -> int:
    """Resident bytes of a process and its descendants (0 once it has gone)."""
    if pid is None:
        return 0
    with suppress(psutil.NoSuchProcess):
        root = psutil.Process(pid)
        total = root.memory_info().rss
        for child in root.children(recursive=True):
            with suppress(psutil.NoSuchProcess):
                total += child.memory_info().rss
        return total
    return 0


@dataclass
class Processes:
    server_pid: int | None
    postgres_pid: int | None

    def snapshot(self) -> dict[str, float]:
        me = psutil.Process()
        t = me.cpu_times()
        return {
            "server": tree_cpu(self.server_pid),
            "postgres": tree_cpu(self.postgres_pid),
            "bench": t.user + t.system,
            **_threads(me),
        }


def _threads(me: psutil.Process) -> dict[str, float]:
    """This process's CPU by thread kind: the asyncio loop thread (the client, the
    activities and — a py-spy profile shows — most workflow activation work, sandbox
    included), the other Python threads (the SDK's thread pool), and native threads (the
    SDK's Rust core: gRPC, history, its state machines). Linux only; a thread that exited
    drops out of its group."""
    groups = {"loop": 0.0, "py-threads": 0.0, "native": 0.0}
    try:
        python_name = Path(f"/proc/{me.pid}/comm").read_text().strip()
        for thread in me.threads():
            try:
                name = Path(f"/proc/{me.pid}/task/{thread.id}/comm").read_text().strip()
            except OSError:
                continue
            kind = (
                "loop" if thread.id == me.pid else "py-threads" if name == python_name else "native"
            )
            groups[kind] += thread.user_time + thread.system_time
    except OSError:
        pass
    return groups


# ---- the PostgreSQL the report benchmarks bulk-load into ----

FAST = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
DURABLE_SETTINGS = ("fsync", "synchronous_commit", "full_page_writes")


class BenchPostgres:
    """An embedded PostgreSQL that bulk-loads with durability off and is then restarted
    with the defaults (fsync, synchronous_commit and full_page_writes on) before anything
    is measured: the settings are command-line `-c` options, so a restart without them is
    what turns them back on (ALTER SYSTEM could not override them)."""

    def __init__(self, root: Any, fast_load: bool = True) -> None:
        from csflow.embedded.ports import free_port
        from csflow.embedded.postgres import EmbeddedPostgres

        self.pg = EmbeddedPostgres(
            root / "pg", free_port(), server_settings=FAST if fast_load else None
        )
        self.pg.start()
        self.pg.create_database("csflow")
        self.dsn = self.pg.dsn("csflow")

    def durable(self) -> None:
        """Stop (a fast shutdown checkpoints everything loaded) and start with defaults."""
        self.pg.stop()
        self.pg.server_settings = {}
        self.pg.start()

    def stop(self) -> None:
        self.pg.stop()

    def postgres_cpu(self) -> float:
        """CPU seconds (user + system) of the server and its backends, live and exited."""
        import psutil

        child = self.pg.child
        if child is None:
            return 0.0
        root = psutil.Process(child.pid)
        total = 0.0
        for p in [root, *root.children(recursive=True)]:
            try:
                t = p.cpu_times()
            except psutil.NoSuchProcess:
                continue
            # children_*: the backends the postmaster has reaped (closed connections)
            total += t.user + t.system + t.children_user + t.children_system
        return total


async def settings(dsn: str) -> dict[str, str]:
    """The durability settings the server is running with now."""
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        return {s: str(await conn.fetchval(f"SHOW {s}")) for s in DURABLE_SETTINGS}
    finally:
        await conn.close()


PARCEL = "Where is my parcel?"
ADDRESS = "How do I change my delivery address?"


def bench_intake(
    i: int,
    prefix: str = "bench",
    priority: str = "P3",
    *,
    customers: int | None = 997,
    rotate_channels: bool = False,
    description: str = PARCEL,
) -> RequestIntake:
    """The i-th request a benchmark opens: a consultation at `priority` (P3; P2 for the
    lateness probes), its external id unique (`prefix`-…) so each create starts a new
    request. Its customer is one of `customers` (None: one per request), on the web
    channel or, with `rotate_channels`, on each channel in turn. One definition, so the
    benchmarks' figures are for the same request; the knobs keep each one's recorded
    workload (the lifecycle and start benchmarks rotate channels, the start benchmark
    gives every request its own customer)."""
    from csflow.contracts import Contact, Customer, RequestIntake
    from csflow.domain.codes import Category, Channel, Priority

    letter = prefix[0]
    return RequestIntake(
        customer=Customer(
            id=f"{letter.upper()}-{i if customers is None else i % customers}",
            name="Bench Customer",
            contact=Contact(email=f"{letter}{i}@example.com"),
        ),
        channel=list(Channel)[i % len(Channel)] if rotate_channels else Channel.WEB,
        category=Category.CONSULTATION,
        priority=Priority(priority),
        description=description,
        external_id=f"{prefix}-{uuid.uuid4().hex[:12]}",
    )
