"""The worker's cache size: `auto` (the default) sizes it to a quarter of the memory the
process may use, a container's limit before the machine's; a number is taken as given."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from csflow import memory
from csflow.settings import Settings

GIB = 1024**3


def test_a_quarter_of_the_memory_at_a_measured_cost_per_run() -> None:
    assert memory.cached_runs(4 * GIB) == 4096  # 1 GiB / 256 kB
    assert memory.cached_runs(24 * GIB) == memory.CEILING
    assert memory.cached_runs(512 * 1024**2) == memory.FLOOR, "never below the SDK's default"
    assert memory.cached_runs(None) == memory.FLOOR, "memory unknown"


@given(st.integers(min_value=0, max_value=2**50))
def test_always_within_its_bounds_and_growing_with_memory(available: int) -> None:
    runs = memory.cached_runs(available)
    assert memory.FLOOR <= runs <= memory.CEILING
    assert runs <= memory.cached_runs(available * 2)


def test_a_containers_limit_wins_over_the_machines_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    v2, v1 = tmp_path / "memory.max", tmp_path / "memory.limit_in_bytes"
    monkeypatch.setattr(memory, "_CGROUP_LIMITS", (v2, v1))
    physical = memory.available_bytes()
    assert physical is not None and physical > 2 * GIB, "this machine's memory is read"
    v2.write_text(f"{2 * GIB}\n")
    assert memory.available_bytes() == 2 * GIB
    v2.write_text("max\n")  # cgroup v2: no limit
    v1.write_text(f"{2**63 - 4096}\n")  # cgroup v1's way of saying the same
    assert memory.available_bytes() == physical


def test_the_setting_takes_auto_or_a_number(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CSFLOW_WORKER_MAX_CACHED_WORKFLOWS", raising=False)
    monkeypatch.setattr(memory, "available_bytes", lambda: 8 * GIB)
    assert Settings().worker_max_cached_workflows == 8192, "auto by default"
    monkeypatch.setenv("CSFLOW_WORKER_MAX_CACHED_WORKFLOWS", "auto")
    assert Settings().worker_max_cached_workflows == 8192
    monkeypatch.setenv("CSFLOW_WORKER_MAX_CACHED_WORKFLOWS", "3000")
    assert Settings().worker_max_cached_workflows == 3000
    for bad in ("-1", "lots", "1.5"):
        monkeypatch.setenv("CSFLOW_WORKER_MAX_CACHED_WORKFLOWS", bad)
        with pytest.raises(ValidationError, match="CSFLOW_WORKER_MAX_CACHED_WORKFLOWS"):
            Settings()
