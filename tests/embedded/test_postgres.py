"""The embedded PostgreSQL: quick to start, keeps its data, survives being killed."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import psutil
import pytest

from csflow.embedded import EmbeddedPostgres, EmbeddedStartError, free_port
from csflow.embedded.postgres import SYSTEM_USER

pytestmark = pytest.mark.integration


@pytest.fixture
def pg(scratch: Path) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(scratch / "postgres", free_port(), log_path=scratch / "pg.log")
    try:
        yield server
    finally:
        server.stop()


async def _fetch_notes(dsn: str) -> list[str]:
    conn: asyncpg.Connection[Any] = await asyncpg.connect(dsn)
    try:
        return [r["body"] for r in await conn.fetch("SELECT body FROM notes ORDER BY id")]
    finally:
        await conn.close()


async def _write_note(dsn: str, body: str) -> None:
    conn: asyncpg.Connection[Any] = await asyncpg.connect(dsn)
    try:
        await conn.execute("CREATE TABLE IF NOT EXISTS notes (id serial PRIMARY KEY, body text)")
        await conn.execute("INSERT INTO notes (body) VALUES ($1)", body)
    finally:
        await conn.close()


def _kill9(server: EmbeddedPostgres) -> None:
    assert server.child is not None
    os.kill(server.child.pid, signal.SIGKILL)
    server.child.popen.wait(10)
    assert (server.data_dir / "postmaster.pid").exists()  # left behind, as after a crash


async def test_serves_tcp_and_keeps_data_across_restarts(pg: EmbeddedPostgres) -> None:
    pg.start()
    assert pg.create_database("csflow") is True
    assert pg.create_database("csflow") is False
    assert pg.dsn() == f"postgresql://postgres@127.0.0.1:{pg.port}/csflow"
    await _write_note(pg.dsn(), "客户 survives a restart")

    pg.stop()
    assert pg.child is not None and pg.child.popen.returncode == 0  # fast shutdown, clean
    pg.start()

    assert await _fetch_notes(pg.dsn()) == ["客户 survives a restart"]


async def test_runs_unprivileged_and_owns_its_data(pg: EmbeddedPostgres) -> None:
    pg.start()
    assert pg.child is not None
    owner = psutil.Process(pg.child.pid).username()
    expected = SYSTEM_USER if os.geteuid() == 0 else psutil.Process().username()
    assert owner == expected
    assert (pg.data_dir.stat().st_mode & 0o777) == 0o700


async def test_restarts_after_kill9_left_a_stale_postmaster_pid(pg: EmbeddedPostgres) -> None:
    pg.start()
    pg.create_database("csflow")
    await _write_note(pg.dsn(), "before the crash")
    _kill9(pg)

    pg.start()

    assert await _fetch_notes(pg.dsn()) == ["before the crash"]


def test_restarts_when_the_stale_pid_was_reused_by_a_live_process(
    pg: EmbeddedPostgres,
) -> None:
    """PostgreSQL alone refuses this case (the pid belongs to a live process of its user)."""
    pg.start()
    _kill9(pg)
    user = SYSTEM_USER if os.geteuid() == 0 else None
    squatter = subprocess.Popen(["sleep", "60"], user=user)
    try:
        pidfile = pg.data_dir / "postmaster.pid"
        lines = pidfile.read_text().splitlines()
        pidfile.write_text("\n".join([str(squatter.pid), *lines[1:]]) + "\n")

        pg.start()

        assert pg.child is not None and pg.child.exit_code() is None
        assert squatter.poll() is None  # an unrelated process is never touched
    finally:
        squatter.kill()
        squatter.wait()


def test_refuses_a_second_server_on_the_same_data_dir(pg: EmbeddedPostgres, scratch: Path) -> None:
    pg.start()
    twin = EmbeddedPostgres(pg.data_dir, free_port(), log_path=scratch / "twin.log")
    with pytest.raises(EmbeddedStartError, match="already running"):
        twin.start()
    assert pg.child is not None and pg.child.exit_code() is None


def test_a_failed_start_names_the_log_and_shows_its_tail(scratch: Path) -> None:
    server = EmbeddedPostgres(
        scratch / "postgres",
        free_port(),
        log_path=scratch / "pg.log",
        server_settings={"shared_buffers": "lots"},
    )
    with pytest.raises(EmbeddedStartError) as caught:
        server.start()
    message = str(caught.value)
    assert str(scratch / "pg.log") in message
    assert "shared_buffers" in message  # the log tail says what was wrong
    assert server.child is not None and server.child.exit_code() is not None


@pytest.mark.skipif(os.geteuid() != 0, reason="user switching happens only as root")
def test_as_root_a_private_parent_folder_is_made_passable_not_listable(scratch: Path) -> None:
    private = scratch / "private"
    private.mkdir(mode=0o700)
    with EmbeddedPostgres(private / "postgres", free_port(), log_path=scratch / "pg.log") as pg:
        assert pg.create_database("csflow") is True
    assert private.stat().st_mode & 0o777 == 0o701
