"""Data minimisation (issue 13, item 3): activities and the improvement child get
references, not personal data. Read from the real histories, opened with csflow's codec:
no `send_notification` input names an address, the messages a request's writes put in the
outbox (patch `messages-in-the-write`) name none either and are kept sealed, and the
child's input holds a reference to the problem instead of the customer's words; the
messages still reach the customer.
"""

from __future__ import annotations

from typing import Any

from temporalio.api.enums.v1 import EventType

from csflow.contracts.intake import problem_reference
from csflow.crypto import at_rest
from tests.api.conftest import Api
from tests.helpers import eventually
from tests.privacy.test_plaintext_hunt import EMAIL, PHONE, PROBLEM, lifecycle


async def inputs(api: Api, workflow_id: str) -> list[tuple[str, Any]]:
    """(activity type or "child", decoded input) for every activity and child started."""
    history = await api.client.get_workflow_handle(workflow_id).fetch_history()
    converter = api.client.data_converter
    out: list[tuple[str, Any]] = []
    for e in history.events:
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            a = e.activity_task_scheduled_event_attributes
            [arg] = await converter.decode(a.input.payloads)
            out.append((a.activity_type.name, arg))
        elif e.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
            c = e.start_child_workflow_execution_initiated_event_attributes
            [arg] = await converter.decode(c.input.payloads, [dict])
            out.append(("child", arg))
    return out


async def test_activities_and_the_child_get_references_not_personal_data(api: Api) -> None:
    n, task_id = await lifecycle(api)
    started = await inputs(api, n)
    # A whole message, a compact one, or the compact ones a workflow task planned
    # (patch `compact-terms-and-messages`: the key names the recipient).
    sends = [
        m
        for kind, arg in started
        if kind == "send_notification"
        for m in (arg if isinstance(arg, list) else [arg])
    ]
    for s in sends:
        recipient = s.get("recipient", {})
        assert (recipient.get("email"), recipient.get("phone")) == (None, None)
    assert all(EMAIL not in str(s) and PHONE not in str(s) for s in sends)
    # The messages the request's writes queued: kept sealed, and without an address.
    queued = await api.pool.fetch(
        """SELECT payload, payload_sealed FROM outbox
           WHERE number = $1 AND recipient_kind = 'customer' AND dispatch""",
        n,
    )
    assert queued, "the customer was written to"
    for row in queued:
        assert row["payload"] is None
        if row["payload_sealed"] is not None:  # cleared once sent
            kept = await at_rest.open_sealed(api.pool, row["payload_sealed"])
            assert (kept["recipient"].get("email"), kept["recipient"].get("phone")) == (None, None)
            assert EMAIL not in str(kept) and PHONE not in str(kept)
    [child] = [arg for kind, arg in started if kind == "child"]
    assert child["problem"] == problem_reference(task_id)
    assert PROBLEM not in str(await inputs(api, task_id))

    async def delivered() -> None:  # the address was looked up inside the activity
        sent = await api.pool.fetch(
            """SELECT status, attempts FROM outbox
               WHERE number = $1 AND recipient_kind = 'customer'""",
            n,
        )
        assert sent and all(r["status"] == "sent" for r in sent), [dict(r) for r in sent]

    await eventually(delivered)
    task = await api.pool.fetchrow(
        "SELECT problem, problem_sealed FROM improvement_tasks WHERE task_id = $1", task_id
    )
    assert task["problem"] is None and task["problem_sealed"] is not None
