"""Full garbage collections on a schedule (csflow/collector.py): while a worker runs,
CPython starts no full collection of its own, one runs every interval instead, and the
thresholds found are restored when the last holder leaves."""

from __future__ import annotations

import asyncio
import gc
import itertools
import time
import types
import weakref
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from csflow import collector
from csflow.settings import Settings


class _Cyclic:
    """Garbage only a collection frees: it refers to itself."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture
def full_collections() -> Iterator[list[float]]:
    """The start times of every generation-2 collection while the test runs."""
    seen: list[float] = []

    def on(phase: str, info: dict[str, Any]) -> None:
        if phase == "start" and info["generation"] == 2:
            seen.append(asyncio.get_event_loop().time())

    gc.callbacks.append(on)
    yield seen
    gc.callbacks.remove(on)


async def test_no_full_collection_of_its_own_while_held_and_the_thresholds_restored() -> None:
    before = gc.get_threshold()
    async with collector.scheduled_full_collections(3600):
        young, middle, oldest = gc.get_threshold()
        assert (young, middle) == before[:2], "the young generations are collected as before"
        assert oldest == collector.NEVER
    assert gc.get_threshold() == before


async def test_one_full_collection_per_interval_frees_garbage_that_outlived_the_young(
    full_collections: list[float],
) -> None:
    async with collector.scheduled_full_collections(0.2):
        garbage = _Cyclic()
        gone = weakref.ref(garbage)
        gc.collect(1)  # it survives the young generations: now only a full collection
        del garbage  # frees it
        for _ in range(200):  # young collections keep running, they cannot free it
            [_Cyclic() for _ in range(100)]
        assert gone() is not None, "no full collection before the interval"
        await asyncio.sleep(0.5)
        assert gone() is None, "the scheduled full collection freed it"
        assert 1 <= len(full_collections) <= 3
        gaps = [b - a for a, b in itertools.pairwise(full_collections)]
        assert all(gap >= 0.15 for gap in gaps), gaps


async def test_holders_share_one_schedule_and_the_last_one_restores() -> None:
    before = gc.get_threshold()
    outer = collector.scheduled_full_collections(3600)
    await outer.__aenter__()
    async with collector.scheduled_full_collections(3600):
        assert collector._schedule.holders == 2
        running = collector._schedule.task
    assert gc.get_threshold()[2] == collector.NEVER, "the other worker still runs"
    assert collector._schedule.task is running and running is not None and not running.done()
    await outer.__aexit__(None, None, None)
    assert gc.get_threshold() == before
    assert running.cancelled()
    assert collector._schedule.holders == 0 and collector._schedule.task is None


async def test_interval_zero_leaves_pythons_own_rule() -> None:
    before = gc.get_threshold()
    async with collector.scheduled_full_collections(0):
        assert gc.get_threshold() == before
        assert collector._schedule.task is None


def test_the_setting_defaults_to_half_an_hour_and_refuses_nonsense() -> None:
    assert Settings().worker_gc_interval == 1800
    assert Settings(CSFLOW_WORKER_GC_INTERVAL="0").worker_gc_interval == 0
    for bad in ("-1", "86401", "soon", "nan"):
        with pytest.raises(ValidationError):
            Settings(CSFLOW_WORKER_GC_INTERVAL=bad)


async def test_a_process_grown_past_its_full_cache_is_collected_before_the_interval(
    full_collections: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Evicted runs' garbage: growth while the cache fills waits for the schedule; once
    the process is past its full cache, allocated blocks a quarter over what the last
    collection left are collected at the next look, and the reference moves to what
    that collection leaves — it falls with the garbage, where the process's size would
    have stayed at its high-water mark."""
    monkeypatch.setattr(collector, "CHECK_EVERY", 0.05)
    monkeypatch.setattr(collector, "MIN_GAP", 0.0)
    monkeypatch.setattr(collector, "PAUSE_SHARE", 1e9)  # no gap after a pause either
    size, blocks = [1000], [100]
    async with collector.scheduled_full_collections(3600, 500, lambda: size[0], lambda: blocks[0]):
        size[0], blocks[0] = 1500, 1000  # the cache filling: runs, not garbage
        await asyncio.sleep(0.3)
        assert full_collections == []
        size[0] = 1600  # past the full cache, the blocks far over the start's
        await asyncio.sleep(0.3)
        assert len(full_collections) == 1, "one collection, then the reference is 1000"
        blocks[0] = 1200  # under 1000 × 1.25, though the process stays past its floor
        await asyncio.sleep(0.3)
        assert len(full_collections) == 1
        blocks[0] = 1300
        await asyncio.sleep(0.3)
        assert len(full_collections) == 2, "the reference follows the blocks, not the size"
        blocks[0] = 1400  # what that collection left was 1300: under 1625
        await asyncio.sleep(0.3)
        assert len(full_collections) == 2


