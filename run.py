#!/usr/bin/env python3
"""Bootstrap for a fresh machine that has only Python 3.11+: `python3 run.py up|test`.

Creates `.venv` on first use, (re)installs the project with its test extras whenever
pyproject.toml changes, then runs `csflow up` or the whole test suite (ruff, mypy,
pytest) inside it. Standard library only, because nothing else exists yet when it runs.

Arguments after `test` go to pytest: `python3 run.py test -m "not integration"` is the
fast lane (no Temporal server, PostgreSQL, browser or subprocess stack; under a minute).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("CSFLOW_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")


# Two pytest-xdist workers: most tests wait on a server rather than compute, so two
# overlap well even on two cores; tests/conftest.py keeps the tests that start stacks of
# their own or time real seconds on one worker, one at a time. Later arguments win:
# `python3 run.py test -n 0` runs everything in one process.
PARALLEL = ["-n", "2"]


def _say(msg: str) -> None:
    print(f"[run.py] {msg}", flush=True)


def ensure_env() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"csflow needs Python 3.11+, this is {sys.version.split()[0]}")
    if not (BIN / "python").exists():
        _say(f"creating virtual environment in {VENV}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    stamp = VENV / ".csflow-installed"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    _say("installing csflow and its test tools (first run only)")
    pip = [str(BIN / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "install", "-e", f"{ROOT}[test]"], check=True)
    stamp.write_text(digest)


def ensure_browser() -> None:
    """The page tests drive Debian's headless Chromium; never a downloaded browser.

    As root on Debian (CI here) it is installed with apt; elsewhere the tests that need it
    fail with the command to run, so a missing browser is never a silent skip.
    """
    if shutil.which("chromium") or not shutil.which("apt-get"):
        return
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        _say("installing Debian's chromium for the browser tests (first run only)")
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "chromium"],
            check=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )


def run(argv: list[str]) -> int:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(argv, cwd=ROOT, env=env, check=False).returncode


def main() -> int:
    what = sys.argv[1] if len(sys.argv) > 1 else ""
    extra = sys.argv[2:]
    if what not in ("up", "test"):
        print(
            "usage: python3 run.py up      # the whole stack, embedded\n"
            "       python3 run.py test    # ruff check, ruff format --check, mypy, pytest\n"
            "       python3 run.py test -m 'not integration'   # the fast lane"
        )
        return 2
    ensure_env()
    if what == "up":
        argv = [str(BIN / "csflow"), "up", *extra]
        if os.name == "posix":
            # Become `csflow up`: a SIGTERM or SIGINT sent to this process (a service
            # manager, `kill`) then reaches the stack, which stops its children in order,
            # instead of ending this wrapper and leaving them running.
            os.chdir(ROOT)
            os.execve(
                argv[0],
                argv,
                {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"},
            )
        return run(argv)
    ensure_browser()
    for step in (
        [str(BIN / "ruff"), "check", "."],
        [str(BIN / "ruff"), "format", "--check", "."],
        [str(BIN / "mypy")],
        [str(BIN / "pytest"), *PARALLEL, *extra],
    ):
        _say(" ".join(Path(step[0]).name if i == 0 else a for i, a in enumerate(step)))
        code = run(step)
        if code != 0:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
