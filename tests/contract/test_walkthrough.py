"""docs/contract.md's walkthrough, run as written: the `temporal` CLI alone takes a request
from intake to closure on a real server, with the real worker and PostgreSQL.

The blocks marked `<!-- test: walkthrough -->` are concatenated into one bash script;
only the task queue (and with it the numbering workflow's id) is swapped for the test's
own. If a flag, a field name or an Update name in the doc is wrong, the script fails here
before a reader trips over it.
"""

from __future__ import annotations

import re

from csflow import contract_schema
from csflow.domain.lifecycle import Status
from csflow.domain.numbering import numbers_workflow_id, parse_number
from csflow.store import requests as store
from tests.contract.conftest import Contract
from tests.helpers import eventually, seed_serial_block
from tests.workflows.updates import ended
from workflows.service_request import ServiceRequestWorkflow

DOC = (contract_schema.DOCS / contract_schema.DOC_FILE).read_text(encoding="utf-8")
QUEUE_FLAG = "--task-queue service-requests"
NUMBERS_ID = numbers_workflow_id("service-requests")
_BLOCK = re.compile(r"<!-- test: (?P<name>[a-z]+) -->\n```sh\n(?P<body>.*?)```", re.DOTALL)


def blocks(name: str) -> list[str]:
    found = [m["body"] for m in _BLOCK.finditer(DOC) if m["name"] == name]
    assert found, f"docs/contract.md has no block marked <!-- test: {name} -->"
    return found


def for_queue(script: str, queue: str) -> str:
    return script.replace(QUEUE_FLAG, f"--task-queue {queue}").replace(
        NUMBERS_ID, numbers_workflow_id(queue)
    )


# What the timeline must show, in order: intake to closure through every step of the doc.
JOURNEY = [
    "received",
    "assigned",
    "plan_submitted",
    "progress_posted",
    "resolution_proposed",
    "customer_confirmed",
    "follow_up_scheduled",
    "follow_up_recorded",
    "closed",
]


async def test_the_walkthrough_takes_a_request_from_intake_to_closure(contract: Contract) -> None:
    walkthrough = "\n".join(blocks("walkthrough"))
    assert walkthrough.count(QUEUE_FLAG) == 2, "one number asked for, one request started"
    assert walkthrough.count(NUMBERS_ID) == 1
    await seed_serial_block(contract.pool)  # the dev server is shared by the session's tests
    script = for_queue(walkthrough, contract.queue)
    rc, out, err = await contract.cli.bash(script)
    assert rc == 0, f"the walkthrough failed:\n{out}\n{err}"

    match = re.search(r"WorkflowId\s+(CS\d{8}-WEB-\d+)", out)
    assert match, out
    number = match[1]
    assert parse_number(number).serial % 1000 == 1, "the first number of the seeded block"

    handle = contract.client.get_workflow_handle_for(ServiceRequestWorkflow.run, number)
    final = await ended(handle)
    assert final.status is Status.CLOSED
    kinds = [e.kind for e in final.timeline]
    assert kinds == JOURNEY, "one plan only: the retried submit_plan reused its update id"
    assert final.follow_up is not None and final.follow_up.score == 5
    assert final.policy_version, "the workflow resolved the terms itself"
    assert {"first_response", "plan", "resolution"} <= {c.name for c in final.clocks}

    persisted = await store.get_request(contract.pool, number)
    assert persisted is not None
    assert persisted.status is Status.CLOSED
    assert [e.kind for e in persisted.timeline] == JOURNEY
    row = await contract.pool.fetchrow(
        "SELECT external_id, customer_tier, priority FROM requests WHERE number = $1", number
    )
    assert dict(row) == {
        "external_id": "shop-ticket-4711",
        "customer_tier": "vip",
        "priority": "P2",
    }
    assert (
        await contract.pool.fetchval(
            "SELECT number FROM request_keys WHERE external_id = 'shop-ticket-4711'"
        )
        == number
    ), "the worker's counter numbered it and bound the external id"
    assert "CS" in out and '"status": "assigned"' in out, "get_state printed the state"

    # The doc says steps 1 and 2 may be run again: the same number, and no second run —
    # the CLI prints the existing execution. Run its exact blocks again.
    ask, start = (
        next(b for b in blocks("walkthrough") if marker in b)
        for marker in ("execute-update-with-start", "temporal workflow start")
    )
    rc, out, err = await contract.cli.bash(for_queue(ask + start, contract.queue))
    assert rc == 0, f"a repeated ask and start are harmless:\n{out}\n{err}"
    assert out.splitlines()[0] == number, "the same external id, the same number"
    first_run = (await handle.describe()).run_id
    assert first_run in out, "the start names the request's one run, it starts none"
    runs = [w.run_id async for w in contract.client.list_workflows(f"WorkflowId = '{number}'")]
    assert runs == [first_run]
    assert await ended(handle) == final, "the first request is untouched"

    # The search-attribute examples are valid queries and find this request.
    async def listed() -> None:
        rc, out, err = await contract.cli.bash("\n".join(blocks("queries")))
        assert rc == 0, f"a documented list query is not valid:\n{err}"
        assert number in out, "the closed VIP complaint is found by its search attributes"

    await eventually(listed, timeout=15, interval=0.5)
