"""Customer data keys on a real PostgreSQL: sealing, sharing, shredding, blind index."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from csflow.crypto import envelope
from csflow.crypto.envelope import CustomerKeys, Erased
from csflow.crypto.keyring import KeyRing

pytestmark = pytest.mark.integration


async def test_one_key_per_customer_shared_by_processes_and_shredded(pool: Any) -> None:
    ring = KeyRing.generate()
    api, worker = CustomerKeys(ring, pool), CustomerKeys(ring, pool)
    key = await api.for_customer("C-77")
    assert (await worker.for_customer("C-77")) == key
    assert (await worker.by_handle(key.handle)) == key
    assert (await api.for_customer("C-78")) != key
    sealed = key.seal_text("Qian Duoduo, +86 139 1234 5678")
    assert sealed is not None and b"Qian" not in sealed
    assert key.open_text(sealed) == "Qian Duoduo, +86 139 1234 5678"

    async with pool.acquire() as conn:
        assert await envelope.destroy(conn, "C-77", datetime.now(UTC)) == 1
    await envelope.vacuum(pool)
    fresh = CustomerKeys(ring, pool)
    with pytest.raises(Erased):
        await fresh.by_handle(key.handle)
    # A later request from the same customer id gets a new key; the old data stays dead.
    assert (await fresh.for_customer("C-77")).handle != key.handle
    rows = await pool.fetch(
        "SELECT wrapped FROM customer_keys WHERE handle = $1", uuid.UUID(key.handle)
    )
    assert [r["wrapped"] for r in rows] == [None]


async def test_concurrent_first_use_agrees_on_one_key(pool: Any) -> None:
    ring = KeyRing.generate()
    keys = await asyncio.gather(*(CustomerKeys(ring, pool).for_customer("C-9") for _ in range(8)))
    assert len({k.handle for k in keys}) == 1


def test_blind_index_matches_spellings_of_one_value_and_hides_it() -> None:
    ring = KeyRing.generate()
    a = envelope.blind_index(ring, "phone", "+86 138 0000 1111")
    assert a == envelope.blind_index(ring, "phone", "+8613800001111")
    assert a != envelope.blind_index(ring, "phone", "+86 138 0000 1112")
    assert a != envelope.blind_index(KeyRing.generate(), "phone", "+8613800001111")
    assert envelope.blind_index(ring, "email", "Li@Example.com ") == envelope.blind_index(
        ring, "email", "li@example.com"
    )
    # Rotation keeps the index: stored lookups stay valid.
    assert envelope.blind_index(ring.rotated(), "phone", "+8613800001111") == a
