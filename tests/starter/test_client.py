"""The starter client against a real worker: idempotent create, typed commands, timeline,
and connecting from the environment."""

from __future__ import annotations

import asyncio
import inspect
from datetime import UTC, datetime, timedelta
from typing import get_type_hints

import pytest
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from csflow.commands import COMMANDS
from csflow.contracts import (
    ConfirmCommand,
    EscalateCommand,
    Model,
    PlanCommand,
    RequestView,
)
from csflow.domain.codes import Channel, Priority
from csflow.domain.lifecycle import Command, Status
from csflow.domain.numbering import business_day, format_number
from csflow.settings import Settings
from csflow.store.listing import RequestFilter
from starter.client import (
    CsflowClient,
    NumberingUnavailable,
    RequestNotFound,
    RequestRefused,
    TemporalUnavailable,
    connect,
)
from tests.helpers import AGENT, CUSTOMER, SUPERVISOR, eventually, fresh_queue, intake
from tests.starter.conftest import Stack


class _Recording(CsflowClient):
    """Only `send` is replaced: the typed methods themselves run unchanged."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Command, Model, str | None]] = []

    async def send(
        self, number: str, command: Command, arg: Model, *, idempotency_key: str | None = None
    ) -> RequestView:
        self.sent.append((number, command, arg, idempotency_key))
        return None  # type: ignore[return-value]


async def test_every_command_has_a_typed_method_that_sends_that_command() -> None:
    recorder = _Recording()
    for spec in COMMANDS:
        method = getattr(CsflowClient, spec.update_name, None)
        assert method is not None, f"CsflowClient.{spec.update_name} is missing"
        hints = get_type_hints(method)
        assert hints["command"] is spec.model, spec.command
        assert hints["return"] is RequestView, spec.command
        params = inspect.signature(method).parameters
        assert list(params)[:3] == ["self", "number", "command"], spec.command
        assert params["idempotency_key"].kind is inspect.Parameter.KEYWORD_ONLY

        arg = spec.model.model_construct()
        await getattr(recorder, spec.update_name)("CS-N", arg, idempotency_key="k")
        assert recorder.sent[-1] == ("CS-N", spec.command, arg, "k")
    assert len(recorder.sent) == len(COMMANDS)


async def test_a_repeated_external_id_is_one_request_and_one_workflow(stack: Stack) -> None:
    first = intake(external_id="crm-4711")
    # Three racing creates (a client retrying after timeouts), then a late repeat.
    racing = await asyncio.gather(*(stack.csflow.create(first) for _ in range(3)))
    assert len({c.number for c in racing}) == 1
    assert sorted(c.existing for c in racing) == [False, True, True]
    number = racing[0].number
    again = await stack.csflow.create(intake(external_id="crm-4711", priority=Priority.P1))
    assert (again.number, again.existing) == (number, True)
    assert again.view is not None and again.view.priority is Priority.P2  # the first intake
    quick = await stack.csflow.create(first, wait=False)
    assert (quick.number, quick.existing) == (number, True)

    # The losers' serials were allocated but never started: no workflow has their numbers.
    day = business_day(datetime.now(UTC), "Asia/Shanghai")
    last = await stack.pool.fetchval(
        "SELECT last_serial FROM request_counters WHERE day = $1 AND channel = 'web'", day
    )
    block_start = last - last % 1000  # seed_serial_block: this test's serials follow it
    allocated = [format_number(day, Channel.WEB, s) for s in range(block_start + 1, last + 1)]
    assert 1 <= len(allocated) <= 3
    assert number in allocated
    for other in set(allocated) - {number}:
        with pytest.raises(RPCError) as err:
            await stack.client.get_workflow_handle(other).describe()
        assert err.value.status == RPCStatusCode.NOT_FOUND

    async def one_workflow() -> None:
        listed = [
            w.id
            async for w in stack.client.list_workflows(
                f"WorkflowType = 'ServiceRequest' AND TaskQueue = '{stack.queue}'"
            )
        ]
        assert listed == [number]
        count = await stack.client.count_workflows(
            f"WorkflowType = 'ServiceRequest' AND TaskQueue = '{stack.queue}'"
        )
        assert count.count == 1

    await eventually(one_workflow)
    assert await stack.pool.fetchval("SELECT count(*) FROM requests") == 1
    assert await stack.pool.fetchval("SELECT count(*) FROM request_keys") == 1


async def test_typed_commands_reach_the_workflow_and_its_timeline(stack: Stack) -> None:
    number = (await stack.csflow.create(intake())).number
    eta = datetime.now(UTC) + timedelta(days=1)
    view = await stack.csflow.submit_plan(
        number,
        PlanCommand(actor=AGENT, measures=["replace the parcel"], eta=eta),
        idempotency_key="plan-1",
    )
    assert view.status is Status.IN_PROGRESS
    view = await stack.csflow.escalate(
        number,
        EscalateCommand(actor=SUPERVISOR, reason="VIP complained twice", priority=Priority.P1),
    )
    assert view.priority is Priority.P1

    with pytest.raises(RequestRefused) as refused:
        await stack.csflow.confirm(number, ConfirmCommand(actor=CUSTOMER, satisfied=True))
    assert refused.value.kind == "IllegalTransition"

    timeline = await stack.csflow.timeline(number)
    kinds = [e.kind for e in timeline]
    assert kinds[:3] == ["received", "assigned", "plan_submitted"]
    escalated = next(e for e in timeline if e.kind == "escalated")
    assert (escalated.actor, escalated.reason) == (SUPERVISOR, "VIP complained twice")
    assert [e.seq for e in timeline] == sorted(e.seq for e in timeline)
    assert timeline == (await stack.csflow.state(number)).timeline

    with pytest.raises(RequestNotFound, match="no request CS20000101-WEB-0001"):
        await stack.csflow.timeline("CS20000101-WEB-0001")


async def test_connect_builds_everything_from_the_environment(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in stack.env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    async with connect() as csflow:
        # The queue comes from CSFLOW_TASK_QUEUE: only this test's worker can run it.
        created = await csflow.create(intake(priority=Priority.P1))
        assert created.view is not None and created.view.status is Status.ASSIGNED
        page = await csflow.list(RequestFilter(priority=[Priority.P1]))
        assert [r.number for r in page.items] == [created.number]
        assert csflow.has_database, "DATABASE_URL is set: reads come from PostgreSQL"
        pool = csflow._pool
    assert pool is not None and pool.is_closing()

    # A pool handed in stays its owner's: aclose() leaves the fixture's pool usable.
    await stack.csflow.aclose()
    assert await stack.pool.fetchval("SELECT 1") == 1


async def test_an_unreachable_temporal_is_reported_as_such(db: str) -> None:
    settings = Settings(TEMPORAL_ADDRESS="127.0.0.1:9", DATABASE_URL=db)
    with pytest.raises(TemporalUnavailable, match=r"127\.0\.0\.1:9"):
        await CsflowClient.from_env(settings)


async def test_without_a_worker_nothing_is_numbered_or_started(ts_env: WorkflowEnvironment) -> None:
    queue = fresh_queue()  # nobody polls it
    csflow = CsflowClient(ts_env.client, task_queue=queue, number_wait=1.0)
    with pytest.raises(NumberingUnavailable, match=f"worker running on task queue {queue}"):
        await csflow.create(intake())
    count = await ts_env.client.count_workflows(
        f"WorkflowType = 'ServiceRequest' AND TaskQueue = '{queue}'"
    )
    assert count.count == 0
