"""Session-wide fixtures: one time-skipping Temporal server for all workflow tests, one
PostgreSQL; and the `integration` marker, put on every test that needs either of them, a
browser or a subprocess stack, so `pytest -m "not integration"` is the fast lane.
"""

from __future__ import annotations

import base64
import os
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest
from temporalio.testing import TimeSkippingConfig, WorkflowEnvironment

from csflow import search_attributes as sa
from csflow.crypto import options
from csflow.crypto.assertions import ENV_KEY as ACTOR_KEY_ENV
from csflow.crypto.keyring import ENV_RING, KeyRing
from csflow.settings import Settings
from csflow.store.migrations import apply_migrations
from csflow.store.pool import create_pool
from tests.helpers import binary, free_port, with_database

# A test that uses any of these fixtures — directly or through another fixture — needs a
# real server: the Temporal dev server, PostgreSQL, Debian's chromium, or a launched stack.
INTEGRATION_FIXTURES = frozenset({"ts_env", "pg_admin_dsn", "browser", "launch"})
# Markers that imply a server or a subprocess of their own.
INTEGRATION_MARKERS = frozenset({"stack"})


def needs_servers(fixturenames: list[str] | tuple[str, ...], markers: set[str]) -> bool:
    """Whether a test with this fixture closure and these markers is an integration test."""
    return bool(
        INTEGRATION_FIXTURES.intersection(fixturenames)
        or INTEGRATION_MARKERS & markers
        or "integration" in markers
    )


# `python3 run.py test` runs the suite on two pytest-xdist workers (`-n 2`): most tests
# wait on a server rather than compute, so two overlap well even on two cores. These tests
# run one after another, in file order, on one worker, never beside each other: each
# starts a stack of its own (`csflow up`, a worker process, the week benchmark) or times
# real seconds against a deadline, and two of them at once on two cores would test the
# machine. The other worker keeps running the ordinary tests meanwhile.
SERIAL_MODULES = frozenset(
    {
        "tests/bench/test_week_smoke.py",  # the whole stack, a compressed day of traffic
        "tests/faults/test_faults.py",  # one stack per module; its last test reads the rest
        "tests/stack/test_stack.py",  # `csflow up`, killed and restarted
        "tests/notify/test_worker_kill.py",  # a worker process, killed mid-send
        "tests/api/test_admission.py",  # rates and backlog timed in real seconds
    }
)
SERIAL_TESTS = frozenset(
    {
        # a real outage of a worker, timed to the second (time skipping cannot skip it)
        "tests/sla_regressions/test_request_cases.py::"
        "test_06_glpi_5319_every_step_missed_while_down_is_recorded_in_order",
    }
)
# What a test that starts its own stack uses: it must be listed above.
STACK_FIXTURES = frozenset({"launch"})
STACK_MARKERS = frozenset({"stack"})


