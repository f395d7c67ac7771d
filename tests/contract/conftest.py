"""A real worker on the tests' dev server, and the `temporal` CLI pointed at that server.

The contract is for callers that have no Python, so these tests drive the workflow with
the `temporal` binary the way such a caller would, and look at the result from Python
and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from csflow.contracts import Actor
from csflow.crypto import assertions, keyring
from csflow.crypto.server import create_app as create_codec_app
from csflow.settings import Settings
from tests.helpers import binary, free_port, fresh_queue, token_for
from worker import build_worker


@dataclass(frozen=True)
class Cli:
    """Runs `temporal` against the tests' server, from a scratch working folder, with the
    codec server for sealed payloads (as docs/contract.md tells a caller to)."""

    executable: str
    address: str
    cwd: Path
    codec: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        # The CLI also reads TEMPORAL_* variables and a config profile; the developer's
        # own must not steer the test to another server or namespace.
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")}
        return inherited | {"HOME": str(self.cwd), "XDG_CONFIG_HOME": str(self.cwd)} | self.codec

    async def run(self, *args: str, timeout: float = 60.0) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            self.executable,
            *args,
            "--address",
            self.address,
            cwd=self.cwd,
            env=self.env(),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
        assert proc.returncode is not None
        return proc.returncode, out.decode(), err.decode()

    async def bash(self, script: str, timeout: float = 120.0) -> tuple[int, str, str]:
        """Run a shell script whose `temporal` is this binary, addressing this server."""
        preamble = (
            'temporal() { command "$CSFLOW_TEMPORAL" "$@" --address "$CSFLOW_TEMPORAL_ADDRESS"; }\n'
        )
        env = self.env() | {
            "CSFLOW_TEMPORAL": self.executable,
            "CSFLOW_TEMPORAL_ADDRESS": self.address,
        }
        proc = await asyncio.create_subprocess_exec(
            "bash",
            "-euo",
            "pipefail",
            "-c",
            preamble + script,
            cwd=self.cwd,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
        assert proc.returncode is not None
        return proc.returncode, out.decode(), err.decode()


@dataclass(frozen=True)
class Contract:
    client: Client
    pool: Any
    queue: str
    cli: Cli
    codec_url: str
    token: str  # a service token: what a backend in another language holds

    def header(self, number: str, update: str, actor: dict[str, str]) -> str:
        """`--headers` value vouching for `actor` (what POST /assertions hands out)."""
        who = Actor.model_validate(actor)
        token = assertions.sign(
            assertions.load_key(Settings().data_dir),
            assertions.Claims(
                actor=who.id,
                role=who.role.value,
                workflow_id=number,
                update=update,
                expires=int(time.time()) + 300,
            ),
        )
        return f'csflow-actor="{token}"'


@asynccontextmanager
async def codec_server(pool: Any) -> AsyncIterator[str]:
    """The real codec server (decode, encode, assertions) on a free local port."""
    settings = Settings()
    app = create_codec_app(
        keyring.load(settings.keyring_path()),
        [],
        pool=pool,
        actor_key=assertions.load_key(settings.data_dir),
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def contract(
    ts_env: WorkflowEnvironment, pool: Any, tmp_path: Path
) -> AsyncIterator[Contract]:
    """The real worker (real activities, real PostgreSQL) on a fresh task queue, and the
    codec server a caller outside Python uses to seal, read and prove who it is."""
    queue = fresh_queue()
    target = ts_env.client.service_client.config.target_host
    token = await token_for(pool, "service", "shop-backend")
    async with codec_server(pool) as url, build_worker(ts_env.client, queue, pool):
        cli = Cli(
            binary("temporal"),
            target,
            tmp_path,
            {
                "TEMPORAL_CODEC_ENDPOINT": url,
                "TEMPORAL_CODEC_AUTH": f"Bearer {token}",
                "CSFLOW_CODEC": url,
                "CSFLOW_TOKEN": token,
            },
        )
        yield Contract(ts_env.client, pool, queue, cli, url, token)
