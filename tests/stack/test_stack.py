"""`csflow up` as a supervisor: all-or-nothing start, restarts of what dies, ordered stop,
no orphans.

Most run `tests.stack.dummy_up` (real embedded PostgreSQL and Temporal, stand-in API and
worker) as a subprocess; the last one runs the real `python -m csflow up` end to end.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
import pytest

from csflow.contracts import CloseCommand, ConfirmCommand, Model, PlanCommand, ResolveCommand
from csflow.domain.codes import Priority
from csflow.embedded import EmbeddedPostgres, TemporalDevServer, find_temporal_binary
from csflow.embedded.aio import run_coroutine
from csflow.embedded.process import log_tail
from csflow.settings import Settings
from csflow.stack import run_up
from tests.helpers import AGENT, CUSTOMER, SUPERVISOR, intake
from tests.stack.dummy_up import WORKER_MARK, dummy_processes
from tests.stack.harness import UP_BANNER, Launch, Up, free_ports, stack_env

pytestmark = pytest.mark.stack

DUMMY = "tests.stack.dummy_up"


def _stopped_order(events: list[dict[str, object]]) -> list[object]:
    return [e["child"] for e in events if e.get("event") == "stopped"]


def test_a_taken_port_is_named_with_its_setting_and_nothing_starts(
    launch: Launch, scratch: Path
) -> None:
    env = stack_env(scratch / "data")
    port = int(env["CSFLOW_TEMPORAL_PORT"])
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        up = launch(DUMMY, env)
        code = up.wait(30)

    assert code == 2
    assert f"port {port} (Temporal frontend)" in up.output
    assert "CSFLOW_TEMPORAL_PORT" in up.output
    assert "started" not in up.output
    assert not (scratch / "data").exists()


def test_the_real_command_line_reports_a_taken_port_the_same_way(
    launch: Launch, scratch: Path
) -> None:
    env = stack_env(scratch / "data")
    port = int(env["CSFLOW_API_PORT"])
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        up = launch("csflow", env, "up")
        code = up.wait(30)

    assert code == 2, up.output
    lines = [line for line in up.lines if f"port {port}" in line]
    assert len(lines) == 1 and "CSFLOW_API_PORT" in lines[0]


def test_a_policy_with_a_typo_stops_up_before_anything_starts(
    launch: Launch, scratch: Path
) -> None:
    policy = scratch / "policy.toml"
    policy.write_text('[sla.P1]\nfirst_responce = "10m"\n', encoding="utf-8")
    env = stack_env(scratch / "data", CSFLOW_POLICY=str(policy))
    up = launch("csflow", env, "up")
    code = up.wait(30)

    assert code == 2, up.output
    assert "sla.P1.first_responce" in up.output and "unknown key" in up.output
    assert str(policy) in up.output
    assert "started" not in up.output
    assert not (scratch / "data").exists(), "nothing was started or written"


def test_one_port_configured_twice_is_refused(
    monkeypatch: pytest.MonkeyPatch, scratch: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for key, value in stack_env(scratch / "data").items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("CSFLOW_METRICS_PORT", os.environ["CSFLOW_API_PORT"])

    assert run_up(Settings(), processes=dummy_processes) == 2

    err = capsys.readouterr().err
    assert "CSFLOW_METRICS_PORT" in err and "CSFLOW_API_PORT" in err
    assert not (scratch / "data").exists()


def test_a_second_stack_on_the_same_data_dir_is_refused(
    launch: Launch,
    scratch: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    up = launch(DUMMY, stack_env(scratch / "data"))
    up.wait_for(UP_BANNER)
    for key, value in stack_env(scratch / "data").items():  # other ports, same folder
        monkeypatch.setenv(key, value)

    assert run_up(Settings(), processes=dummy_processes) == 2

    assert "already using" in capsys.readouterr().err
    assert up.popen.poll() is None


@pytest.mark.parametrize("how", ["sigterm", "terminal-ctrl-c"])
def test_a_stop_request_stops_every_child_in_reverse_order(
    launch: Launch, scratch: Path, how: str
) -> None:
    """A terminal's Ctrl-C signals its whole process group; children must not see it."""
    up = launch(DUMMY, stack_env(scratch / "data"))
    up.wait_for(UP_BANNER)
    tree = up.descendants()
    assert {"postgres", "temporal"} <= {p.name() for p in tree}
    assert str(scratch / "data" / "logs" / "worker.log") in up.output

    if how == "sigterm":
        up.popen.send_signal(signal.SIGTERM)
    else:
        os.killpg(up.popen.pid, signal.SIGINT)

    assert up.wait(60) == 0, up.output
    _, alive = psutil.wait_procs(tree, timeout=5)
    assert alive == [], f"survivors: {alive}"
    stopped = {e["child"]: e["exit_code"] for e in up.events() if e.get("event") == "stopped"}
    assert list(stopped) == ["worker", "api", "temporal", "postgres"]
    # Each died of the signal the supervisor sent it, not of the terminal's SIGINT.
    assert stopped["worker"] == -signal.SIGTERM and stopped["api"] == -signal.SIGTERM
    assert stopped["temporal"] == 0 and stopped["postgres"] == 0


