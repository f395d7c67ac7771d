"""The codec that seals a request's payloads with its customer's data key.

Temporal keeps every payload of a workflow — start input, Update arguments, activity
inputs — until retention ends. For erasure to reach those copies, payloads of a request
are sealed with the customer's own data key (csflow.crypto.envelope), not only the master
ring: destroying that key makes them unreadable at once.

Which customer? The serialization context names the workflow (a request number, or an
improvement task ``<number>-IMPn``). The number's customer comes from the ``requests``
row, and before that row exists (the start input, intake's first activities) from the
payload itself, whose ``customer.id`` the intake input carries. Payloads of other
workflows (numbering, reports) and of a request before its customer is known are sealed
with the master ring like any other. Only processes with the database (worker, API, CLI,
codec server) hold customer keys; a caller with Temporal alone seals with the ring and
its start input is then erased by the request's deletion (docs/security.md).
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Self

from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    ActivitySerializationContext,
    SerializationContext,
    WithSerializationContext,
    WorkflowSerializationContext,
)

from csflow.crypto.codec import ENCODING, KEY_ID, EncryptionCodec
from csflow.crypto.envelope import HANDLE_PREFIX, CustomerKeys, DataKey, Erased

_NUMBER = re.compile(r"^(CS\d{8}-[A-Z]{2,8}-\d{3,6})(?:-IMP\d+)?$")
ERASED_TEXT = b'"(erased)"'
_CACHE = 50_000


class _Customers:
    """number → customer id, learned once per process (it never changes)."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool
        self._known: OrderedDict[str, str] = OrderedDict()

    def remember(self, number: str, customer_id: str) -> None:
        self._known[number] = customer_id
        self._known.move_to_end(number)
        if len(self._known) > _CACHE:
            self._known.popitem(last=False)

    async def of(self, number: str) -> str | None:
        hit = self._known.get(number)
        if hit is not None:
            return hit
        found: str | None = await self._pool.fetchval(
            "SELECT customer_id FROM requests WHERE number = $1", number)
        if found is not None:
            self.remember(number, found)
        return found


class CustomerCodec(EncryptionCodec, WithSerializationContext):
    def __init__(self, keys: CustomerKeys, *, erased_placeholder: bool = False,
                 _customers: _Customers | None = None, _workflow_id: str | None = None) -> None:
        super().__init__(keys.ring)
        self._keys = keys
        self._customers = _customers or _Customers(keys.pool)
        self._workflow_id = _workflow_id
        self._placeholder = erased_placeholder

    def with_context(self, context: SerializationContext) -> Self:
        workflow_id = None
        if isinstance(context, WorkflowSerializationContext | ActivitySerializationContext):
            workflow_id = context.workflow_id
        return type(self)(self._keys, erased_placeholder=self._placeholder,
                          _customers=self._customers, _workflow_id=workflow_id)

    async def _key_for(self, payloads: Sequence[Payload]) -> DataKey | None:
        match = _NUMBER.match(self._workflow_id or "")
        if match is None:
            return None
        number = match.group(1)
        customer = await self._customers.of(number)
        if customer is None:
            customer = _customer_in(payloads)
            if customer is None:
                return None
            self._customers.remember(number, customer)
        return await self._keys.for_customer(customer)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        key = await self._key_for(payloads)
        if key is None:
            return [self.seal(p) for p in payloads]
        return [_seal_with(key, p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for payload in payloads:
            key_id = payload.metadata.get(KEY_ID, b"").decode("ascii", "replace")
            if payload.metadata.get("encoding") == ENCODING and \
                    key_id.startswith(HANDLE_PREFIX):
                out.append(await self._open_customer(key_id, payload))
            else:
                out.append(self.open(payload))
        return out

    async def _open_customer(self, key_id: str, payload: Payload) -> Payload:
        try:
            key = await self._keys.by_handle(key_id.removeprefix(HANDLE_PREFIX))
        except Erased:
            if self._placeholder:  # the UI shows what happened instead of an error
                return Payload(metadata={"encoding": b"json/plain"}, data=ERASED_TEXT)
            raise
        opened = Payload()
        opened.ParseFromString(key.open(payload.data))
        return opened


def _seal_with(key: DataKey, payload: Payload) -> Payload:
    return Payload(metadata={"encoding": ENCODING, KEY_ID: key.key_id.encode()},
                   data=key.seal(payload.SerializeToString()))


def _customer_in(payloads: Sequence[Payload]) -> str | None:
    """The customer id an intake payload names (``{"customer": {"id": …}}``)."""
    for payload in payloads:
        if payload.metadata.get("encoding") != b"json/plain" or len(payload.data) > 1 << 20:
            continue
        try:
            doc = json.loads(payload.data)
        except ValueError:
            continue
        customer = doc.get("customer") if isinstance(doc, dict) else None
        if isinstance(customer, dict) and isinstance(customer.get("id"), str):
            return str(customer["id"])
    return None
