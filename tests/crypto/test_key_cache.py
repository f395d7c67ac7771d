"""The data-key cache forgets: entries leave memory after their minute, and it is bounded."""

from __future__ import annotations

import os

from csflow.crypto import envelope
from csflow.crypto.envelope import DataKey, KeyCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _key(n: int) -> DataKey:
    return DataKey(f"00000000-0000-0000-0000-{n:012d}", os.urandom(32))


def test_a_key_is_served_within_its_minute_and_gone_after_it() -> None:
    clock = Clock()
    cache = KeyCache(timer=clock)
    key = cache.remember("C-1", _key(1))
    assert cache.for_customer("C-1") == key and cache.by_handle(key.handle) == key
    clock.now += envelope.CACHE_SECONDS - 1
    assert cache.for_customer("C-1") == key
    clock.now += 2
    assert cache.for_customer("C-1") is None and cache.by_handle(key.handle) is None


def test_expired_keys_leave_memory_when_others_are_stored() -> None:
    """A worker meeting new customers all day holds only the last minute's keys: an
    erased customer's key does not linger in the process past its minute."""
    clock = Clock()
    cache = KeyCache(timer=clock)
    for n in range(500):
        cache.remember(f"C-{n}", _key(n))
        clock.now += 1.0
    # 500 customers over 500 s: only those of the last minute are still held (both maps).
    assert len(cache) <= 2 * (int(envelope.CACHE_SECONDS) + 1)
    assert cache.for_customer("C-0") is None and cache.for_customer("C-499") is not None


def test_the_cache_is_bounded_however_many_customers_arrive_at_once() -> None:
    clock = Clock()
    cache = KeyCache(timer=clock)
    for n in range(envelope.CACHE_ENTRIES + 50):
        cache.remember(f"C-{n}", _key(n))
    assert len(cache) == 2 * envelope.CACHE_ENTRIES
    assert cache.for_customer(f"C-{envelope.CACHE_ENTRIES + 49}") is not None


def test_forget_drops_both_entries_at_once() -> None:
    cache = KeyCache(timer=Clock())
    key = cache.remember("C-9", _key(9))
    cache.forget("C-9")
    assert cache.for_customer("C-9") is None and cache.by_handle(key.handle) is None
    cache.forget("C-9")  # forgetting twice is harmless (an erasure retried)
