"""A real `csflow up` with an SMTP receiver that can be down, and the checks the fault
suite (tests/faults) and the fault benchmarks (bench/faults.py) share: submit a burst the
way a careful caller does, then prove every request and every message exists once."""

from __future__ import annotations

import contextlib
import email
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil

from csflow.domain.codes import Priority
from csflow.embedded.aio import run_coroutine
from tests.helpers import free_port, intake
from tests.notify.servers import Inbox, smtp_server
from tests.stack.harness import UP_BANNER, Up, scratch_dir, stack_env

ACCEPTED = (200, 201, 202)


@dataclass
class Stack:
    """A running `csflow up`, its API token, and the SMTP receiver it mails to."""

    up: Up
    env: dict[str, str]
    api: str
    auth: dict[str, str]
    smtp_port: int
    inbox: Inbox = field(default_factory=Inbox)
    _smtp: ExitStack = field(default_factory=ExitStack)
    _held: socket.socket | None = None

    def __post_init__(self) -> None:
        self._hold()

    def _hold(self) -> None:
        """Keep the SMTP port while it is "down": bound, never listening, so a connection
        is refused as by a stopped server, and no other test's receiver (the suite runs
        in parallel) can bind the port meanwhile and take the mail meant for this one —
        seen once: 7 messages marked sent that never reached this inbox."""
        held = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        held.bind(("127.0.0.1", self.smtp_port))
        self._held = held

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.env['CSFLOW_POSTGRES_PORT']}/csflow"

    def smtp_up(self) -> None:
        if self._held is not None:
            self._held.close()
            self._held = None
        self._smtp.enter_context(smtp_server(self.smtp_port, self.inbox))

    def smtp_down(self) -> None:
        self._smtp.close()
        if self._held is not None:
            self._held.close()
            self._held = None

    def child(self, name: str) -> psutil.Process:
        return self.up.child(name)

    def wait_restarted(self, name: str, after: int, timeout: float = 60.0) -> None:
        """Until the supervisor has logged more than `after` restarts of `name`."""
        deadline = time.monotonic() + timeout
        while self.restarts(name) <= after:
            assert time.monotonic() < deadline, f"{name} not restarted:\n{self.up.output}"
            time.sleep(0.1)

    def restarts(self, name: str) -> int:
        return sum(
            1 for e in self.up.events() if e.get("event") == "restarted" and e.get("child") == name
        )


@contextmanager
def running_stack(*, retry_within: str = "PT1H") -> Iterator[Stack]:
    """`csflow up` on free ports, mailing customers through an SMTP port that is down
    until the test calls `smtp_up()`; notifications retried every 1–2 s."""
    with scratch_dir() as scratch:
        smtp_port = free_port()
        config = scratch / "notify.toml"
        config.write_text(
            f'[smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\n\n'
            f'[retry]\nwithin = "{retry_within}"\nfirst_delay = 1\nmax_delay = 2\n'
        )
        env = stack_env(scratch / "data", CSFLOW_NOTIFY_CONFIG=str(config), CSFLOW_POLICY="")
        up = Up([sys.executable, "-m", "csflow", "up"], env)
        stack = None
        try:
            up.wait_for(UP_BANNER, timeout=180)
            token = (scratch / "data" / "tokens" / "service").read_text().strip()
            stack = Stack(
                up,
                env,
                f"http://127.0.0.1:{env['CSFLOW_API_PORT']}",
                {"Authorization": f"Bearer {token}"},
                smtp_port,
            )
            yield stack
        finally:
            if stack is not None:
                stack.smtp_down()
            up.kill()


def body(external_id: str) -> dict[str, Any]:
    return intake(priority=Priority.P3, external_id=external_id).model_dump(
        mode="json", exclude_none=True
    )


@dataclass
class Outcome:
    external_id: str
    number: str | None = None
    codes: list[int] = field(default_factory=list)  # 0: no answer (connection refused …)


def submit(stack: Stack, external_id: str, give_up_after: float = 180.0) -> Outcome:
    """POST like a careful caller: on no answer or an error, send the same request again
    (same external id, so a retry cannot duplicate) until it is accepted."""
    out = Outcome(external_id)
    deadline = time.monotonic() + give_up_after
    with httpx.Client(timeout=30) as client:
        while time.monotonic() < deadline:
            try:
                r = client.post(f"{stack.api}/requests", json=body(external_id), headers=stack.auth)
            except httpx.TransportError:
                out.codes.append(0)
            else:
                out.codes.append(r.status_code)
                if r.status_code in ACCEPTED:
                    out.number = r.json()["number"]
                    return out
            time.sleep(0.5)
    return out


