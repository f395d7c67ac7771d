"""Port checks done before anything starts, so a clash fails in a second with a clear fix.

A server that finds its port taken only says so deep in its own log, after its
neighbours have already started; checking up front keeps `csflow up` all-or-nothing.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterable
from dataclasses import dataclass

_WILDCARDS = {"", "0.0.0.0", "::"}


@dataclass(frozen=True)
class PortClaim:
    """A port some part of the stack will listen on, and the setting that moves it."""

    port: int
    purpose: str
    setting: str
    host: str = "127.0.0.1"

    def describe(self) -> str:
        return f"port {self.port} ({self.purpose}) on {self.host or '*'}"


def port_in_use(host: str, port: int) -> bool:
    """True when binding `host:port` fails or something already accepts connections there.

    SO_REUSEADDR mirrors what the servers themselves do, so a port left in TIME_WAIT by
    a previous run counts as free while a live listener (even on the wildcard address)
    counts as taken.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise
    # A listener using SO_REUSEPORT would let us bind; a connect attempt still finds it.
    probe_host = "127.0.0.1" if host in _WILDCARDS else host
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((probe_host, port)) == 0


def port_accepts(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when a TCP connection to `host:port` succeeds: a cheap readiness probe."""
    probe_host = "127.0.0.1" if host in _WILDCARDS else host
    try:
        with socket.create_connection((probe_host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port(host: str = "127.0.0.1") -> int:
    """A port the kernel considers free right now (tests and tools pick ports with it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_problems(claims: Iterable[PortClaim]) -> list[str]:
    """One readable line per claim that cannot be honoured; empty when all are free."""
    problems: list[str] = []
    seen: dict[int, PortClaim] = {}
    for claim in claims:
        if not 0 < claim.port < 65536:
            problems.append(
                f"{claim.describe()} is not a valid port; set {claim.setting} to 1-65535."
            )
            continue
        earlier = seen.get(claim.port)
        if earlier is not None:
            problems.append(
                f"{claim.describe()} is also configured for {earlier.purpose}; "
                f"set {claim.setting} or {earlier.setting} to a different port."
            )
            continue
        seen[claim.port] = claim
        if port_in_use(claim.host, claim.port):
            problems.append(
                f"{claim.describe()} is already in use; "
                f"set {claim.setting} to a free port (or stop what is using it)."
            )
    return problems
