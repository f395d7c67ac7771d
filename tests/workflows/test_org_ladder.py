"""Ladder steps reach real people of the request's own department (issue 18, "Escalations
reach a placeholder"), under time skipping.

Department A and B each have a head, supervisors and a team; the directors are listed in
duty order. A silent request held in A must page A's supervisor and head and the on-duty
director — each once per step, on every channel the step names — and nobody of B.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from csflow.config.terms import TermsProvider
from csflow.contracts import ReceiptQuery
from csflow.domain.codes import Priority
from csflow.domain.org import Organisation
from csflow.domain.policy import policy_from_mapping
from tests.helpers import intake
from tests.workflows.conftest import Harness
from workflows.service_request import ServiceRequestWorkflow

ORG = Organisation.model_validate(
    {
        "departments": {
            "A": {
                "head": "a.head",
                "supervisors": ["a.sup"],
                "teams": {"a1": {"supervisors": ["a.tsup"], "members": ["a.agent"]}},
            },
            "B": {
                "head": "b.head",
                "supervisors": ["b.sup"],
                "teams": {"b1": {"supervisors": ["b.tsup"], "members": ["b.agent"]}},
            },
        },
        "directors": ["d.away", "d.on"],
        "covers": {"a.tsup": ["a.sup"]},
    }
)
ON_DUTY = {"a.agent", "a.sup", "a.head", "b.agent", "b.sup", "b.tsup", "b.head", "d.on"}
B_PEOPLE = {"b.agent", "b.sup", "b.tsup", "b.head", "d.away"}


def _paged(harness: Harness, number: str) -> Counter[tuple[str, str, str]]:
    """(recipient, channel, step) for every escalation page of the request."""
    return Counter(
        (n.recipient.id, n.recipient.channels[0], n.key.split("/")[3])
        for n in harness.notify.sent
        if n.number == number and n.template == "staff_escalation"
    )


async def test_a_silent_p1_pages_its_own_supervisor_and_director_once_per_step_per_channel(
    harness: Harness,
) -> None:
    harness.assignment.org, harness.assignment.on_duty = ORG, ON_DUTY
    harness.assignment.holder = ("a.agent", "A")
    t0 = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    h = await harness.start(intake(priority=Priority.P1), received_at=t0)
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    await harness.env.fast_forward(h, timedelta(days=1))
    view = await h.query(ServiceRequestWorkflow.get_state)

    # Four clocks (first response, plan, resolution, progress) each reach both P1 steps;
    # the team supervisor is off duty and covered by A's supervisor.
    assert _paged(harness, h.id) == Counter(
        {
            ("a.sup", "sms", "s1"): 1,
            ("a.sup", "phone", "s1"): 1,
            ("d.on", "sms", "s2"): 1,
            ("d.on", "phone", "s2"): 1,
        }
    )
    everyone = {n.recipient.id for n in harness.notify.sent if n.number == h.id}
    assert not everyone & B_PEOPLE
    assert "director" not in everyone | {view.assignee}
    # The takeover hands the request to the on-duty director, on the timeline, once.
    assert view.assignee == "d.on"
    moves = [e for e in view.timeline if e.kind == "reassigned"]
    assert [(e.data["from"], e.data["to"]) for e in moves] == [("a.agent", "d.on")]
    assert moves[0].data["ladder_step"] == "c1/s2"


async def test_a_p2_step_reaches_the_head_of_the_requests_department(
    harness: Harness,
) -> None:
    harness.assignment.org = ORG
    harness.assignment.on_duty = ON_DUTY - {"a.head"} | {"a.head.deputy"}
    harness.assignment.org = ORG.model_copy(update={"covers": {"a.head": ("a.head.deputy",)}})
    harness.assignment.holder = ("b.agent", "B")
    t0 = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    h = await harness.start(intake(priority=Priority.P2), received_at=t0)
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    await harness.env.fast_forward(h, timedelta(hours=3))

    # Held in B: B's head is paged, never A's (nor A's head's deputy).
    assert _paged(harness, h.id)[("b.head", "email", "s1")] == 1
    assert not {r for r, _, _ in _paged(harness, h.id)} & {"a.head", "a.head.deputy", "a.sup"}


async def test_the_ladders_reassign_step_hands_the_request_to_someone_more_senior(
    harness: Harness,
) -> None:
    policy = policy_from_mapping(
        {
            "escalation": {
                "P3": [
                    {
                        "after": "1h",
                        "action": "reassign",
                        "notify": ["owner"],
                        "channels": ["chat"],
                    },
                ]
            }
        }
    )
    harness.assignment.org, harness.assignment.on_duty = ORG, ON_DUTY
    harness.assignment.holder = ("a.agent", "A")
    harness.assignment.seniors = ["a.senior"]
    t0 = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    h = await harness.start(
        intake(priority=Priority.P3), received_at=t0, terms=TermsProvider(policy)
    )
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    await harness.env.fast_forward(h, timedelta(days=2))
    view = await h.query(ServiceRequestWorkflow.get_state)

    assert view.assignee == "a.senior"
    moves = [e for e in view.timeline if e.kind == "reassigned"]
    assert [(e.data["from"], e.data["to"]) for e in moves] == [("a.agent", "a.senior")]
    # Whoever owns it when a clock reaches the step is told — each person once, however
    # many clocks reach it (the later clocks find the new, more senior owner).
    paged = _paged(harness, h.id)
    assert paged[("a.agent", "chat", "s1")] == 1
    assert set(paged.values()) == {1}
