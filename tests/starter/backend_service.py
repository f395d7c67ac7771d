"""A backend service as a separate program: the Python starter with Temporal alone.

Run by tests/starter/test_temporal_only.py in a subprocess whose environment has
TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and CSFLOW_TASK_QUEUE but no DATABASE_URL and no
readable policy file. It creates, retries, races, steers and reads requests, and prints
what it saw as one JSON object for the test to check against the worker's database.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import UTC, datetime, timedelta

from csflow.contracts import (
    Actor,
    ConfirmCommand,
    Contact,
    Customer,
    EscalateCommand,
    PlanCommand,
    ProgressCommand,
    RequestIntake,
    ResolveCommand,
)
from csflow.domain.codes import Category, Channel, Priority, Role
from starter.client import NoDatabase, RequestRefused, connect

AGENT = Actor(id="agent-007", role=Role.AGENT)
SUPERVISOR = Actor(id="sup-1", role=Role.SUPERVISOR)
CUSTOMER = Actor(id="C-1001", role=Role.CUSTOMER)


def complaint(external_id: str | None, channel: Channel = Channel.WEB) -> RequestIntake:
    return RequestIntake(
        customer=Customer(id="C-1001", name="Li Lei", contact=Contact(phone="+86 138 0000 0000")),
        channel=channel,
        category=Category.COMPLAINT,
        priority=Priority.P2,
        description="The parcel arrived broken",
        external_id=external_id,
    )


async def main() -> dict[str, object]:
    async with connect() as csflow:
        assert not csflow.has_database, "no DATABASE_URL: the client opened no pool"
        first = await csflow.create(complaint("shop-order-42"))
        retried = await csflow.create(complaint("shop-order-42"))
        racing = await asyncio.gather(
            csflow.create(complaint(None, Channel.PHONE)),
            csflow.create(complaint(None, Channel.PHONE)),
        )
        number = first.number
        eta = datetime.now(UTC) + timedelta(days=1)
        await csflow.submit_plan(
            number,
            PlanCommand(actor=AGENT, measures=["replace it"], eta=eta),
            idempotency_key="plan-1",
        )
        refused = None
        try:
            await csflow.escalate(
                number, EscalateCommand(actor=AGENT, reason="angry", priority=Priority.P1)
            )
        except RequestRefused as err:
            refused = err.kind
        await csflow.escalate(
            number, EscalateCommand(actor=SUPERVISOR, reason="angry", priority=Priority.P1)
        )
        await csflow.post_progress(number, ProgressCommand(actor=AGENT, note="sent"))
        await csflow.resolve(number, ResolveCommand(actor=AGENT, summary="replaced"))
        view = await csflow.confirm(number, ConfirmCommand(actor=CUSTOMER, satisfied=True))
        state = await csflow.state(number)
        timeline = await csflow.timeline(number)
        try:
            await csflow.list()
            listing = "listed"
        except NoDatabase:
            listing = "no database"
    return {
        "first": [first.number, first.existing, first.view.status.value if first.view else None],
        "retried": [retried.number, retried.existing],
        "racing": [c.number for c in racing],
        "refused": refused,
        "confirmed": view.status.value,
        "state": [state.status.value, state.priority.value, state.policy_version],
        "timeline": [e.kind for e in timeline],
        "listing": listing,
    }


if __name__ == "__main__":
    json.dump(asyncio.run(main()), sys.stdout)
    sys.stdout.flush()
    # Everything is done and written. Leave without interpreter finalisation: the Temporal
    # SDK's native threads can still be releasing Python state then, which once aborted
    # the process ("PyGILState_Release: thread state … must be current") after it had
    # finished its work — a teardown race in the SDK, not something this service does.
    os._exit(0)
