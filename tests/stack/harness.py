"""Run `csflow up` (or its dummy-children variant) as a subprocess and watch its output."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import psutil
import pytest

from csflow.embedded import port_in_use

REPO = Path(__file__).resolve().parents[2]
UP_BANNER = "csflow is up."


@contextmanager
def scratch_dir() -> Iterator[Path]:
    """A temporary folder directly under /tmp, for data the embedded PostgreSQL writes.

    Not pytest's `tmp_path`: as root, PostgreSQL runs as another user that must pass
    through every parent folder, and each pytest session that starts re-locks
    /tmp/pytest-of-<user> to 0700 — another test run on the machine would cut a running
    initdb off from its own files.
    """
    path = Path(tempfile.mkdtemp(prefix="csflow-test-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def free_ports(count: int) -> list[int]:
    """Distinct free ports below the kernel's ephemeral range.

    The Temporal dev server binds a few ports of its own chosen by the kernel from the
    ephemeral range while it starts, before the API and worker bind theirs; picking ours
    outside that range keeps the two from colliding.
    """
    ports: list[int] = []
    while len(ports) < count:
        port = random.randrange(20_000, 32_000)
        if port not in ports and not port_in_use("127.0.0.1", port):
            ports.append(port)
    return ports


def stack_env(data_dir: Path, **overrides: str) -> dict[str, str]:
    """The environment of a `csflow up` on free ports with its data in `data_dir`."""
    temporal, ui, postgres, api, metrics, codec = free_ports(6)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TEMPORAL_ADDRESS")}
    env.update(
        CSFLOW_DATA_DIR=str(data_dir),
        CSFLOW_TEMPORAL_PORT=str(temporal),
        CSFLOW_TEMPORAL_UI_PORT=str(ui),
        CSFLOW_POSTGRES_PORT=str(postgres),
        CSFLOW_API_PORT=str(api),
        CSFLOW_METRICS_PORT=str(metrics),
        CSFLOW_CODEC_PORT=str(codec),
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return env


class Up:
    """A running `csflow up`: its merged output, its events and its process tree."""

    def __init__(self, argv: Sequence[str], env: dict[str, str]) -> None:
        self.popen = subprocess.Popen(
            list(argv),
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group, like a shell job
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def events(self) -> list[dict[str, Any]]:
        found = []
        for line in list(self.lines):
            if line.startswith("{"):
                try:
                    found.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return found

    def wait_for(self, text: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in list(self.lines)):
            if self.popen.poll() is not None:
                self._reader.join(5)
                if any(text in line for line in self.lines):
                    return
                pytest.fail(f"csflow up exited ({self.popen.returncode}):\n{self.output}")
            if time.monotonic() > deadline:
                pytest.fail(f"no {text!r} within {timeout}s:\n{self.output}")
            time.sleep(0.05)

    def wait(self, timeout: float = 90.0) -> int:
        code = self.popen.wait(timeout)
        self._reader.join(5)
        return code

    def descendants(self) -> list[psutil.Process]:
        return psutil.Process(self.popen.pid).children(recursive=True)

    def child(self, name: str) -> psutil.Process:
        """The direct child running under `name` (the supervisor's latest "started" or
        "restarted" event for it)."""
        pids = [
            e["pid"]
            for e in self.events()
            if e.get("event") in ("started", "restarted") and e.get("child") == name
        ]
        assert pids, f"no child {name!r} started:\n{self.output}"
        return psutil.Process(pids[-1])

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(60)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


class Launch(Protocol):
    def __call__(self, module: str, env: dict[str, str], *args: str) -> Up: ...
