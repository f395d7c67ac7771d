"""Sealing the customer's name, contact and words with the customer's own data key before
they enter Temporal.

The key ring that seals every payload cannot be forgotten for one customer; a customer's
data key can, and erasing it makes whatever it sealed unreadable in history too
(docs/security.md). So the client seals personal fields with that key first. The key
comes from the pool's key table when the client has a database, else from the codec
server (CSFLOW_CODEC_URL + CSFLOW_TOKEN) — a backend with Temporal alone.
"""

from __future__ import annotations

import os
from typing import Any, TypeVar

import asyncpg

from csflow.contracts import Model
from csflow.contracts.personal import personal_values, sealed_values
from csflow.crypto import at_rest, granted
from csflow.crypto.converter import ENV_DISABLE
from csflow.crypto.granted import GrantedKeys, KeySource
from csflow.refusals import Refusal
from starter.errors import RequestRefused

M = TypeVar("M", bound=Model)


class Sealing:
    """Where the customer's data key comes from, and sealing with it.

    `keys`: a key source; True: the pool's key table, else the codec server, built on
    first use (unless CSFLOW_ENCRYPTION=off); False or None: personal fields go as given
    (sealed with the key ring only, so erasure would not reach them).
    """

    def __init__(self, keys: KeySource | bool | None, pool: asyncpg.Pool[Any] | None) -> None:
        self._pool = pool
        self._keys: KeySource | None = None if isinstance(keys, bool) else keys
        self._keys_default = keys is True and (
            os.environ.get(ENV_DISABLE, "").strip().lower() != "off"
        )

    def source(self) -> KeySource | None:
        """Built on first use: the pool's key table needs the key ring, read only then."""
        if self._keys is None and self._keys_default:
            self._keys_default = False
            self._keys = (
                at_rest.keys(self._pool) if self._pool is not None else GrantedKeys.from_env()
            )
        return self._keys

    def wanted(self, model: Model) -> bool:
        """Whether `model` carries personal fields this client seals (a command without
        the customer's words is sent as it is, with no key looked up)."""
        return self.source() is not None and bool(personal_values(model) or sealed_values(model))

    async def sealed(self, customer_id: str, model: M) -> M:
        """`model` with its personal fields sealed with the customer's key (if this client
        has a key source); a value sealed with another key is refused."""
        keys = self.source()
        if keys is None:
            return model
        try:
            return await granted.seal_for(keys, customer_id, model)
        except granted.ForeignValue as err:
            raise RequestRefused(str(err), Refusal.INVALID.value) from None
