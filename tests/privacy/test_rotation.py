"""Key rotation on the real stack (issue 13): a history sealed before `csflow keys rotate`
still decodes with the rotated ring, and so does every customer's data key wrapped before
it; what is sealed afterwards names the new key."""

from __future__ import annotations

import json
import uuid

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from csflow.contracts import ServiceRequestInput
from csflow.crypto import at_rest, converter
from csflow.crypto import sealed as personal
from csflow.crypto.codec import KEY_ID
from csflow.crypto.envelope import CustomerKeys
from csflow.crypto.keyring import KeyRingError
from tests.api.conftest import Api
from tests.helpers import intake


async def test_histories_and_data_keys_sealed_before_a_rotation_still_open(api: Api) -> None:
    created = await api.http.post(
        "/requests", json=intake().model_dump(mode="json", exclude_none=True)
    )
    assert created.status_code in (200, 201), created.text
    n = created.json()["number"]
    old = at_rest.ring()
    new = old.rotated()
    assert new.current != old.current

    # The history, fetched by a client holding only the rotated ring.
    config = api.client.config()
    config["data_converter"] = converter.data_converter(new)
    rotated = Client(**config)
    history = await rotated.get_workflow_handle(n).fetch_history()
    started = next(
        e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
    )
    payload = started.workflow_execution_started_event_attributes.input.payloads[0]
    assert payload.metadata[KEY_ID] == old.current.encode(), "sealed before the rotation"
    [inp] = await rotated.data_converter.decode([payload], [ServiceRequestInput])
    # The name inside is sealed again with the customer's data key, which the rotated ring
    # still unwraps.
    name = inp.intake.customer.name
    assert personal.is_sealed(name) and "Li Lei" not in name
    assert await personal.open_text(CustomerKeys(new, api.pool), name) == "Li Lei"

    # What the rotated ring seals names the new key; the old ring cannot open it.
    [sealed] = await converter.data_converter(new).encode(["after"])
    assert sealed.metadata[KEY_ID] == new.current.encode()
    with pytest.raises(KeyRingError, match="not in the key ring"):
        await converter.data_converter(old).decode([sealed], [str])

    # At rest: the customer's data key was wrapped by the old current key; it unwraps.
    row = await api.pool.fetchval("SELECT customer_sealed FROM requests WHERE number = $1", n)
    keys = CustomerKeys(new, api.pool)
    key = await keys.by_handle(str(uuid.UUID(bytes=bytes(row)[:16])))
    assert json.loads(key.open(bytes(row)[16:]))["name"] == "Li Lei"
    fresh = await keys.for_customer("C-NEW-AFTER-ROTATION")
    wrapped_by = await api.pool.fetchval(
        "SELECT master_key_id FROM customer_keys WHERE handle = $1::uuid", fresh.handle
    )
    assert wrapped_by == new.current
