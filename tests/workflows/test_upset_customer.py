"""A flagged customer is acted on (issue 18, "the flag triggers nothing"): the supervisor
of the request's department is alerted at intake, with the words that flagged it. (That
triage asks for senior staff is tested on PostgreSQL in tests/activities.)"""

from __future__ import annotations

from csflow.contracts import CancelCommand, ReceiptQuery
from csflow.domain.codes import Priority
from csflow.domain.org import Organisation
from tests.helpers import SUPERVISOR, eventually, intake
from tests.workflows.conftest import Harness
from workflows.service_request import ServiceRequestWorkflow


async def test_an_upset_customer_alerts_the_departments_supervisor(harness: Harness) -> None:
    harness.assignment.org = Organisation.model_validate(
        {
            "departments": {
                "care": {"head": "ma.head", "supervisors": ["chen.sup"]},
                "repair": {"head": "gao.head", "supervisors": ["he.sup"]},
            },
            "directors": ["zhou.director"],
        }
    )
    harness.assignment.on_duty = {"chen.sup", "he.sup", "ma.head", "zhou.director"}
    harness.assignment.emotion = ["愤怒", "regulator"]
    harness.assignment.holder = ("sun.senior", "care")
    h = await harness.start(intake(priority=Priority.P3))
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    v = await h.query(ServiceRequestWorkflow.get_state)
    assert "soothe_first" in v.flags

    async def alerted() -> None:
        alerts = [
            n for n in harness.notify.sent if n.number == h.id and n.template == "staff_alert"
        ]
        assert [(n.recipient.kind, n.recipient.id) for n in alerts] == [("staff", "chen.sup")]
        assert "愤怒, regulator" in alerts[0].variables["reason"]

    await eventually(alerted)
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )
