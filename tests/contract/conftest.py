"""A real worker on the tests' dev server, and the `temporal` CLI pointed at that server.

The contract is for callers that have no Python, so these tests drive the workflow with
the `temporal` binary the way such a caller would, and look at the result from Python
and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from tests.helpers import binary, fresh_queue
from worker import build_worker


@dataclass(frozen=True)
class Cli:
    """Runs `temporal` against the tests' server, from a scratch working folder."""

    executable: str
    address: str
    cwd: Path

    def env(self) -> dict[str, str]:
        # The CLI also reads TEMPORAL_* variables and a config profile; the developer's
        # own must not steer the test to another server or namespace.
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")}
        return inherited | {"HOME": str(self.cwd), "XDG_CONFIG_HOME": str(self.cwd)}

    async def run(self, *args: str, timeout: float = 60.0) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            self.executable, *args, "--address", self.address, cwd=self.cwd, env=self.env(),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
        assert proc.returncode is not None
        return proc.returncode, out.decode(), err.decode()

    async def bash(self, script: str, timeout: float = 120.0) -> tuple[int, str, str]:
        """Run a shell script whose `temporal` is this binary, addressing this server."""
        preamble = ('temporal() { command "$CSFLOW_TEMPORAL" "$@" '
                    '--address "$CSFLOW_TEMPORAL_ADDRESS"; }\n')
        env = self.env() | {"CSFLOW_TEMPORAL": self.executable,
                            "CSFLOW_TEMPORAL_ADDRESS": self.address}
        proc = await asyncio.create_subprocess_exec(
            "bash", "-euo", "pipefail", "-c", preamble + script, cwd=self.cwd, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
        assert proc.returncode is not None
        return proc.returncode, out.decode(), err.decode()


@dataclass(frozen=True)
class Contract:
    client: Client
    pool: Any
    queue: str
    cli: Cli


@pytest.fixture
async def contract(ts_env: WorkflowEnvironment, pool: Any,
                   tmp_path: Path) -> AsyncIterator[Contract]:
    """The real worker (real activities, real PostgreSQL) on a fresh task queue."""
    queue = fresh_queue()
    target = ts_env.client.service_client.config.target_host
    cli = Cli(binary("temporal"), target, tmp_path)
    async with build_worker(ts_env.client, queue, pool):
        yield Contract(ts_env.client, pool, queue, cli)
