"""A request started as every caller starts it (no terms), since patch
`compact-terms-and-messages`: the terms come from a local activity, compact; a policy that
cannot serve the intake still fails the request at once with the reason — before anything
is persisted or sent — and the messages of one workflow task travel together."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from csflow.config.terms import TermsProvider
from csflow.contracts import ReceiptQuery, ServiceRequestInput, UpdateResult
from csflow.domain.codes import Category, Channel, Priority, Tier
from csflow.domain.policy import DEFAULT_POLICY
from csflow.domain.terms import RequestTerms
from tests.helpers import eventually, intake
from tests.workflows.conftest import Harness, running_harness
from workflows.service_request import ServiceRequestWorkflow


class _Uncovered(TermsProvider):
    def for_request(
        self,
        channel: Channel,
        category: Category,
        sub_type: str | None,
        tier: Tier,
        amount: Decimal | None,
        received_at: datetime,
    ) -> RequestTerms:
        raise ValueError(f"no working time in the calendar around {received_at:%Y}")


def _caller_input(received: datetime) -> ServiceRequestInput:
    number = f"CS{received:%Y%m%d}-WEB-7{uuid.uuid4().int % 100_000:05d}"
    return ServiceRequestInput(
        number=number, intake=intake(priority=Priority.P3), received_at=received
    )


async def test_terms_the_policy_cannot_give_fail_the_request_before_anything_happens(
    ts_env: WorkflowEnvironment,
) -> None:
    async with running_harness(ts_env, _Uncovered(DEFAULT_POLICY)) as harness:
        inp = _caller_input(datetime.now(UTC) - timedelta(seconds=5))
        h = await ts_env.client.start_workflow(
            "ServiceRequest", inp, id=inp.number, task_queue=harness.queue, result_type=UpdateResult
        )
        with pytest.raises(WorkflowFailureError) as failed:
            await h.result()
    assert "could not resolve the SLA terms" in str(failed.value.cause)
    assert "no working time in the calendar around" in str(failed.value.cause.cause)
    assert not harness.store.batches and not harness.notify.sent


async def test_a_caller_start_runs_on_compact_terms_and_batches_its_messages(
    harness: Harness,
) -> None:
    received = datetime.now(UTC) - timedelta(seconds=5)
    inp = _caller_input(received)
    h = await harness.client.start_workflow(
        "ServiceRequest", inp, id=inp.number, task_queue=harness.queue, result_type=UpdateResult
    )
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    view = await h.query(ServiceRequestWorkflow.get_state)
    whole = harness_terms(inp)
    # The clocks the compact terms set are the ones the whole terms set.
    first = next(c for c in view.clocks if c.name == "first_response")
    assert first.due_at == whole.due("first_response", Priority.P3, received)
    history = await h.fetch_history()
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    # Terms and triage ran as local activities; the acknowledgement and the assignment
    # travelled in the intake's write (patch `messages-in-the-write`), not an activity.
    assert scheduled == []
    intake = harness.store.batches[0]
    assert {m.full().template for m in intake.messages} == {"acknowledgement", "staff_assignment"}

    async def both_sent() -> None:
        sent = harness.notify.sent
        assert {n.template for n in sent} == {"acknowledgement", "staff_assignment"}
        assert all(n.recipient.email is None for n in sent)

    await eventually(both_sent)


def harness_terms(inp: ServiceRequestInput) -> RequestTerms:
    return TermsProvider(DEFAULT_POLICY).for_intake(inp.intake, inp.received_at)
