"""`run_up` with stand-in API and worker processes: the supervisor tested on its own.

Run as `python -m tests.stack.dummy_up` with the same environment as `csflow up`. The
embedded PostgreSQL and Temporal dev server are real; the "api" is `http.server` on the
API port and the "worker" a sleeping Python, so these tests do not depend on the app.
"""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg

from csflow import logs
from csflow.embedded import PortClaim, port_accepts
from csflow.embedded.supervisor import ProcessSpec
from csflow.settings import Settings
from csflow.stack import StackPlan, run_up

WORKER_MARK = "csflow-dummy-worker"


def dummy_processes(plan: StackPlan) -> list[ProcessSpec]:
    s = plan.settings
    return [
        ProcessSpec(
            "api",
            [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(s.api_port)],
            plan.log_dir / "api.log",
            ready=partial(port_accepts, "127.0.0.1", s.api_port),
            ports=(PortClaim(s.api_port, "HTTP API", "CSFLOW_API_PORT", s.api_host),),
        ),
        ProcessSpec(
            "worker",
            [sys.executable, "-c", f"import time; time.sleep(600)  # {WORKER_MARK}"],
            plan.log_dir / "worker.log",
            ports=(PortClaim(s.metrics_port, "worker metrics", "CSFLOW_METRICS_PORT"),),
        ),
    ]


async def touch_database(dsn: str) -> list[str]:
    """Stands in for migrations: proves the DSN handed over reaches a live database."""
    conn: asyncpg.Connection[Any] = await asyncpg.connect(dsn)
    try:
        await conn.execute("CREATE TABLE IF NOT EXISTS dummy_up (at timestamptz DEFAULT now())")
        await conn.execute("INSERT INTO dummy_up DEFAULT VALUES")
    finally:
        await conn.close()
    return ["dummy"]


async def no_tokens(dsn: str, data_dir: Path) -> dict[str, Path]:
    """The dummy stack has no schema, so no token table: the API it fakes needs none."""
    del dsn, data_dir
    return {}


if __name__ == "__main__":
    logs.configure("json")  # one JSON object per line: the tests parse the events
    sys.exit(
        run_up(Settings(), processes=dummy_processes, migrate=touch_database, bootstrap=no_tokens)
    )
