"""Which messages each event produces, and templates refused at load, not at send."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from csflow.contracts import SYSTEM, TimelineEvent
from csflow.notify.compliance import ComplianceError, check_compliance
from csflow.notify.models import Recipient
from csflow.notify.planner import NotifyContext, plan_notifications
from csflow.notify.templates import TEMPLATES, TemplateError, Templates

AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CTX = NotifyContext(
    number="CS1",
    priority="P1",
    category="complaint",
    assignee="a1",
    customer=Recipient(kind="customer", id="C-1", email="li@example.com"),
    follow_up_owner="fu.lin",
)


def ev(kind: str, seq: int = 5, reason: str | None = None, **data: object) -> TimelineEvent:
    return TimelineEvent(seq=seq, at=AT, kind=kind, actor=SYSTEM, reason=reason, data=data)


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (
            ev("received", deadlines={"resolution": "2026-11-23T11:00:00+00:00"}),
            [("customer", "C-1", "acknowledgement")],
        ),
        (ev("assigned", assignee="a1"), [("staff", "a1", "staff_assignment")]),
        (ev("progress_posted", reason="on the way"), [("customer", "C-1", "progress_update")]),
        (ev("resolution_proposed", reason="fixed"), [("customer", "C-1", "resolution")]),
        (
            ev("follow_up_scheduled", survey_url="https://x/survey/t"),
            [("customer", "C-1", "follow_up_questionnaire")],
        ),
        (
            ev("improvement_closed", what_changed="new rota"),
            [("customer", "C-1", "improvement_outcome")],
        ),
        (ev("sla_warning", clock="plan"), [("staff", "a1", "staff_warning")]),
        (ev("sla_breached", clock="plan"), [("staff", "a1", "staff_breach")]),
        (
            ev(
                "escalation_step",
                clock="plan",
                notify=["supervisor"],
                channels=["sms", "phone"],
                action="notify",
            ),
            [("role", "supervisor", "staff_escalation")],
        ),
        (ev("follow_up_reminder", due_at="x"), [("staff", "fu.lin", "staff_reminder")]),
        (ev("queued", notify=["supervisor"]), [("role", "supervisor", "staff_alert")]),
        (ev("plan_submitted"), []),
    ],
)
def test_each_event_produces_the_expected_messages(
    event: TimelineEvent, expected: list[tuple[str, str, str]]
) -> None:
    planned = plan_notifications(event, CTX)
    assert [(n.recipient.kind, n.recipient.id, n.template) for n in planned] == expected
    for n in planned:
        assert n.key == f"CS1/5/{n.recipient.kind}:{n.recipient.id}/{n.template}"
        Templates().render(n.template, "en", n.variables)  # every variable is supplied


def test_an_escalation_goes_out_on_the_ladder_channels() -> None:
    [n] = plan_notifications(
        ev(
            "escalation_step",
            clock="first_response",
            notify=["supervisor"],
            channels=["sms", "phone"],
        ),
        CTX,
    )
    assert n.recipient.channels == ["sms", "phone"]


def test_a_template_with_an_unknown_variable_is_refused_at_load() -> None:
    bad = dict(TEMPLATES)
    bad["progress_update"] = (
        frozenset({"number", "note"}),
        {"en": ("Progress", "{{ numbr }}: {{ note }}")},
    )
    with pytest.raises(TemplateError, match=r"unknown variable.*numbr"):
        Templates(bad)


def test_a_template_with_a_banned_promise_is_refused_at_load() -> None:
    bad = {
        "resolution": (
            frozenset({"number"}),
            {"zh-CN": ("已解决", "{{ number }} 绝对保证不再发生")},
        )
    }
    with pytest.raises(TemplateError, match="绝对保证"):
        Templates(bad)


@pytest.mark.parametrize(
    "text", ["We give an ABSOLUTE   guarantee", "本卡永久有效", "Ｐｅｒｍａｎｅｎｔｌｙ valid"]
)
def test_free_text_with_a_banned_promise_is_refused_naming_it(text: str) -> None:
    with pytest.raises(ComplianceError) as caught:
        check_compliance(text)
    assert caught.value.phrase in ("absolute guarantee", "永久有效", "permanently valid")
    check_compliance("We will call you tomorrow before noon.")


def test_templates_are_checked_against_the_policys_own_list() -> None:
    """A phrase the built-in questionnaire text uses, banned by policy: the worker's
    templates refuse to load, naming it."""
    with pytest.raises(TemplateError, match="Thank you for your patience"):
        Templates(banned=["Thank you for your patience"])
    Templates(banned=["free upgrade for life"])  # the built-in texts pass
