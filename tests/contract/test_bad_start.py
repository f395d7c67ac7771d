"""What a caller without Python sees when it gets something wrong.

A bad start must fail the workflow at once with a message naming the problem — never
leave it RUNNING with a workflow task retried forever (docs/temporal-notes.md "Bad input") — and
a refused Update must carry the error type docs/contract.md promises.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError

from tests.contract.conftest import Contract

TODAY = f"{datetime.now(UTC):%Y%m%d}"
START_FLAGS = (
    "--fail-existing",
    "--id-conflict-policy",
    "Fail",
    "--id-reuse-policy",
    "RejectDuplicate",
)


def start_input(number: str, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "number": number,
        "received_at": datetime.now(UTC).isoformat(),
        "intake": {
            "customer": {
                "id": "C-2002",
                "name": "Han Meimei",
                "contact": {"email": "han@example.com"},
            },
            "channel": "web",
            "category": "consultation",
            "description": "How do I change my delivery address?",
        },
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


async def start(contract: Contract, workflow_id: str, payload: dict[str, Any]) -> None:
    rc, out, err = await contract.cli.run(
        "workflow",
        "start",
        "--type",
        "ServiceRequest",
        "--task-queue",
        contract.queue,
        "--workflow-id",
        workflow_id,
        *START_FLAGS,
        "--input",
        json.dumps(payload),
    )
    assert rc == 0, f"the server accepts the start; the workflow judges it:\n{out}{err}"


@pytest.mark.parametrize(
    ("workflow_id", "payload", "kind", "message"),
    [
        (
            f"CS{TODAY}-WEB-900102",
            start_input(f"CS{TODAY}-WEB-900101"),
            "InvalidStart",
            f"number 'CS{TODAY}-WEB-900101' is not the workflow id 'CS{TODAY}-WEB-900102'",
        ),
        (
            f"CS{TODAY}-WEB-0900107",
            start_input(f"CS{TODAY}-WEB-0900107"),
            "InvalidStart",
            f"write the number as CS{TODAY}-WEB-900107",
        ),
        (
            f"CS{TODAY}-TEL-900103",
            start_input(f"CS{TODAY}-TEL-900103"),
            "InvalidStart",
            "is not the intake's channel web",
        ),
        ("ticket-4711", start_input("ticket-4711"), "InvalidStart", "not a request number"),
        (
            f"CS{TODAY}-WEB-900104",
            start_input(f"CS{TODAY}-WEB-900104", received_at=None, urgent=True),
            "ValidationError",
            "received_at",
        ),
        (
            f"CS{TODAY}-WEB-900105",
            start_input(f"CS{TODAY}-WEB-900105", received_at="2026-11-23T09:30:00"),
            "ValidationError",
            "timestamp must carry a time zone",
        ),
        (
            f"CS{TODAY}-WEB-900106",
            start_input(f"CS{TODAY}-WEB-900106", received_at="2099-01-01T00:00:00+08:00"),
            "InvalidStart",
            "received_at 2099-01-01T00:00:00+08:00 is in the future",
        ),
        (
            f"CS{TODAY}-WEB-900107",
            start_input(f"CS{TODAY}-WEB-900107", received_at="9999-12-31T23:59:59-12:00"),
            "ValidationError",
            "must be between 2000-01-01 and 2100-01-01",
        ),
        (
            f"CS{TODAY}-WEB-900108",
            start_input(f"CS{TODAY}-WEB-900108", received_at=0),
            "ValidationError",
            "not a number",
        ),
    ],
    ids=[
        "id-mismatch",
        "not-canonical",
        "wrong-channel",
        "malformed",
        "undecodable",
        "naive-time",
        "future",
        "far-year",
        "number-as-time",
    ],
)
async def test_a_bad_start_fails_the_workflow_with_the_reason(
    contract: Contract, workflow_id: str, payload: dict[str, Any], kind: str, message: str
) -> None:
    await start(contract, workflow_id, payload)
    handle = contract.client.get_workflow_handle(workflow_id)
    with pytest.raises(WorkflowFailureError) as failed:
        await asyncio.wait_for(handle.result(), timeout=30)  # fails, does not hang
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == kind
    assert message in cause.message
    if kind == "ValidationError" and "undecodable" in workflow_id:
        assert "urgent" in cause.message, "every field is named"

    rc, out, _ = await contract.cli.run("workflow", "result", "--workflow-id", workflow_id)
    assert rc == 1 and "FAILED" in out and message in out, "the CLI shows the reason too"
    assert await contract.pool.fetchval("SELECT count(*) FROM requests") == 0, (
        "nothing was persisted for a refused start"
    )


async def test_refused_updates_name_their_type(contract: Contract) -> None:
    number = f"CS{TODAY}-WEB-900201"
    await start(contract, number, start_input(number))
    rc, _, err = await contract.cli.run(
        "workflow",
        "update",
        "execute",
        "--workflow-id",
        number,
        "--name",
        "receipt",
        "--input",
        "{}",
    )
    assert rc == 0, err

    def signed(name: str, arg: dict[str, Any]) -> list[str]:
        actor = arg.get("actor")
        return ["--headers", contract.header(number, name, actor)] if actor else []

    async def refused(name: str, arg: dict[str, Any]) -> str:
        rc, out, err = await contract.cli.run(
            "workflow",
            "update",
            "execute",
            "--workflow-id",
            number,
            "--name",
            name,
            "--input",
            json.dumps(arg),
            *signed(name, arg),
        )
        assert rc == 1, f"{name} should have been refused:\n{out}"
        return err

    agent = {"id": "agent-007", "role": "agent"}
    customer = {"id": "C-2002", "role": "customer"}
    assert "(type: IllegalTransition" in await refused(
        "confirm", {"actor": customer, "satisfied": True}
    )
    assert "(type: Forbidden" in await refused("resolve", {"actor": customer, "summary": "done"})
    assert "(type: Compliance" in await refused(
        "post_progress", {"actor": agent, "note": "绝对保证 this never happens again"}
    )
    err = await refused("submit_plan", {"actor": agent, "owner": "x"})
    assert "(type: ValidationError" in err and "measures" in err and "eta" in err
    err = await refused("submit_plan_v2", {"actor": agent})
    assert "known updates" in err

    # A self-declared supervisor without a signed assertion is refused before any check.
    supervisor = {"id": "sup-1", "role": "supervisor"}
    rc, _, err = await contract.cli.run(
        "workflow",
        "update",
        "execute",
        "--workflow-id",
        number,
        "--name",
        "cancel",
        "--input",
        json.dumps({"actor": supervisor, "reason": "test over"}),
    )
    assert rc == 1 and "(type: Forbidden" in err and "no signed actor assertion" in err
    # One vouched for another request or another Update is refused too.
    for wrong in (
        contract.header("CS20000101-WEB-0001", "cancel", supervisor),
        contract.header(number, "decide_compensation", supervisor),
    ):
        rc, _, err = await contract.cli.run(
            "workflow",
            "update",
            "execute",
            "--workflow-id",
            number,
            "--name",
            "cancel",
            "--input",
            json.dumps({"actor": supervisor, "reason": "test over"}),
            "--headers",
            wrong,
        )
        assert rc == 1 and "(type: Forbidden" in err, err
    cancel = {"actor": supervisor, "reason": "test over"}
    rc, _, err = await contract.cli.run(
        "workflow",
        "update",
        "execute",
        "--workflow-id",
        number,
        "--name",
        "cancel",
        "--input",
        json.dumps(cancel),
        *signed("cancel", cancel),
    )
    assert rc == 0, err
    assert "already completed" in await refused(
        "cancel", {"actor": {"id": "sup-1", "role": "supervisor"}, "reason": "again"}
    )
    kinds = await contract.pool.fetch(
        "SELECT kind FROM request_events WHERE number = $1 ORDER BY seq", number
    )
    assert [r["kind"] for r in kinds] == ["received", "assigned", "cancelled"], (
        "refused Updates left no trace"
    )
