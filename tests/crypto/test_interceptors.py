"""Signed actors through a real Temporal server: what a raw Update with a typed-in role
meets, and what a signing client gets through."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import BaseModel
from temporalio import workflow
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from csflow.crypto.interceptors import HEADER, ActorSigning, ActorVerifying

pytestmark = pytest.mark.integration

KEY = b"s" * 32


class Who(BaseModel):
    id: str
    role: str


class Decide(BaseModel):
    actor: Who
    amount: int


@workflow.defn(name="AssertionProbe")
class AssertionProbe:
    def __init__(self) -> None:
        self._done = False
        self._approved: list[str] = []

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.wait_condition(lambda: self._done)
        return self._approved

    @workflow.update
    async def decide(self, cmd: Decide) -> str:
        self._approved.append(f"{cmd.actor.id}:{cmd.amount}")
        return "approved"

    @decide.validator
    def _check(self, cmd: Decide) -> None:
        if cmd.actor.role != "supervisor":
            raise ValueError("supervisors only")

    @workflow.signal
    def finish(self) -> None:
        self._done = True


@pytest.fixture
async def probe(ts_env: WorkflowEnvironment) -> AsyncIterator[tuple[Client, Client, str]]:
    queue = f"q-{uuid.uuid4().hex[:8]}"
    # The session's client signs with the suite's key; these tests pick their own.
    config = ts_env.client.config()
    config["interceptors"] = []
    plain = Client(**config)
    config = plain.config()
    config["interceptors"] = [ActorSigning(KEY)]
    signing = Client(**config)
    async with Worker(
        plain, task_queue=queue, workflows=[AssertionProbe], interceptors=[ActorVerifying(KEY)]
    ):
        handle = await plain.start_workflow(
            AssertionProbe.run, id=f"probe-{uuid.uuid4()}", task_queue=queue
        )
        yield plain, signing, handle.id
        await handle.signal(AssertionProbe.finish)


SUPERVISOR = Decide(actor=Who(id="sup-wu", role="supervisor"), amount=900)


async def test_a_self_declared_supervisor_without_assertion_is_refused(probe: Any) -> None:
    plain, _, wf_id = probe
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await plain.get_workflow_handle(wf_id).execute_update(AssertionProbe.decide, SUPERVISOR)
    cause: Any = failed.value.cause
    assert cause.type == "Forbidden"
    assert "no signed actor assertion" in cause.message


async def test_a_signed_actor_gets_through_and_its_command_is_recorded(probe: Any) -> None:
    _, signing, wf_id = probe
    assert (
        await signing.get_workflow_handle(wf_id).execute_update(AssertionProbe.decide, SUPERVISOR)
        == "approved"
    )
    # The workflow's own validator still runs after the assertion check.
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await signing.get_workflow_handle(wf_id).execute_update(
            AssertionProbe.decide, Decide(actor=Who(id="ag-li", role="agent"), amount=1)
        )
    assert "supervisors only" in str(refused.value.cause)


async def test_an_assertion_for_another_actor_or_request_is_refused(probe: Any) -> None:
    plain, _, wf_id = probe
    signer = ActorSigning(KEY)
    cases = [
        (signer.header_for(Who(id="ag-li", role="agent"), wf_id, "decide"), "not for the named"),
        (signer.header_for(SUPERVISOR.actor, "CS-other", "decide"), "is for CS-other"),
        (ActorSigning(b"x" * 32).header_for(SUPERVISOR.actor, wf_id, "decide"), "does not verify"),
    ]
    for header, reason in cases:
        with pytest.raises(WorkflowUpdateFailedError) as failed:
            await _raw_update(plain, wf_id, header)
        assert reason in str(failed.value.cause)


async def _raw_update(client: Client, wf_id: str, header: Any) -> Any:
    """An Update with a hand-set header, as `temporal workflow update --headers` sends it."""
    from temporalio.client import Interceptor, OutboundInterceptor, StartWorkflowUpdateInput

    class _Fixed(Interceptor):
        def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
            class _Out(OutboundInterceptor):
                async def start_workflow_update(self, input: StartWorkflowUpdateInput) -> Any:
                    input.headers = {**input.headers, HEADER: header}
                    return await super().start_workflow_update(input)

            return _Out(next)

    config = client.config()
    config["interceptors"] = [_Fixed()]
    raw = Client(**config)
    return await raw.get_workflow_handle(wf_id).execute_update(AssertionProbe.decide, SUPERVISOR)