def _restarted(up: Up, name: str, timeout: float = 30.0) -> psutil.Process:
    """Wait for the supervisor's "restarted" event for `name`; return the new process."""
    deadline = time.monotonic() + timeout
    while not [e for e in up.events() if e.get("event") == "restarted" and e["child"] == name]:
        assert time.monotonic() < deadline, f"{name} not restarted:\n{up.output}"
        assert up.popen.poll() is None, f"csflow up exited:\n{up.output}"
        time.sleep(0.1)
    return up.child(name)  # the latest "started"/"restarted" pid


def test_killed_children_are_restarted_and_the_rest_keeps_running(
    launch: Launch, scratch: Path
) -> None:
    """kill -9 of the worker, the API, PostgreSQL and Temporal: each comes back (said so
    in the log), the stack keeps running, and Ctrl-C still leaves no process behind."""
    env = stack_env(scratch / "data")
    up = launch(DUMMY, env)
    up.wait_for(UP_BANNER)
    first = {name: up.child(name) for name in ("worker", "api", "postgres", "temporal")}
    seen = set(up.descendants())

    for name in ("worker", "api", "postgres", "temporal"):
        first[name].kill()
        again = _restarted(up, name)
        assert again.pid != first[name].pid and again.is_running()
        seen |= set(up.descendants())
    assert WORKER_MARK in " ".join(up.child("worker").cmdline())
    deaths = [e for e in up.events() if e.get("event", "").startswith("a child exited")]
    assert [d["child"] for d in deaths] == ["worker", "api", "postgres", "temporal"]
    assert all(d["exit_code"] == -signal.SIGKILL and d["restart_in"] >= 1 for d in deaths)
    # The restarted servers serve: PostgreSQL keeps its data, the API port answers.
    dsn = f"postgresql://postgres@127.0.0.1:{env['CSFLOW_POSTGRES_PORT']}/csflow"
    deadline = time.monotonic() + 30
    while True:
        try:
            assert run_coroutine(_count_rows(dsn)) == 1
            break
        except (OSError, asyncpg.PostgresError):
            assert time.monotonic() < deadline
            time.sleep(0.3)
    _wait_port(int(env["CSFLOW_API_PORT"]))

    os.killpg(up.popen.pid, signal.SIGINT)  # a terminal's Ctrl-C
    assert up.wait(60) == 0, up.output
    _, alive = psutil.wait_procs(list(seen), timeout=5)
    assert alive == [], f"survivors: {alive}"
    assert _stopped_order(up.events())[-4:] == ["worker", "api", "temporal", "postgres"]


def _wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert time.monotonic() < deadline, f"nothing listens on {port}"
            time.sleep(0.2)


def test_with_restarts_off_a_child_killed_with_sigkill_stops_the_rest_and_fails(
    launch: Launch, scratch: Path
) -> None:
    up = launch(DUMMY, stack_env(scratch / "data", CSFLOW_RESTART="never"))
    up.wait_for(UP_BANNER)
    tree = up.descendants()
    worker = up.child("worker")
    assert WORKER_MARK in " ".join(worker.cmdline())

    worker.kill()

    assert up.wait(60) == 1, up.output
    _, alive = psutil.wait_procs(tree, timeout=5)
    assert alive == [], f"survivors: {alive}"
    [death] = [e for e in up.events() if e.get("event", "").startswith("a child exited")]
    assert death["child"] == "worker" and death["exit_code"] == -signal.SIGKILL
    assert death["log"].endswith("worker.log")
    assert _stopped_order(up.events()) == ["worker", "api", "temporal", "postgres"]


