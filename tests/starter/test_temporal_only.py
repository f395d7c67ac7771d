"""A backend service starts, steers and reads requests with a Temporal connection alone.

The service runs as its own process (tests/starter/backend_service.py) with no
DATABASE_URL and a policy path that does not exist: if the starter touched PostgreSQL or
the policy, it would fail. The worker side has both; this test checks what the service
saw against the worker's database.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from csflow.domain.codes import Channel
from csflow.domain.numbering import parse_number
from tests.starter.conftest import Stack

SERVICE = Path(__file__).with_name("backend_service.py")
ROOT = Path(__file__).parents[2]


async def test_a_service_with_only_temporal_creates_steers_and_reads(
    stack: Stack, tmp_path: Path
) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TEMPORAL_", "CSFLOW_", "PG")) and k != "DATABASE_URL"
    }
    env |= {k: v for k, v in stack.env.items() if v is not None and k != "DATABASE_URL"}
    env |= {"CSFLOW_POLICY": str(tmp_path / "no-such-policy.toml"), "PYTHONPATH": str(ROOT)}
    # What a backend holds besides the Temporal address: the two secrets that seal its
    # payloads and sign its actors (docs/security.md) — from its environment, as in
    # production (CSFLOW_SECRETS=env: no file is made or read).
    env |= {name: os.environ[name] for name in ("CSFLOW_KEYRING", "CSFLOW_ACTOR_KEY")}
    env["CSFLOW_SECRETS"] = "env"
    assert "DATABASE_URL" not in env
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(SERVICE),
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()
    seen = json.loads(out)

    number, existing, status = seen["first"]
    assert (existing, status) == (False, "assigned")
    assert seen["retried"] == [number, True], "a retried create returns the same number"
    a, b = seen["racing"]
    assert a != b, "two concurrent creates get different numbers"
    assert {parse_number(n).channel for n in (a, b)} == {Channel.PHONE}
    assert parse_number(number).channel is Channel.WEB
    assert seen["refused"] == "Forbidden"
    assert seen["confirmed"] == "follow_up_scheduled"
    assert seen["state"][:2] == ["follow_up_scheduled", "P1"]
    assert seen["state"][2], "the worker resolved the SLA terms from its policy"
    assert seen["timeline"][:3] == ["received", "assigned", "plan_submitted"]
    assert "customer_confirmed" in seen["timeline"]
    assert seen["listing"] == "no database"

    # The worker's side: numbers from its counter, the external id bound once, and what
    # the service read from the workflow is what the worker persisted.
    keys = await stack.pool.fetch("SELECT external_id, number FROM request_keys")
    assert [tuple(r) for r in keys] == [("shop-order-42", number)]
    persisted = await stack.pool.fetchval("SELECT status FROM requests WHERE number = $1", number)
    assert persisted == "follow_up_scheduled"
    assert await stack.pool.fetchval("SELECT count(*) FROM requests") == 3