def burst(
    stack: Stack, prefix: str, count: int, *, parallel: int = 6, during: Any = None, at: int = 0
) -> list[Outcome]:
    """`count` requests, `parallel` at a time; `during()` runs once `at` have answered."""
    done = threading.Semaphore(0)
    fired = threading.Event()

    def one(i: int) -> Outcome:
        try:
            return submit(stack, f"{prefix}-{i:05d}")
        finally:
            done.release()

    def trigger() -> None:
        for _ in range(at):
            done.acquire()
        fired.set()
        if during is not None:
            during()

    watcher = threading.Thread(target=trigger, daemon=True)
    watcher.start()
    with ThreadPoolExecutor(parallel) as pool:
        outcomes = list(pool.map(one, range(count)))
    watcher.join(300)
    assert fired.is_set() or during is None
    return outcomes


def pause(pid: int, seconds: float) -> None:
    """Freeze a server (SIGSTOP), as a hung host or a VM pause does, then thaw it.

    The whole tree, not the process group: PostgreSQL makes every backend the leader of
    its own session, so stopping the postmaster's group would leave open connections
    serving.
    """
    root = psutil.Process(pid)
    frozen = [root, *root.children(recursive=True)]
    for proc in frozen:
        proc.suspend()
    try:
        time.sleep(seconds)
    finally:
        for proc in frozen:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.resume()


def accepted_once(stack: Stack, outcomes: list[Outcome], timeout: float = 120.0) -> None:
    """Every request was accepted; each is one row, one workflow, one `received` event."""
    missing = [o for o in outcomes if o.number is None]
    assert not missing, f"never accepted: {[(o.external_id, o.codes) for o in missing]}"
    numbers = {o.external_id: o.number for o in outcomes if o.number is not None}
    assert len(set(numbers.values())) == len(numbers), "two requests got one number"
    deadline = time.monotonic() + timeout
    while True:
        rows, received, workflows = run_coroutine(_stored(stack, list(numbers)))
        problems = []
        if rows != numbers:
            problems.append(f"rows differ: {sorted(set(numbers.items()) ^ set(rows.items()))}")
        doubled = [n for n, c in received.items() if c != 1]
        if doubled or len(received) != len(numbers):
            problems.append(f"received events: {doubled or len(received)}")
        wanted = Counter(numbers.values())
        if workflows != wanted:
            problems.append(f"workflows: {workflows - wanted} extra, {wanted - workflows} missing")
        if not problems:
            return
        if time.monotonic() >= deadline:
            unwritten = sorted(set(numbers.values()) - set(rows.values()))
            raise AssertionError(
                "; ".join(problems) + run_coroutine(_explain_unwritten(stack, unwritten))
            )
        time.sleep(1)


async def _explain_unwritten(stack: Stack, numbers: list[str]) -> str:
    """What the workflow of an accepted request without a row is doing: its status,
    pending activities and the last events of its history."""
    from temporalio.client import Client
    from temporalio.service import RPCError

    # No codec: event types and failure messages are not sealed, and that is all this reads.
    client = await Client.connect(f"127.0.0.1:{stack.env['CSFLOW_TEMPORAL_PORT']}")
    lines = []
    for n in numbers[:5]:
        handle = client.get_workflow_handle(n)
        try:
            d = await handle.describe()
        except RPCError as err:
            lines.append(f"{n}: no workflow ({err.message})")
            continue
        pending = [
            (a.activity_type.name, a.attempt, a.last_failure.message[:120])
            for a in d.raw_description.pending_activities
        ]
        events = [e async for e in handle.fetch_history_events()]
        tail = [
            f"{e.event_id}:{e.event_type}"
            + (
                f"({e.workflow_task_failed_event_attributes.failure.message[:200]})"
                if e.HasField("workflow_task_failed_event_attributes")
                else ""
            )
            + (
                f"({e.workflow_execution_failed_event_attributes.failure.message[:200]})"
                if e.HasField("workflow_execution_failed_event_attributes")
                else ""
            )
            for e in events[-12:]
        ]
        lines.append(f"{n}: {d.status} pending={pending} history[-12:]={tail}")
    return "\n" + "\n".join(lines)


