"""Request numbers come from one place — the numbering workflow, over the worker's
PostgreSQL counter — for every caller: a retried ask with the same external id gets the
same number, concurrent asks get different ones, and the day is the organisation's."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from temporalio.common import Priority

from activities.numbering import NumberingActivities
from csflow.activity_io import RecordEvents
from csflow.config.terms import TermsProvider
from csflow.contracts import RequestState, TimelineEvent
from csflow.domain.codes import Channel
from csflow.domain.lifecycle import Status
from csflow.domain.numbering import (
    NUMBERS_PRIORITY,
    IssuedNumber,
    NumberRequest,
    NumbersInput,
    format_number,
    numbers_workflow_id,
    parse_number,
    parse_start_number,
)
from csflow.domain.policy import DEFAULT_POLICY
from csflow.store import persist
from csflow.store import requests as store
from tests.contract.conftest import Contract
from tests.helpers import AGENT, eventually, intake, seed_serial_block

DAY = date(2026, 11, 23)


@given(st.sampled_from(list(Channel)), st.integers(1, 10**7))
def test_every_counter_number_is_a_valid_start_number(channel: Channel, serial: int) -> None:
    number = format_number(DAY, channel, serial)
    assert parse_start_number(number, channel).serial == serial
    others = [c for c in Channel if c is not channel]
    with pytest.raises(ValueError, match="is not the intake's channel"):
        parse_start_number(number, others[serial % len(others)])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("CS20261123-WEB-00012", "write the number as CS20261123-WEB-0012"),
        ("CS20261123-XYZ-0001", "not a request number"),
        ("ticket-4711", "not a request number"),
    ],
)
def test_a_start_number_must_be_canonical(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_start_number(text, Channel.WEB)


async def test_issue_number_binds_an_external_id_once_even_when_racing(pool: Any) -> None:
    issued = await asyncio.gather(
        *(store.issue_number(pool, DAY, Channel.WEB, "shop-7") for _ in range(5))
    )
    assert len({n for n, _ in issued}) == 1
    assert sorted(existing for _, existing in issued) == [False, True, True, True, True]
    again = await store.issue_number(pool, DAY, Channel.WEB, "shop-7")
    assert again == (issued[0][0], True)
    plain = await asyncio.gather(
        *(store.issue_number(pool, DAY, Channel.WEB, None) for _ in range(5))
    )
    assert len({n for n, _ in plain}) == 5 and not any(e for _, e in plain)
    assert issued[0][0] not in {n for n, _ in plain}


async def test_the_number_is_dated_by_the_organisations_business_day(pool: Any) -> None:
    numbering = NumberingActivities(pool, TermsProvider(DEFAULT_POLICY))
    late = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)  # 07:30 on the 24th in Shanghai
    issued = await numbering.allocate_number(NumberRequest(channel=Channel.CHAT, received_at=late))
    assert issued.number == "CS20261124-CHT-0001" and not issued.existing


async def _ask(contract: Contract, update: dict[str, Any], shard: int = 0) -> dict[str, Any]:
    """The numbering Update as docs/contract.md shows it, with the `temporal` CLI."""
    rc, out, err = await contract.cli.run(
        "workflow",
        "execute-update-with-start",
        "--workflow-id",
        numbers_workflow_id(contract.queue, shard),
        "--type",
        "RequestNumbers",
        "--task-queue",
        contract.queue,
        "--id-conflict-policy",
        "UseExisting",
        "--input",
        "{}",
        "--update-name",
        "next_number",
        "--update-input",
        json.dumps(update),
        "-o",
        "json",
    )
    assert rc == 0, out + err
    result: dict[str, Any] = json.loads(out)["updateResult"]
    return result


async def test_the_cli_gets_numbers_from_the_numbering_workflow(contract: Contract) -> None:
    await seed_serial_block(contract.pool)
    now = datetime.now(UTC).isoformat()
    ask = {"channel": "web", "received_at": now, "external_id": "crm-1"}
    first = await _ask(contract, ask)
    assert first["existing"] is False
    assert await _ask(contract, ask, shard=5) == {"number": first["number"], "existing": True}, (
        "any shard knows the external id: the bindings are in PostgreSQL"
    )
    racing = await asyncio.gather(
        *(
            _ask(contract, {"channel": "web", "received_at": now}, shard=shard)
            for shard in (0, 0, 3, 7)
        )
    )
    numbers = [r["number"] for r in racing] + [first["number"]]
    assert len(set(numbers)) == 5, "concurrent asks, on one shard or several, differ"
    assert {parse_number(n).channel for n in numbers} == {Channel.WEB}
    assert (
        await contract.pool.fetchval("SELECT number FROM request_keys WHERE external_id = 'crm-1'")
        == first["number"]
    )

    # The workflow holds nothing: a shard terminated by hand is replaced by a fresh run on
    # the next ask, which counts on from the same rows.
    shard = contract.client.get_workflow_handle(numbers_workflow_id(contract.queue, 0))
    ended_run = (await shard.describe()).run_id
    await shard.terminate("an operator's mistake")
    after = await _ask(contract, {"channel": "web", "received_at": now}, shard=0)
    assert (await shard.describe()).run_id != ended_run
    assert parse_number(after["number"]).serial == max(parse_number(n).serial for n in numbers) + 1
    assert await _ask(contract, ask, shard=0) == {"number": first["number"], "existing": True}

    rc, out, err = await contract.cli.run(
        "workflow",
        "execute-update-with-start",
        "--workflow-id",
        numbers_workflow_id(contract.queue),
        "--type",
        "RequestNumbers",
        "--task-queue",
        contract.queue,
        "--id-conflict-policy",
        "UseExisting",
        "--input",
        "{}",
        "--update-name",
        "next_number",
        "--update-input",
        json.dumps({"channel": "web", "received_at": "2999-01-01T00:00:00Z"}),
    )
    assert rc != 0 and "is in the future" in out + err


def _first_batch(number: str, external_id: str | None) -> RecordEvents:
    at = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    state = RequestState(
        number=number,
        status=Status.RECEIVED,
        priority="P2",
        category="complaint",
        channel="web",
        tier="regular",
        customer_id="C-1001",
        received_at=at,
    )
    event = TimelineEvent(seq=1, at=at, kind="received", actor=AGENT, status_to=Status.RECEIVED)
    return RecordEvents(state=state, events=[event], intake=intake(external_id=external_id))


async def test_a_request_is_persisted_and_its_key_bound_by_the_worker(pool: Any) -> None:
    number = "CS20261123-WEB-0001"
    assert await persist.record_events(pool, _first_batch(number, "shop-1")) == 1
    assert await persist.record_events(pool, _first_batch(number, "shop-1")) == 0, "a retry"
    view = await store.get_request(pool, number)
    assert view is not None and [e.kind for e in view.timeline] == ["received"]
    assert await store.number_for_external_id(pool, "shop-1") == number, (
        "a later ask for a number with this external id finds this request"
    )


async def test_an_external_id_held_by_another_request_never_blocks_persistence(pool: Any) -> None:
    first, second = "CS20261123-WEB-0001", "CS20261123-WEB-0002"
    assert await store.claim_external_id(pool, "shop-2", first) == first  # numbering
    await persist.record_events(pool, _first_batch(first, "shop-2"))
    assert await persist.record_events(pool, _first_batch(second, "shop-2")) == 1
    rows = {
        r["number"]: r["external_id"]
        for r in await pool.fetch("SELECT number, external_id FROM requests")
    }
    assert rows == {first: "shop-2", second: None}
    assert await store.number_for_external_id(pool, "shop-2") == first


async def test_a_numbering_run_continues_as_new_and_keeps_counting(contract: Contract) -> None:
    """Asks racing a hand-over are answered by one run or the next, never lost or doubled."""
    await seed_serial_block(contract.pool)
    shard = numbers_workflow_id(contract.queue, 1)
    await contract.client.start_workflow(
        "RequestNumbers",
        NumbersInput(numbers_per_run=3),
        id=shard,
        task_queue=contract.queue,
        priority=Priority(priority_key=NUMBERS_PRIORITY),
    )
    asks = [
        NumberRequest(
            channel=Channel.EMAIL,
            received_at=datetime.now(UTC),
            external_id=f"mail-{i}" if i % 2 else None,
        )
        for i in range(10)
    ]
    handle = contract.client.get_workflow_handle(shard)
    issued = await asyncio.gather(
        *(handle.execute_update("next_number", ask, result_type=IssuedNumber) for ask in asks)
    )
    serials = sorted(parse_number(i.number).serial for i in issued)
    assert serials == list(range(serials[0], serials[0] + 10)), "unique, no gap, no double"

    # Asks already in flight when a run has answered its three are answered by it too
    # (it hands over once its handlers finish), so ten racing asks take two runs or more.
    async def continued() -> None:  # the listing is eventually consistent
        runs = [w async for w in contract.client.list_workflows(f"WorkflowId = '{shard}'")]
        assert len(runs) >= 2, "the run continued as new"

    await eventually(continued, timeout=20)
    latest = await handle.describe()
    assert (
        latest.raw_description.workflow_execution_info.priority.priority_key == NUMBERS_PRIORITY
    ), "a new run keeps the numbering's priority"
    again = await handle.execute_update("next_number", asks[1], result_type=IssuedNumber)
    assert again == IssuedNumber(number=issued[1].number, existing=True)