async def test_blocks_grown_within_the_cache_wait_for_the_schedule(
    full_collections: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every run cached (the process under its full-cache size): however the blocks
    grow, only the schedule collects — a pause walks every cached run."""
    monkeypatch.setattr(collector, "CHECK_EVERY", 0.05)
    monkeypatch.setattr(collector, "MIN_GAP", 0.0)
    monkeypatch.setattr(collector, "PAUSE_SHARE", 1e9)  # no gap after a pause either
    size, blocks = [1000], [100]
    async with collector.scheduled_full_collections(3600, 500, lambda: size[0], lambda: blocks[0]):
        size[0], blocks[0] = 1499, 10_000
        await asyncio.sleep(0.3)
        assert full_collections == []


async def test_without_a_cache_size_only_the_schedule_collects(
    full_collections: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(collector, "CHECK_EVERY", 0.05)
    size = [1000]
    async with collector.scheduled_full_collections(3600, None, lambda: size[0]):
        size[0] = 10_000
        await asyncio.sleep(0.3)
        assert full_collections == []


async def test_growth_waits_the_minimum_gap_after_a_collection(
    full_collections: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(collector, "CHECK_EVERY", 0.05)
    monkeypatch.setattr(collector, "MIN_GAP", 0.6)
    size, blocks = [1000], [100]
    async with collector.scheduled_full_collections(3600, 0, lambda: size[0], lambda: blocks[0]):
        size[0], blocks[0] = 5000, 1000
        await asyncio.sleep(0.3)
        assert full_collections == [], "within the gap after the start"
        await asyncio.sleep(0.6)
        assert len(full_collections) == 1


async def test_after_a_pause_growth_waits_in_proportion_to_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A collection that took p seconds is followed by one the growth starts only
    p / PAUSE_SHARE later: with a small cache short gaps make short pauses, and a long
    pause is not repeated before the worker has done the work it held up."""
    started: list[float] = []

    def a_pause_of_50_ms() -> int:  # stands in for gc.collect: a pause of known length
        started.append(time.monotonic())
        time.sleep(0.05)
        return 0

    shim = types.SimpleNamespace(
        collect=a_pause_of_50_ms, get_threshold=gc.get_threshold, set_threshold=gc.set_threshold
    )
    monkeypatch.setattr(collector, "gc", shim)
    monkeypatch.setattr(collector, "CHECK_EVERY", 0.02)
    monkeypatch.setattr(collector, "MIN_GAP", 0.0)
    monkeypatch.setattr(collector, "PAUSE_SHARE", 0.1)  # 50 ms → 0.5 s at least
    size, blocks = [1000], [100]
    async with collector.scheduled_full_collections(3600, 0, lambda: size[0], lambda: blocks[0]):
        size[0], blocks[0] = 5000, 1000
        await asyncio.sleep(0.15)
        assert len(started) == 1
        blocks[0] = 10_000  # far over what it left, at once
        await asyncio.sleep(0.25)
        assert len(started) == 1, "within p / PAUSE_SHARE of the pause"
        await asyncio.sleep(0.8)
        assert len(started) == 2
        assert started[1] - started[0] >= 0.55, started  # the pause, then 0.5 s at least
