"""Payloads of a request sealed with its customer's key: what erasure does to them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.converter import ActivitySerializationContext, WorkflowSerializationContext

from csflow.crypto import envelope
from csflow.crypto.customer_codec import CustomerCodec
from csflow.crypto.envelope import CustomerKeys, Erased
from csflow.crypto.keyring import KeyRing

pytestmark = pytest.mark.integration

NUMBER = "CS20261130-WEB-0042"
INTAKE = json.dumps({"customer": {"id": "C-5150", "name": "Sun Meimei"},
                     "description": "the blender smokes"}).encode()


def _json(data: bytes) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=data)


def _activity(workflow_id: str) -> ActivitySerializationContext:
    return ActivitySerializationContext(
        namespace="default", activity_id="1", activity_type="persist",
        activity_task_queue="q", workflow_id=workflow_id, workflow_type="ServiceRequest",
        is_local=False)


async def test_a_requests_payloads_use_its_customers_key_until_erasure(pool: Any) -> None:
    ring = KeyRing.generate()
    client = CustomerCodec(CustomerKeys(ring, pool))
    start = client.with_context(WorkflowSerializationContext("default", NUMBER))
    [sealed_intake] = await start.encode([_json(INTAKE)])
    key_id = sealed_intake.metadata["encryption-key-id"].decode()
    assert key_id.startswith("c:") and "C-5150" not in key_id
    assert b"Sun Meimei" not in sealed_intake.data
    # Later payloads of the same request (an activity's input, an improvement child's)
    # carry no customer id, yet use the same key: the number was learned.
    for context in (_activity(NUMBER),
                    WorkflowSerializationContext("default", f"{NUMBER}-IMP1")):
        [later] = await client.with_context(context).encode([_json(b'"problem text"')])
        assert later.metadata["encryption-key-id"].decode() == key_id
    # Other workflows get the master ring.
    [other] = await client.with_context(
        WorkflowSerializationContext("default", "csflow-numbers-20261130")).encode(
        [_json(b"1")])
    assert other.metadata["encryption-key-id"].decode() == ring.current

    worker = CustomerCodec(CustomerKeys(ring, pool))  # another process
    assert await worker.decode([sealed_intake]) == [_json(INTAKE)]

    async with pool.acquire() as conn:
        await envelope.destroy(conn, "C-5150", datetime.now(UTC))
    after = CustomerCodec(CustomerKeys(ring, pool))
    with pytest.raises(Erased):
        await after.decode([sealed_intake])
    ui = CustomerCodec(CustomerKeys(ring, pool), erased_placeholder=True)
    [shown] = await ui.decode([sealed_intake])
    assert shown.data == b'"(erased)"'
    assert await ui.decode([other]) == [_json(b"1")]