async def _stored(
    stack: Stack, external_ids: list[str]
) -> tuple[dict[str, str], dict[str, int], Counter[str]]:
    from temporalio.client import Client

    conn: asyncpg.Connection[Any] = await asyncpg.connect(stack.dsn)
    try:
        rows = await conn.fetch(
            "SELECT external_id, number FROM requests WHERE external_id = ANY($1::text[])",
            external_ids,
        )
        events = await conn.fetch(
            "SELECT e.number, count(*) AS n FROM request_events e JOIN requests r "
            "USING (number) WHERE r.external_id = ANY($1::text[]) AND e.kind = 'received' "
            "GROUP BY e.number",
            external_ids,
        )
    finally:
        await conn.close()
    numbers = [r["number"] for r in rows]
    client = await Client.connect(f"127.0.0.1:{stack.env['CSFLOW_TEMPORAL_PORT']}")
    runs: Counter[str] = Counter()
    for chunk in range(0, len(numbers), 50):
        ids = ", ".join(f"'{n}'" for n in numbers[chunk : chunk + 50])
        if ids:
            async for wf in client.list_workflows(f"WorkflowId IN ({ids})"):
                runs[wf.id] += 1
    return (
        {r["external_id"]: r["number"] for r in rows},
        {e["number"]: e["n"] for e in events},
        runs,
    )


def mailed_once(stack: Stack, numbers: set[str], timeout: float = 120.0) -> None:
    """Every customer acknowledgement of `numbers` reached the SMTP server exactly once,
    and the outbox says sent."""
    deadline = time.monotonic() + timeout
    while True:
        ids = Counter(
            "".join(str(email.message_from_bytes(m.content)["Message-ID"]).split())
            for m in list(stack.inbox.messages)
        )
        doubled = [k for k, c in ids.items() if c > 1]
        assert not doubled, f"delivered twice: {doubled}"
        got = {i.strip("<>").split(".")[0] for i in ids if i.endswith(".acknowledgement@csflow>")}
        statuses = run_coroutine(_acknowledgements(stack, sorted(numbers)))
        if got >= numbers and set(statuses.values()) == {"sent"} and len(statuses) == len(numbers):
            return
        assert time.monotonic() < deadline, (
            f"not mailed: {sorted(numbers - got)[:10]}; outbox: {Counter(statuses.values())}"
            + run_coroutine(
                _explain_unsent(stack, [n for n, st in statuses.items() if st != "sent"])
            )
        )
        time.sleep(1)


async def _explain_unsent(stack: Stack, numbers: list[str]) -> str:
    """What the outbox and Temporal say about messages not sent: for the failure message."""
    from temporalio.client import Client

    conn: asyncpg.Connection[Any] = await asyncpg.connect(stack.dsn)
    try:
        rows = await conn.fetch(
            "SELECT key, status, attempts, updated_at FROM outbox WHERE number = ANY($1::text[])",
            numbers,
        )
    finally:
        await conn.close()
    client = await Client.connect(f"127.0.0.1:{stack.env['CSFLOW_TEMPORAL_PORT']}")
    lines = [
        f"{r['key']} {r['status']} {r['updated_at']:%H:%M:%S} {r['attempts'][-2:]}" for r in rows
    ]
    for n in numbers[:5]:
        d = await client.get_workflow_handle(n).describe()
        raw = d.raw_description
        pending = [
            (a.activity_type.name, a.attempt, a.state, a.last_failure.message[:80])
            for a in raw.pending_activities
        ]
        lines.append(f"{n}: {d.status} pending={pending}")
    return "\n" + "\n".join(lines)


async def _acknowledgements(stack: Stack, numbers: list[str]) -> dict[str, str]:
    conn: asyncpg.Connection[Any] = await asyncpg.connect(stack.dsn)
    try:
        rows = await conn.fetch(
            "SELECT number, status FROM outbox WHERE number = ANY($1::text[]) "
            "AND template = 'acknowledgement' AND recipient_kind = 'customer'",
            numbers,
        )
    finally:
        await conn.close()
    return {r["number"]: r["status"] for r in rows}


def log_dir(stack: Stack) -> Path:
    return Path(stack.env["CSFLOW_DATA_DIR"]) / "logs"