def runs_alone(nodeid: str) -> bool:
    """Whether a test (by node id, all the xdist scheduler sees) runs one at a time."""
    return nodeid.partition("::")[0] in SERIAL_MODULES or nodeid in SERIAL_TESTS


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """xdist's own load scheduling, except that the one-at-a-time tests are a single unit
    of work, so one worker runs them all, in order. (`--dist loadgroup` with
    `xdist_group` marks would say the same, but it renames items, which pytest 9 no longer
    allows.) Sending the largest units first (xdist's default) starts that unit at once.
    """
    if config.getvalue("dist") not in ("load", "loadgroup", "loadscope"):
        return None
    from xdist.scheduler import LoadScopeScheduling

    class OneAtATime(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return "one-at-a-time" if runs_alone(nodeid) else nodeid

    return OneAtATime(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark by fixture use rather than by hand: `fixturenames` is the whole closure, so a
    test that reaches `ts_env` through `api` or `stack` is marked too, and a new test file
    cannot forget it. A test that starts a stack must be one of the one-at-a-time tests."""
    for item in items:
        names = getattr(item, "fixturenames", ())
        markers = {m.name for m in item.iter_markers()}
        if needs_servers(names, markers) and "integration" not in markers:
            item.add_marker(pytest.mark.integration)
        if (STACK_FIXTURES.intersection(names) or STACK_MARKERS & markers) and not runs_alone(
            item.nodeid
        ):
            raise pytest.UsageError(
                f"{item.nodeid} starts a stack: add its module to SERIAL_MODULES in "
                "tests/conftest.py, so no two stacks run at once"
            )


# The suite runs what production runs: every payload sealed with a key ring, every Update's
# actor signed and verified. One ring and one actor key for the session, through the
# environment, so subprocesses (`csflow up`, the CLI, a starter in its own process) agree.
os.environ.setdefault(ENV_RING, KeyRing.generate().to_json())
os.environ.setdefault(ACTOR_KEY_ENV, base64.b64encode(secrets.token_bytes(32)).decode())


@pytest.fixture(scope="session")
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real dev server with per-workflow virtual clocks (docs/temporal-notes.md,
    "Tests under skipped time").

    Skipping is off until a test calls `env.fast_forward(handle, duration)`, so a test
    decides exactly how far each request's clock moves.
    """
    env = await WorkflowEnvironment.start_time_skipping_v2(
        ts_config=TimeSkippingConfig(enabled=False),
        **options.client_options(Settings()),
        dev_server_existing_path=binary("temporal"),
        dev_server_extra_args=[
            "--dynamic-config-value",
            "frontend.WorkflowTimeSkippingEnabled=true",
        ],
        search_attributes=list(sa.ALL),
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="session")
def pg_admin_dsn() -> Iterator[str]:
    """A real PostgreSQL: CSFLOW_TEST_DATABASE_URL if given, else the embedded one.

    Started from the main thread in a folder under /tmp, not pytest's tmp_path: as root
    the server runs as another user that must traverse every parent folder (see
    tests/stack/harness.py). Durability settings are off — test data is thrown away.
    """
    url = os.environ.get("CSFLOW_TEST_DATABASE_URL")
    if url:
        yield url
        return
    from csflow.embedded.postgres import EmbeddedPostgres
    from tests.stack.harness import scratch_dir

    fast = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
    with (
        scratch_dir() as root,
        EmbeddedPostgres(root / "pg", free_port(), server_settings=fast) as pg,
    ):
        yield pg.dsn("postgres")


@asynccontextmanager
async def _scratch_database(pg_admin_dsn: str, template: str = "template1") -> AsyncIterator[str]:
    """A database of its own, copied from `template`, dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(pg_admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        yield with_database(pg_admin_dsn, name)
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def empty_db(pg_admin_dsn: str) -> AsyncIterator[str]:
    """A fresh, empty database per test: tests never see each other's rows."""
    async with _scratch_database(pg_admin_dsn) as dsn:
        yield dsn


@pytest.fixture(scope="session")
async def migrated_template(pg_admin_dsn: str) -> AsyncIterator[str]:
    """The schema, migrated once per session: a database to copy, never used directly.

    Applying the migrations took a large share of every database test's set-up; a copy
    (`CREATE DATABASE … TEMPLATE`) is a file copy. The migrations themselves are still
    applied here, through the same `apply_migrations`, and tests/store/test_migrations.py
    applies them to empty databases.
    """
    name = f"tmpl_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        await apply_migrations(with_database(pg_admin_dsn, name))
        yield name
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def db(pg_admin_dsn: str, migrated_template: str) -> AsyncIterator[str]:
    """A fresh database with the whole schema per test: tests never see each other's rows."""
    async with _scratch_database(pg_admin_dsn, migrated_template) as dsn:
        yield dsn


@pytest.fixture
async def pool(db: str) -> AsyncIterator[Any]:
    p = await create_pool(db, max_size=5)
    try:
        yield p
    finally:
        await p.close()