def test_restart_after_the_supervisor_itself_is_killed(launch: Launch, scratch: Path) -> None:
    """SIGKILL gives `csflow up` no chance to clean up: the children must still go."""
    env = stack_env(scratch / "data")
    up = launch(DUMMY, env)
    up.wait_for(UP_BANNER)
    tree = up.descendants()

    up.popen.kill()
    up.wait(10)
    _, alive = psutil.wait_procs(tree, timeout=30)
    assert alive == [], f"orphans: {alive}"

    again = launch(DUMMY, env)
    again.wait_for(UP_BANNER)
    assert not any(e.get("event") == "created database" for e in again.events())


def test_given_addresses_start_nothing_embedded(launch: Launch, scratch: Path) -> None:
    pg_port, temporal_port, ui_port = free_ports(3)
    postgres = EmbeddedPostgres(scratch / "ext-pg", pg_port, log_path=scratch / "pg.log")
    temporal = TemporalDevServer(
        scratch / "ext.db", temporal_port, ui_port, log_path=scratch / "temporal.log"
    )
    with postgres, temporal:
        postgres.create_database("external")
        env = stack_env(
            scratch / "data",
            DATABASE_URL=postgres.dsn("external"),
            TEMPORAL_ADDRESS=temporal.target,
            # Held by the external servers: must not be checked when they are not ours.
            CSFLOW_POSTGRES_PORT=str(pg_port),
            CSFLOW_TEMPORAL_PORT=str(temporal_port),
        )
        up = launch(DUMMY, env)
        up.wait_for(UP_BANNER)
        names = {p.name() for p in up.descendants()}
        up.popen.send_signal(signal.SIGTERM)
        assert up.wait(60) == 0, up.output

        assert "postgres" not in names and "temporal" not in names
        assert _stopped_order(up.events()) == ["worker", "api"]
        assert postgres.dsn("external") in up.output and "[external]" in up.output
        # The migrations ran against the given database, which is still serving.
        assert postgres.child is not None and postgres.child.exit_code() is None
        assert run_coroutine(_count_rows(postgres.dsn("external"))) == 1


async def _count_rows(dsn: str) -> int:
    conn: asyncpg.Connection[Any] = await asyncpg.connect(dsn)
    try:
        value: int = await conn.fetchval("SELECT count(*) FROM dummy_up")
        return value
    finally:
        await conn.close()


