"""Child processes that cannot outlive `csflow up`, and stop in an orderly way.

Every child runs in its own session so a terminal Ctrl-C reaches only the supervisor,
which then stops children in a chosen order; `PR_SET_PDEATHSIG` covers the case where the
supervisor itself is killed with SIGKILL and gets no chance to clean up.

`PR_SET_PDEATHSIG` fires when the *thread* that forked the child exits, not the process:
spawn children only from a thread that lives as long as they should (the main thread).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pwd
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

_PR_SET_PDEATHSIG = 1


class EmbeddedStartError(RuntimeError):
    """A component did not come up; the message says which, why, and where its log is."""


def log_tail(log_path: Path, *, since: int = 0, lines: int = 15) -> str:
    """The last lines a child wrote (from byte offset `since`), for error messages."""
    try:
        with log_path.open("rb") as fh:
            fh.seek(since)
            text = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _death_signal_hook(sig: int) -> Callable[[], None] | None:
    """A `preexec_fn` that makes the child receive `sig` when its parent dies (Linux only).

    It runs after Popen has switched uid/gid, which matters: changing credentials
    clears the death signal. If the parent died before prctl ran, the child signals
    itself, so there is no window in which it could be orphaned.
    """
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved before fork, not in the child
    parent = os.getpid()

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)
        if os.getppid() != parent:
            os.kill(os.getpid(), sig)

    return hook


def _decode_wait_status(code: int, status: int) -> int:
    """Popen-style return code: the exit status, or minus the signal that killed it."""
    if code == os.CLD_EXITED:
        return status
    return -status


class ChildProcess:
    """A started child: its identity, its log, and how to stop it."""

    def __init__(
        self,
        name: str,
        popen: subprocess.Popen[bytes],
        log_path: Path,
        *,
        stop_signal: int,
        stop_timeout: float,
        log_offset: int = 0,
    ) -> None:
        self.name = name
        self.popen = popen
        self.log_path = log_path
        self.stop_signal = stop_signal
        self.stop_timeout = stop_timeout
        self.log_offset = log_offset

    @classmethod
    def spawn(
        cls,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        user: str | None = None,
        stop_signal: int = signal.SIGTERM,
        stop_timeout: float = 10.0,
    ) -> ChildProcess:
        """Start `argv` with stdout+stderr appended to `log_path`, in a new session."""
        log_path.parent.mkdir(parents=True, exist_ok=True)
        uid = gid = None
        if user is not None:
            entry = pwd.getpwnam(user)
            uid, gid = entry.pw_uid, entry.pw_gid
        with log_path.open("ab") as log:
            offset = log.tell()
            stamp = datetime.now(UTC).isoformat(timespec="seconds")
            log.write(f"--- {stamp} starting {name}: {' '.join(argv)}\n".encode())
            log.flush()
            popen = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=None if env is None else dict(env),
                cwd=cwd,
                start_new_session=True,
                preexec_fn=_death_signal_hook(stop_signal),
                user=uid,
                group=gid,
                extra_groups=None if uid is None else [],
            )
        return cls(
            name,
            popen,
            log_path,
            stop_signal=stop_signal,
            stop_timeout=stop_timeout,
            log_offset=offset,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def exit_code(self) -> int | None:
        """The exit code once the child has exited, else None — without reaping it.

        Leaving the zombie in place keeps its pid (and so its process group id) from
        being reused until `stop()` has killed any grandchildren left in the group.
        """
        if self.popen.returncode is not None:
            return self.popen.returncode
        try:
            info = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return self.popen.poll()
        if info is None or info.si_pid == 0:
            return None
        return _decode_wait_status(info.si_code, info.si_status)

    def tail(self, lines: int = 15) -> str:
        return log_tail(self.log_path, since=self.log_offset, lines=lines)

    def stop(self) -> int:
        """Ask politely, wait `stop_timeout`, then SIGKILL; clear the process group too.

        Idempotent. Returns the child's exit code.
        """
        if self.popen.returncode is not None:
            return self.popen.returncode
        if self.exit_code() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, self.stop_signal)
            deadline = time.monotonic() + self.stop_timeout
            while self.exit_code() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            if self.exit_code() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
        # The leader is now at most a zombie, so its group id cannot have been reused.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        return self.popen.wait()
