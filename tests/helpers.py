"""Shared test helpers: fresh task queues, eventual assertions, sample intakes."""

from __future__ import annotations

import asyncio
import shutil
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from csflow.contracts import Actor, Contact, Customer, RequestIntake
from csflow.domain.codes import Category, Channel, Priority, Role, Tier

T = TypeVar("T")

AGENT = Actor(id="agent-007", role=Role.AGENT)
CUSTOMER = Actor(id="cust-1", role=Role.CUSTOMER)
SUPERVISOR = Actor(id="sup-1", role=Role.SUPERVISOR)


def binary(name: str) -> str:
    """A console script from this environment, whether or not its bin folder is on PATH."""
    found = shutil.which(name) or str(Path(sys.executable).parent / name)
    if not Path(found).exists():
        raise RuntimeError(f"{name} not found; install the project with its test extras")
    return found


def fresh_queue() -> str:
    return f"tq-{uuid.uuid4().hex[:12]}"


def intake(**overrides: Any) -> RequestIntake:
    data: dict[str, Any] = {
        "customer": Customer(
            id="C-1001",
            name="Li Lei",
            tier=Tier.REGULAR,
            contact=Contact(phone="+86 138 0000 0000", email="li.lei@example.com"),
        ),
        "channel": Channel.WEB,
        "category": Category.COMPLAINT,
        "priority": Priority.P2,
        "description": "The parcel arrived broken; 包裹破损。",
        "order_number": "ORD-42",
    }
    data.update(overrides)
    return RequestIntake(**data)


async def eventually(
    check: Callable[[], Awaitable[T]], *, timeout: float = 10.0, interval: float = 0.1
) -> T:
    """Retry an async assertion until it passes or the timeout runs out."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            return await check()
        except AssertionError:
            if asyncio.get_running_loop().time() > deadline:
                raise
        await asyncio.sleep(interval)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def with_database(dsn: str, database: str) -> str:
    """The same server, another database."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{database}"))


_serial_blocks = __import__("itertools").count(1)


async def seed_serial_block(pool: Any) -> None:
    """Tests get fresh databases but share one Temporal server, so each test's request
    numbers start in a block of their own: workflow ids never collide across tests.
    Today's and tomorrow's counters both, so a run across midnight in Shanghai is safe."""
    from datetime import UTC, timedelta
    from datetime import datetime as _dt

    from csflow.domain.codes import Channel
    from csflow.domain.numbering import business_day

    start = next(_serial_blocks) * 1000
    day = business_day(_dt.now(UTC), "Asia/Shanghai")
    await pool.executemany(
        "INSERT INTO request_counters (day, channel, last_serial) VALUES ($1, $2, $3)",
        [(d, c.value, start) for d in (day, day + timedelta(days=1)) for c in Channel],
    )


async def token_for(pool: Any, role: str, subject: str | None = None) -> str:
    """A real API token issued into the test database (stored hashed like any other)."""
    from csflow.domain.codes import Role
    from csflow.store import tokens

    plain, _ = await tokens.issue(
        pool, name=f"test-{role}", role=Role(role), subject=subject or f"test-{role}"
    )
    return plain


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def run_cli(env: dict[str, str], *args: str) -> Any:
    """`csflow …` through typer's runner, in a thread: the command runs its own event loop
    (asyncio.run), as from a shell, while the test's loop keeps its servers and worker up.
    A wide terminal keeps rich tables on one line; no policy file unless the test sets one.
    """
    from typer.testing import CliRunner

    from csflow.cli import app

    return await asyncio.to_thread(
        CliRunner().invoke, app, list(args), env={"CSFLOW_POLICY": "", "COLUMNS": "200", **env}
    )
