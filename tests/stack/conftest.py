"""The `launch` fixture: every `csflow up` a test starts is stopped after it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stack.harness import Launch, Up, scratch_dir


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A data dir parent the embedded PostgreSQL can always reach (see scratch_dir)."""
    with scratch_dir() as path:
        yield path


@pytest.fixture
def launch() -> Iterator[Launch]:
    """Start `python -m <module>` from the repository root with the given environment."""
    started: list[Up] = []

    def start(module: str, env: dict[str, str], *args: str) -> Up:
        up = Up([sys.executable, "-m", module, *args], env)
        started.append(up)
        return up

    yield start
    for up in started:
        up.kill()
