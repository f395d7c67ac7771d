"""A starter with no database seals the customer's details with a key the codec server
grants: what reaches Temporal is sealed with the customer's key, and the worker opens it
to store the request."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from temporalio.api.enums.v1 import EventType

from csflow.contracts import Contact, Customer, ServiceRequestInput
from csflow.crypto import at_rest, sealed
from csflow.crypto.granted import GrantedKeys
from csflow.crypto.server import create_app
from csflow.domain.codes import Tier
from csflow.store import personal
from starter.client import CsflowClient
from tests.helpers import eventually, intake, token_for
from tests.starter.conftest import Stack, stack  # noqa: F401  (fixture, used by name)

pytestmark = pytest.mark.integration

NAME = "Dorotea Wrenfield"
EMAIL = "dorotea@wren-example.org"


async def test_a_starter_without_a_database_seals_with_a_granted_key(stack: Stack) -> None:  # noqa: F811
    app = create_app(at_rest.ring(), [], pool=stack.pool)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://codec") as http,
    ):
        token = await token_for(stack.pool, "service", "shop-backend")
        keys = GrantedKeys("http://codec", token, http=http)
        backend = CsflowClient(stack.client, None, task_queue=stack.queue, keys=keys)
        assert not backend.has_database
        body = intake(
            description="the umbrella opens inside out",
            customer=Customer(
                id="C-STARTER-9", name=NAME, tier=Tier.VIP, contact=Contact(email=EMAIL)
            ),
        )
        created = await backend.create(body)

    history = await stack.client.get_workflow_handle(created.number).fetch_history()
    started = next(
        e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
    )
    [inp] = await stack.client.data_converter.decode(
        started.workflow_execution_started_event_attributes.input.payloads, [ServiceRequestInput]
    )
    customer = inp.intake.customer
    assert sealed.is_sealed(customer.name) and sealed.is_sealed(customer.contact.email)
    assert sealed.is_sealed(inp.intake.description)
    assert NAME not in inp.model_dump_json() and EMAIL not in inp.model_dump_json()
    grants = await stack.pool.fetch(
        "SELECT customer_id, subject, role FROM customer_key_grants ORDER BY id"
    )
    assert [tuple(r) for r in grants] == [("C-STARTER-9", "shop-backend", "service")]

    reader = personal.Reader(token_id="t", subject="li.na", role="agent")

    async def stored() -> Any:
        details = await personal.read_customer(stack.pool, created.number, reader)
        assert details is not None
        return details

    details = await eventually(stored, timeout=20)
    assert (details.name, details.contact, details.description) == (
        NAME,
        {"email": EMAIL},
        "the umbrella opens inside out",
    )
    assert await personal.requests_by_contact(stack.pool, email=EMAIL) == [created.number]
