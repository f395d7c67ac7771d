"""Envelope encryption of a customer's personal data, and its shredding.

Each customer gets one data key (DEK): 32 random bytes, stored only wrapped by the master
key ring (AES-256-GCM, the key's handle as associated data). Every copy of that customer's
personal data — name, contact, the words they wrote, in PostgreSQL rows and in Temporal
payloads — is sealed with that DEK. Erasure destroys the wrapped DEK, so every copy
anywhere (old row versions, WAL, backups, histories kept until retention) becomes
unreadable at once, while codes, numbers and times that reports count stay as they were.

Lookups that must work without decrypting (a customer's requests by phone, e-mail or
customer id) use a blind index: HMAC-SHA256 with the ring's index key over the normalised
value, which the database can compare but not reverse.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cachetools import TTLCache
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from csflow.crypto.keyring import KeyRing

_NONCE = 12
_VERSION = b"\x01"
HANDLE_PREFIX = "c:"  # payload key ids and column prefixes naming a customer key
CACHE_SECONDS = 60.0  # how long another process may still hold an erased customer's key
CACHE_ENTRIES = 10_000  # customers whose keys one process holds at most (the busiest)


class Erased(LookupError):
    """The customer's data key was destroyed: their personal data is gone for good."""


@dataclass(frozen=True)
class DataKey:
    handle: str  # uuid; never the customer id, so a key id reveals nobody
    key: bytes

    @property
    def key_id(self) -> str:
        return f"{HANDLE_PREFIX}{self.handle}"

    def seal(self, plain: bytes) -> bytes:
        nonce = os.urandom(_NONCE)
        return _VERSION + nonce + AESGCM(self.key).encrypt(nonce, plain, self.handle.encode())

    def open(self, sealed: bytes) -> bytes:
        if sealed[:1] != _VERSION:
            raise ValueError("not a sealed value of this format")
        nonce, body = sealed[1 : 1 + _NONCE], sealed[1 + _NONCE :]
        try:
            return AESGCM(self.key).decrypt(nonce, body, self.handle.encode())
        except InvalidTag:
            raise ValueError("sealed value does not authenticate") from None

    def seal_text(self, text: str | None) -> bytes | None:
        return None if text is None else self.seal(text.encode())

    def open_text(self, sealed: bytes | None) -> str | None:
        return None if sealed is None else self.open(bytes(sealed)).decode()


def blind_index(ring: KeyRing, kind: str, value: str) -> bytes:
    """A keyed hash of a normalised value, for equality lookups without decryption."""
    normal = "".join(value.split()).casefold()
    if kind == "phone":
        normal = "".join(ch for ch in normal if ch.isdigit())
    return hmac.new(ring.index_key, f"{kind}:{normal}".encode(), hashlib.sha256).digest()


def _wrap(ring: KeyRing, handle: str, dek: bytes) -> tuple[str, bytes]:
    nonce = os.urandom(_NONCE)
    wrapped = AESGCM(ring.key(ring.current)).encrypt(nonce, dek, f"dek:{handle}".encode())
    return ring.current, nonce + wrapped


def _unwrap(ring: KeyRing, handle: str, master_id: str, wrapped: bytes) -> bytes:
    return AESGCM(ring.key(master_id)).decrypt(
        wrapped[:_NONCE], wrapped[_NONCE:], f"dek:{handle}".encode()
    )


