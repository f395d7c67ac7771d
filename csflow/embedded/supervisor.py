"""Start children in order, keep them running, and stop them all in reverse order.

The process list is data (`ProcessSpec`), so the supervisor is tested with dummy
commands and `csflow up` only decides which commands to run. Once the stack is up, a
child that dies is restarted in place after a backoff (`RestartPolicy`), the others
running on: a crashed worker must not take the API down with it. Any way out — Ctrl-C,
SIGTERM, a failed start, a child that cannot be restarted — goes through the same
ordered shutdown, so no child outlives the supervisor.
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
            self.name,
            self.argv,
            log_path=self.log_path,
            env=self.env,
            cwd=self.cwd,
            stop_signal=self.stop_signal,
            stop_timeout=self.stop_timeout,
        )


@dataclass(frozen=True)
class RestartPolicy:
    """How a dead child is brought back: after `first_delay`, doubling per quick death up
    to `max_delay`; a child that ran `stable_after` seconds starts from `first_delay`
    again. `enabled=False` restores stop-everything-on-death (CSFLOW_RESTART=never)."""

    enabled: bool = True
    first_delay: float = 1.0
    max_delay: float = 30.0
    stable_after: float = 60.0

    def delay(self, quick_deaths: int) -> float:
        return float(min(self.first_delay * 2 ** min(quick_deaths, 20), self.max_delay))


@dataclass
class _Restart:
    """What the supervisor knows to bring one child back."""

    respawn: Callable[[], ChildProcess]
    ready: Callable[[], bool] | None
    started_at: float = field(default_factory=time.monotonic)
    quick_deaths: int = 0
    restarts: int = 0


class Supervisor:
    """Owns every child started so far, in start order."""

    def __init__(self, restart: RestartPolicy | None = None) -> None:
        self.children: list[ChildProcess] = []
        self.stop_signal: int | None = None
        self.restart = restart or RestartPolicy()
        self._restartable: dict[str, _Restart] = {}
        self._restarting: dict[str, asyncio.Task[None]] = {}

    def add(
        self,
        child: ChildProcess,
        *,
        respawn: Callable[[], ChildProcess] | None = None,
        ready: Callable[[], bool] | None = None,
    ) -> ChildProcess:
        """Own `child`; with `respawn`, a death after start-up is healed by calling it."""
        self.children.append(child)
        if respawn is not None:
            self._restartable[child.name] = _Restart(respawn, ready)
        log.info("started", child=child.name, pid=child.pid, log=str(child.log_path))
        return child

    def spawn(self, spec: ProcessSpec) -> ChildProcess:
        return self.add(spec.spawn(), respawn=spec.spawn, ready=spec.ready)

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
        return next(
            (
                c
                for c in self.children
                if c.name not in self._restarting and c.exit_code() is not None
            ),
            None,
        )

    async def supervise(self, interval: float = 0.2) -> ChildProcess:
        """Restart each child that dies; return one that cannot be restarted.

        Each restart waits in its own task, so a child in backoff never delays noticing
        (or restarting) another.
        """
        while True:
            dead = await self.watch(interval)
            plan = self._restartable.get(dead.name)
            if not self.restart.enabled or plan is None:
                return dead
            self._restarting[dead.name] = asyncio.create_task(self._bring_back(dead, plan))

    async def _bring_back(self, dead: ChildProcess, plan: _Restart) -> None:
        code = dead.exit_code()
        ran = time.monotonic() - plan.started_at
        plan.quick_deaths = 0 if ran >= self.restart.stable_after else plan.quick_deaths + 1
        delay = self.restart.delay(plan.quick_deaths - 1 if plan.quick_deaths else 0)
        dead.stop()  # reap it and clear what it left in its process group
        log.error(
            "a child exited unexpectedly; restarting it",
            child=dead.name,
            exit_code=code,
            ran_seconds=round(ran, 1),
            restart_in=delay,
            log=str(dead.log_path),
        )
        _explain(f"last lines of {dead.log_path}:\n{dead.tail()}")
        try:
            await asyncio.sleep(delay)
            try:
                child = plan.respawn()  # in the main thread: see process.py on PDEATHSIG
            except Exception as exc:  # e.g. a data dir gone: try again after the next delay
                log.error("restart failed; trying again", child=dead.name, error=repr(exc))
                plan.started_at = time.monotonic()
                return
            self.children[self.children.index(dead)] = child  # keeps the stop order
            plan.started_at = time.monotonic()
            plan.restarts += 1
            log.info(
                "restarted",
                child=child.name,
                pid=child.pid,
                restarts=plan.restarts,
                log=str(child.log_path),
            )
        finally:
            del self._restarting[dead.name]
        if plan.ready is not None:
            while not await asyncio.to_thread(plan.ready):
                if child.exit_code() is not None:
                    return  # died again: the watch loop restarts it
                await asyncio.sleep(0.2)
            log.info("ready", child=child.name, restarts=plan.restarts)

    async def watch(self, interval: float = 0.2) -> ChildProcess:
        """Return the first child found to have exited (they are all meant to run on),
        leaving out those being restarted.

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
        """Run `startup`, call `on_up`, then supervise until a signal.

        Exit code 0 after a stop signal, 1 after a failed start or the death of a child
        that is not restarted (restarts disabled, or one added without `respawn`).
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
            dead = await self.supervise()
            log.error(
                "a child exited unexpectedly; stopping the others",
                child=dead.name,
                exit_code=dead.exit_code(),
                log=str(dead.log_path),
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
            for pending in list(self._restarting.values()):
                pending.cancel()  # a child in backoff is not started again
            self.stop_all()
            for sig in STOP_SIGNALS:
                loop.remove_signal_handler(sig)


def _explain(text: str) -> None:
    """Multi-line detail (a log tail) goes to stderr as is; a log renderer would mangle it."""
    print(text, file=sys.stderr, flush=True)
