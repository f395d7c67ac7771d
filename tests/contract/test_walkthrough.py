"""docs/contract.md's walkthrough, run as written: the `temporal` CLI alone takes a request
from intake to closure on a real server, with the real worker and PostgreSQL.

The blocks marked `<!-- test: walkthrough -->` are concatenated into one bash script;
only the task queue is swapped for the test's own. If a flag, a field name or an Update
name in the doc is wrong, the script fails here before a reader trips over it. The
walkthrough's number is fixed per day and the dev server lives for the whole session, so
it runs once, in one test.
"""

from __future__ import annotations

import re

from csflow import contract_schema
from csflow.domain.lifecycle import Status
from csflow.domain.numbering import CALLER_SERIALS, parse_number
from csflow.store import requests as store
from tests.contract.conftest import Contract
from tests.helpers import eventually
from workflows.service_request import ServiceRequestWorkflow

DOC = (contract_schema.DOCS / contract_schema.DOC_FILE).read_text(encoding="utf-8")
QUEUE_FLAG = "--task-queue service-requests"
_BLOCK = re.compile(r"<!-- test: (?P<name>[a-z]+) -->\n```sh\n(?P<body>.*?)```", re.DOTALL)


def blocks(name: str) -> list[str]:
    found = [m["body"] for m in _BLOCK.finditer(DOC) if m["name"] == name]
    assert found, f"docs/contract.md has no block marked <!-- test: {name} -->"
    return found


def for_queue(script: str, queue: str) -> str:
    assert script.count(QUEUE_FLAG) == 1, "the walkthrough starts exactly one request"
    return script.replace(QUEUE_FLAG, f"--task-queue {queue}")


# What the timeline must show, in order: intake to closure through every step of the doc.
JOURNEY = ["received", "assigned", "plan_submitted", "progress_posted", "resolution_proposed",
           "customer_confirmed", "follow_up_scheduled", "follow_up_recorded", "closed"]


async def test_the_walkthrough_takes_a_request_from_intake_to_closure(
        contract: Contract) -> None:
    script = for_queue("\n".join(blocks("walkthrough")), contract.queue)
    rc, out, err = await contract.cli.bash(script)
    assert rc == 0, f"the walkthrough failed:\n{out}\n{err}"

    match = re.search(r"WorkflowId\s+(CS\d{8}-WEB-\d+)", out)
    assert match, out
    number = match[1]
    assert parse_number(number).serial in CALLER_SERIALS

    handle = contract.client.get_workflow_handle_for(ServiceRequestWorkflow.run, number)
    final = await handle.result()
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
        "SELECT external_id, customer_tier, priority FROM requests WHERE number = $1", number)
    assert dict(row) == {"external_id": "shop-ticket-4711", "customer_tier": "vip",
                         "priority": "P2"}
    assert await contract.pool.fetchval("SELECT count(*) FROM request_counters") == 0, \
        "the PostgreSQL counter was never asked"
    assert "CS" in out and '"status": "assigned"' in out, "get_state printed the state"

    # The doc says a second start of a taken number fails: run its exact start block again.
    start = next(b for b in blocks("walkthrough") if "temporal workflow start" in b)
    rc, out, err = await contract.cli.bash(
        f'NUMBER="{number}"\n' + for_queue(start, contract.queue))
    assert rc != 0, f"a second start of {number} must fail, got:\n{out}"
    assert "already finished" in err or "already running" in err, err
    assert await handle.result() == final, "the first request is untouched"

    # The search-attribute examples are valid queries and find this request.
    async def listed() -> None:
        rc, out, err = await contract.cli.bash("\n".join(blocks("queries")))
        assert rc == 0, f"a documented list query is not valid:\n{err}"
        assert number in out, "the closed VIP complaint is found by its search attributes"

    await eventually(listed, timeout=15, interval=0.5)