class KeyCache:
    """Customers' data keys held briefly by one process, by customer and by handle.

    An entry lives `CACHE_SECONDS` (so an erasure elsewhere reaches this process within
    that time) and at most `CACHE_ENTRIES` live at once: a worker that meets a million
    customers over its life neither grows without bound nor keeps an erased customer's
    key in memory past its minute. cachetools' TTLCache drops expired entries as others
    are stored — a long-running process must forget, not only stop trusting."""

    def __init__(self, timer: Callable[[], float] = time.monotonic) -> None:
        self._by_customer: TTLCache[str, DataKey] = TTLCache(
            CACHE_ENTRIES, CACHE_SECONDS, timer=timer
        )
        self._by_handle: TTLCache[str, DataKey] = TTLCache(
            CACHE_ENTRIES, CACHE_SECONDS, timer=timer
        )

    def for_customer(self, customer_id: str) -> DataKey | None:
        return self._by_customer.get(customer_id)

    def by_handle(self, handle: str) -> DataKey | None:
        return self._by_handle.get(handle)

    def remember(self, customer_id: str, key: DataKey) -> DataKey:
        self._by_customer[customer_id] = key
        self._by_handle[key.handle] = key
        return key

    def forget(self, customer_id: str) -> None:
        key = self._by_customer.pop(customer_id, None)
        if key is not None:
            self._by_handle.pop(key.handle, None)

    def __len__(self) -> int:
        return len(self._by_customer) + len(self._by_handle)


class CustomerKeys:
    """Data keys by customer and by handle, cached briefly; created on first use."""

    def __init__(self, ring: KeyRing, pool: Any) -> None:
        self.ring = ring
        self.pool = pool
        self.cache = KeyCache()

    async def for_customer(self, customer_id: str) -> DataKey:
        """The customer's live key, created on first use (after an erasure, a new one)."""
        cached = self.cache.for_customer(customer_id)
        if cached is not None:
            return cached
        row = await self.pool.fetchrow(
            """SELECT handle, master_key_id, wrapped FROM customer_keys
               WHERE customer_id = $1 AND destroyed_at IS NULL""",
            customer_id,
        )
        if row is None:
            handle = str(uuid.uuid4())
            dek = os.urandom(32)
            master_id, wrapped = _wrap(self.ring, handle, dek)
            row = await self.pool.fetchrow(
                """INSERT INTO customer_keys (handle, customer_id, master_key_id, wrapped)
                   VALUES ($1, $2, $3, $4)
                   ON CONFLICT (customer_id) WHERE destroyed_at IS NULL DO NOTHING
                   RETURNING handle, master_key_id, wrapped""",
                uuid.UUID(handle),
                customer_id,
                master_id,
                wrapped,
            )
            if row is None:  # another process created it first: use theirs
                return await self.for_customer(customer_id)
        key = DataKey(
            str(row["handle"]),
            _unwrap(self.ring, str(row["handle"]), row["master_key_id"], bytes(row["wrapped"])),
        )
        return self.cache.remember(customer_id, key)

    async def by_handle(self, handle: str) -> DataKey:
        cached = self.cache.by_handle(handle)
        if cached is not None:
            return cached
        try:
            as_uuid = uuid.UUID(handle)
        except ValueError:
            raise Erased(f"no customer key {handle!r}") from None
        row = await self.pool.fetchrow(
            """SELECT customer_id, master_key_id, wrapped FROM customer_keys
               WHERE handle = $1""",
            as_uuid,
        )
        if row is None or row["wrapped"] is None:
            raise Erased(f"customer key {handle} was destroyed: the data is erased")
        key = DataKey(
            handle, _unwrap(self.ring, handle, row["master_key_id"], bytes(row["wrapped"]))
        )
        return self.cache.remember(row["customer_id"], key)

    def forget(self, customer_id: str) -> None:
        self.cache.forget(customer_id)


async def destroy(conn: Any, customer_id: str, now: Any) -> int:
    """Shred: the wrapped keys are dropped from their rows; returns how many keys died.

    The row stays (with ``wrapped`` NULL) so it says when the erasure happened. The caller
    runs ``VACUUM FULL customer_keys`` after committing (see `vacuum`), so no dead row
    version keeps the wrapped key in the live database; backups keep it only until their
    own retention, and even there it is wrapped by the master ring (docs/security.md).
    """
    status: str = await conn.execute(
        """UPDATE customer_keys SET wrapped = NULL, destroyed_at = $2
           WHERE customer_id = $1 AND destroyed_at IS NULL""",
        customer_id,
        now,
    )
    return int(status.split()[-1])


async def vacuum(pool: Any) -> None:
    """Rewrite the (small) key table so destroyed keys leave no dead row versions."""
    await pool.execute("VACUUM FULL customer_keys")