def _temporal(env: dict[str, str], *args: str) -> str:
    address = f"127.0.0.1:{env['CSFLOW_TEMPORAL_PORT']}"
    done = subprocess.run(
        [str(find_temporal_binary()), *args, "--address", address, "--namespace", "default"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return done.stdout


def _find_by_priority(env: dict[str, str], number: str, timeout: float = 15.0) -> None:
    """Ops find requests by search attribute; visibility lags writes a little."""
    deadline = time.monotonic() + timeout
    while True:
        listed = json.loads(
            _temporal(env, "workflow", "list", "--query", "Priority='P1'", "-o", "json") or "[]"
        )
        if number in {w["execution"]["workflowId"] for w in listed}:
            return
        assert time.monotonic() < deadline, f"{number} not listed with Priority='P1': {listed}"
        time.sleep(0.3)


async def _stored(dsn: str, number: str) -> tuple[int, list[tuple[int, str]]]:
    conn: asyncpg.Connection[Any] = await asyncpg.connect(dsn)
    try:
        rows: int = await conn.fetchval("SELECT count(*) FROM requests WHERE number = $1", number)
        events = await conn.fetch(
            "SELECT seq, kind FROM request_events WHERE number = $1 ORDER BY seq", number
        )
        return rows, [(e["seq"], e["kind"]) for e in events]
    finally:
        await conn.close()


def _create_as_a_careful_caller(
    api: str, body: dict[str, Any], auth: dict[str, str]
) -> httpx.Response:
    """POST /requests, waiting out each 429's Retry-After: admission control holds intake
    while a (re)started worker catches up, and says when to try again."""
    created = httpx.post(f"{api}/requests", json=body, headers=auth, timeout=30)
    for _ in range(30):
        if created.status_code != 429:
            break
        time.sleep(int(created.headers.get("retry-after", "1")))
        created = httpx.post(f"{api}/requests", json=body, headers=auth, timeout=30)
    return created


def test_end_to_end_a_request_survives_a_killed_worker(launch: Launch, scratch: Path) -> None:
    env = stack_env(scratch / "data")
    api = f"http://127.0.0.1:{env['CSFLOW_API_PORT']}"
    body = intake(priority=Priority.P1, external_id="e2e-kill-9").model_dump(
        mode="json", exclude_none=True
    )
    up = launch("csflow", env, "up")
    up.wait_for(UP_BANNER, timeout=120)
    api_log = scratch / "data" / "logs" / "api.log"
    service = (scratch / "data" / "tokens" / "service").read_text().strip()
    auth = {"Authorization": f"Bearer {service}"}
    assert "API token (admin)" in up.output
    assert httpx.post(f"{api}/requests", json=body, timeout=30).status_code == 401
    created = _create_as_a_careful_caller(api, body, auth)
    assert created.status_code in (201, 202), f"{created.text}\n{log_tail(api_log)}"
    number = created.json()["number"]
    _find_by_priority(env, number)

    up.child("worker").kill()  # the request is open: assigned, clocks running
    up.child("api").kill()
    for name in ("worker", "api"):
        _restarted(up, name)
    _find_by_priority(env, number)  # the stack kept running: Temporal answers throughout
    deadline = time.monotonic() + 60
    while True:  # the restarted API serves the request again
        try:
            if httpx.get(f"{api}/requests/{number}", headers=auth, timeout=5).is_success:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"API not back:\n{log_tail(api_log)}"
        time.sleep(0.3)

    eta = datetime.now(UTC) + timedelta(hours=1)
    steps: list[tuple[str, Model]] = [
        ("plan", PlanCommand(actor=SUPERVISOR, measures=["replace the parcel"], eta=eta)),
        ("resolve", ResolveCommand(actor=AGENT, summary="replacement delivered")),
        ("confirm", ConfirmCommand(actor=CUSTOMER, satisfied=True)),
        ("close", CloseCommand(actor=SUPERVISOR, reason="customer declined the follow-up")),
    ]

    def run(path: str, command: Model) -> None:
        answer = httpx.post(
            f"{api}/requests/{number}/{path}",
            headers=auth,
            json=command.model_dump(mode="json", exclude_none=True),
            timeout=60,
        )
        assert answer.status_code == 200, f"{path}: {answer.text}\n{log_tail(api_log)}"

    for path, command in steps[:3]:  # the healed stack carries the request on
        run(path, command)

    up.popen.send_signal(signal.SIGTERM)  # and a stop and a fresh start keep everything
    assert up.wait(60) == 0, up.output
    again = launch("csflow", env, "up")
    again.wait_for(UP_BANNER, timeout=120)
    again_token = (scratch / "data" / "tokens" / "service").read_text().strip()
    assert again_token == service  # a restart keeps the tokens it issued
    repeated = _create_as_a_careful_caller(api, body, auth)
    assert repeated.status_code == 200, f"{repeated.text}\n{log_tail(api_log)}"
    assert repeated.json()["number"] == number
    run(*steps[3])
    view = httpx.get(f"{api}/requests/{number}", headers=auth, timeout=30).json()

    assert view["status"] == "closed"
    assert "Total: 1" in _temporal(env, "workflow", "count", "--query", f"WorkflowId='{number}'")
    dsn = f"postgresql://postgres@127.0.0.1:{env['CSFLOW_POSTGRES_PORT']}/csflow"
    rows, events = run_coroutine(_stored(dsn, number))
    assert rows == 1
    kinds = [kind for _, kind in events]
    assert len(kinds) == len(set(kinds)) == 7, events  # each step recorded exactly once
    assert [seq for seq, _ in events] == list(range(1, 8))
    assert [(e["seq"], e["kind"]) for e in view["timeline"]] == events
