"""Complaint supervision (issue 18): a major complaint is reported to the supervisor at
once; every complaint gets a supervisor follow-up within 24 h, or the supervisor and head
of its department hear that it is missing — under time skipping."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from csflow.contracts import CancelCommand, ProgressCommand, ReceiptQuery
from csflow.domain.codes import Category, Priority
from csflow.domain.org import Organisation
from tests.helpers import SUPERVISOR, eventually, intake
from tests.workflows.conftest import Harness
from workflows.service_request import ServiceRequestWorkflow

ORG = Organisation.model_validate(
    {
        "departments": {
            "care": {"head": "ma.head", "supervisors": ["chen.sup"]},
            "repair": {"head": "gao.head", "supervisors": ["he.sup"]},
        },
        "directors": ["zhou.director"],
    }
)


def _setup(harness: Harness) -> None:
    harness.assignment.org = ORG
    harness.assignment.on_duty = {"chen.sup", "ma.head", "he.sup", "gao.head", "zhou.director"}
    harness.assignment.holder = ("ann.agent", "care")


async def test_a_major_complaint_is_reported_to_the_supervisor_at_once(
    harness: Harness,
) -> None:
    _setup(harness)
    h = await harness.start(intake(priority=Priority.P2, amount_in_dispute=Decimal("8000")))
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())

    async def reported() -> None:
        alerts = [
            n for n in harness.notify.sent if n.number == h.id and n.template == "staff_alert"
        ]
        assert [n.recipient.id for n in alerts] == ["chen.sup"]
        assert "major complaint" in alerts[0].variables["reason"]

    await eventually(reported)
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )


async def test_a_complaint_without_a_supervisor_follow_up_in_24h_is_reported(
    harness: Harness,
) -> None:
    _setup(harness)
    h = await harness.start(intake(priority=Priority.P3))
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    await harness.env.fast_forward(h, timedelta(hours=25))

    async def missed() -> None:
        v = await h.query(ServiceRequestWorkflow.get_state)
        [e] = [e for e in v.timeline if e.kind == "supervisor_follow_up_missed"]
        assert e.at == v.received_at + timedelta(hours=24)
        told = {
            n.recipient.id
            for n in harness.notify.sent
            if n.number == h.id
            and n.template == "staff_alert"
            and n.key.split("/")[1] == str(e.seq)
        }
        assert told == {"chen.sup", "ma.head"}

    await eventually(missed)
    # A supervisor's note within the 24 h: nothing is reported; a consultation: never owed.
    followed = await harness.start(intake(priority=Priority.P3))
    await followed.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    await followed.execute_update(
        ServiceRequestWorkflow.post_progress,
        ProgressCommand(actor=SUPERVISOR, note="我是主管，已跟进您的投诉"),
    )
    question = await harness.start(intake(priority=Priority.P3, category=Category.CONSULTATION))
    await question.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    for other in (followed, question):
        await harness.env.fast_forward(other, timedelta(hours=25))
        v = await other.query(ServiceRequestWorkflow.get_state)
        assert "supervisor_follow_up_missed" not in [e.kind for e in v.timeline]
    for handle in (h, followed, question):
        await handle.execute_update(
            ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
        )
