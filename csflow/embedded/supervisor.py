"""Start children in order, watch them, and stop them all in reverse order.

The process list is data (`ProcessSpec`), so the supervisor is tested with dummy
commands and `csflow up` only decides which commands to run. Any way out — Ctrl-C,
SIGTERM, a child dying, a failed start — goes through the same ordered shutdown, so no
child outlives the supervisor.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from csflow.embedded.ports import PortClaim
from csflow.embedded.process import ChildProcess, EmbeddedStartError

log = structlog.get_logger("csflow.stack")

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def http_ok(url: str) -> bool:
    """Readiness probe: True once `GET url` answers 200.

    urllib rather than httpx: httpx logs every request at INFO, one line per probe.
    """
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:
            return bool(response.status == 200)
    except (OSError, ValueError):  # URLError and HTTPError (e.g. 503) are OSErrors
        return False


@dataclass(frozen=True)
class ProcessSpec:
    """One child to run: its command, environment, log, readiness probe and ports."""

    name: str
    argv: Sequence[str]
    log_path: Path
    env: Mapping[str, str] | None = None
    ready: Callable[[], bool] | None = None
    ready_timeout: float = 60.0
    ports: Sequence[PortClaim] = field(default_factory=tuple)
    stop_signal: int = signal.SIGTERM
    stop_timeout: float = 15.0
    cwd: Path | None = None

    def spawn(self) -> ChildProcess:
        return ChildProcess.spawn(
            self.name, self.argv, log_path=self.log_path, env=self.env, cwd=self.cwd,
            stop_signal=self.stop_signal, stop_timeout=self.stop_timeout,
        )


class Supervisor:
    """Owns every child started so far, in start order."""

    def __init__(self) -> None:
        self.children: list[ChildProcess] = []
        self.stop_signal: int | None = None

    def add(self, child: ChildProcess) -> ChildProcess:
        self.children.append(child)
        log.info("started", child=child.name, pid=child.pid, log=str(child.log_path))
        return child

    def spawn(self, spec: ProcessSpec) -> ChildProcess:
        return self.add(spec.spawn())

    async def wait_ready(self, spec: ProcessSpec, child: ChildProcess) -> None:
        """Poll the spec's probe until it passes; fail fast if the child exits first."""
        if spec.ready is None:
            return
        deadline = time.monotonic() + spec.ready_timeout
        while not await asyncio.to_thread(spec.ready):
            dead = self.first_exited()
            if dead is not None:  # this child, or one it depends on
                raise EmbeddedStartError(
                    f"{dead.name} exited with code {dead.exit_code()} while {spec.name} was "
                    f"starting; see {dead.log_path}:\n{dead.tail()}"
                )
            if time.monotonic() > deadline:
                raise EmbeddedStartError(
                    f"{spec.name} was not ready within {spec.ready_timeout:.0f}s; "
                    f"see {child.log_path}:\n{child.tail()}"
                )
            await asyncio.sleep(0.2)
        log.info("ready", child=spec.name)

    def first_exited(self) -> ChildProcess | None:
        return next((c for c in self.children if c.exit_code() is not None), None)

    async def watch(self, interval: float = 0.2) -> ChildProcess:
        """Return the first child found to have exited (they are all meant to run on).

        Polling, because a zombie left unreaped (see ChildProcess.exit_code) raises no
        event of its own; a fifth of a second is quick enough for a person.
        """
        while True:
            dead = self.first_exited()
            if dead is not None:
                return dead
            await asyncio.sleep(interval)

    def stop_all(self) -> None:
        """Stop children newest first: clients before the servers they depend on."""
        for child in reversed(self.children):
            if child.exit_code() is None:
                log.info("stopping", child=child.name, pid=child.pid)
            code = child.stop()
            log.info("stopped", child=child.name, exit_code=code)

    async def run(self, startup: Callable[[], Awaitable[None]], on_up: Callable[[], None]) -> int:
        """Run `startup`, call `on_up`, then watch until a signal or a child's death.

        Exit code 0 after a stop signal, 1 after a failed start or a child's death.
        """
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None

        def on_signal(signum: int) -> None:
            if self.stop_signal is None:
                self.stop_signal = signum
                log.info("stop requested", signal=signal.Signals(signum).name)
                task.cancel()

        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, on_signal, sig)
        try:
            await startup()
            on_up()
            dead = await self.watch()
            log.error(
                "a child exited unexpectedly; stopping the others", child=dead.name,
                exit_code=dead.exit_code(), log=str(dead.log_path),
            )
            _explain(f"last lines of {dead.log_path}:\n{dead.tail()}")
            return 1
        except asyncio.CancelledError:
            if self.stop_signal is None:
                raise
            return 0
        except EmbeddedStartError as exc:
            log.error("start failed; stopping what was started")
            _explain(str(exc))
            return 1
        except Exception:
            log.exception("start failed; stopping what was started")
            return 1
        finally:
            self.stop_all()
            for sig in STOP_SIGNALS:
                loop.remove_signal_handler(sig)


def _explain(text: str) -> None:
    """Multi-line detail (a log tail) goes to stderr as is; a log renderer would mangle it."""
    print(text, file=sys.stderr, flush=True)
