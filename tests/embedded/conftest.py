"""Fixtures for the embedded servers' tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stack.harness import scratch_dir


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A data dir parent the embedded PostgreSQL can always reach (see scratch_dir)."""
    with scratch_dir() as path:
        yield path
