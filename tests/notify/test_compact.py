"""Compact messages (workflow patch `compact-terms-and-messages`): what the workflow
plans travels as small as the sender needs, is rebuilt by the activity into the message
the planner made, and a batch of them is still sent exactly once per key — counted at a
real SMTP server."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from pydantic import TypeAdapter
from temporalio.exceptions import ApplicationError

from activities.notify import NotifyActivities
from csflow.channels.email import EmailChannel
from csflow.contracts import Actor, TimelineEvent
from csflow.domain.codes import Role
from csflow.domain.events import EventKind
from csflow.notify.config import Contact, NotifyConfig, Smtp
from csflow.notify.models import CompactNotification, Notification, Recipient, parse_key
from csflow.notify.planner import NotifyContext, plan_notifications
from csflow.notify.templates import TEMPLATES, Templates
from tests.helpers import free_port
from tests.notify.servers import Inbox, smtp_server
from tests.notify.test_retry import WINDOW, attempt, status_of
from tests.notify.test_send import DAY

WIRE = TypeAdapter(Notification | CompactNotification | list[CompactNotification])
AGENT = Actor(id="wang.wei", role=Role.AGENT)


def _context(**changes: Any) -> NotifyContext:
    ctx = NotifyContext(
        number="CS20261123-WEB-0001",
        priority="P3",
        category="complaint",
        assignee="wang.wei",
        customer=Recipient(kind="customer", id="C-1", language="en", time_zone="Europe/Berlin"),
        survey_url="https://csflow.test/survey/x",
        handovers=True,
    )
    return ctx.model_copy(update=changes)


def _planned() -> list[Notification]:
    """What the planner makes for a lifecycle's events, to customer and staff."""
    events = [
        TimelineEvent(
            seq=1,
            kind=EventKind.RECEIVED,
            at=DAY,
            actor=AGENT,
            data={"deadlines": {"resolution": "2026-11-24T03:00:00+00:00"}},
        ),
        TimelineEvent(seq=2, kind=EventKind.ASSIGNED, at=DAY, actor=AGENT, data={}),
        TimelineEvent(
            seq=3,
            kind=EventKind.PLAN_SUBMITTED,
            at=DAY,
            actor=AGENT,
            data={"eta": "2026-11-25T04:00:00+00:00", "owner": "li.senior"},
        ),
        TimelineEvent(
            seq=4, kind=EventKind.PROGRESS_POSTED, at=DAY, actor=AGENT, reason="inspected"
        ),
        TimelineEvent(
            seq=5, kind=EventKind.RESOLUTION_PROPOSED, at=DAY, actor=AGENT, reason="fixed"
        ),
    ]
    return [n for e in events for n in plan_notifications(e, _context())]


def test_a_planned_message_is_rebuilt_as_the_planner_made_it() -> None:
    planned = _planned()
    assert {n.template for n in planned} >= {
        "acknowledgement",
        "staff_assignment",
        "plan_eta",
        "staff_handover",
        "progress_update",
        "resolution",
    }
    templates = Templates()
    for n in planned:
        used = TEMPLATES[n.template][0]
        small = CompactNotification.of(n, used)
        assert small is not None, n.key
        wire = small.model_dump_json()
        assert "recipient" not in wire and "null" not in wire
        assert len(wire) < len(n.model_dump_json()) / 2, "at least halved"
        back = WIRE.validate_json(wire)
        assert isinstance(back, CompactNotification)
        full = back.full()
        # The very message, less the variables no template of its kind reads.
        assert full == n.model_copy(
            update={"variables": {k: v for k, v in n.variables.items() if k in used}}
        )
        # ... and it renders as the planned one does.
        assert templates.render(full.template, full.recipient.language, full.variables) == (
            templates.render(n.template, n.recipient.language, n.variables)
        )


def test_what_does_not_fit_travels_whole() -> None:
    """A ladder page's key names the step and the channel, not the template; a message
    that carries an address (planned by an older worker) is sent as it is."""
    page = Notification(
        key="CS1/ladder/resolution#1:0/staff:li.senior/sms",
        number="CS1",
        template="staff_escalation",
        recipient=Recipient(kind="staff", id="li.senior", channels=["sms"]),
        priority="P1",
    )
    assert CompactNotification.of(page) is None
    addressed = _planned()[0]
    addressed = addressed.model_copy(
        update={"recipient": addressed.recipient.model_copy(update={"email": "a@b.c"})}
    )
    assert CompactNotification.of(addressed) is None
    assert isinstance(WIRE.validate_json(page.model_dump_json()), Notification)


def test_a_recipient_id_may_hold_a_slash() -> None:
    assert parse_key("CS1/7/staff:team/desk-1/staff_alert") == (
        "CS1",
        "staff",
        "team/desk-1",
        "staff_alert",
    )
    with pytest.raises(ValueError, match="not a message key"):
        parse_key("CS1/7/staff_alert")


def _desk_message(desk: str, seq: int) -> CompactNotification:
    n = Notification(
        key=f"CS-C{desk}/{seq}/role:{desk}/staff_alert",
        number=f"CS-C{desk}",
        template="staff_alert",
        recipient=Recipient(kind="role", id=desk, channels=["email"]),
        priority="P3",
        variables={"number": f"CS-C{desk}", "reason": "queue is long"},
    )
    small = CompactNotification.of(n, TEMPLATES["staff_alert"][0])
    assert small is not None
    return small


async def test_a_batch_waits_for_its_channel_and_delivers_each_key_once(pool: Any) -> None:
    """Two compact messages in one activity while SMTP is down: one retryable error
    (the soonest retry), both rows `retrying`; when SMTP is back each is delivered once,
    and a further retry of the batch sends nothing."""
    port, inbox = free_port(), Inbox()
    desks = [f"desk{uuid.uuid4().hex[:8]}" for _ in range(2)]
    config = NotifyConfig(
        smtp=Smtp(host="127.0.0.1", port=port),
        retry=WINDOW,
        roles={d: Contact(email=f"{d}@example.com") for d in desks},
    )
    a = NotifyActivities(
        pool,
        {"email": EmailChannel(config.smtp or Smtp(host=""))},
        Templates(),
        config,
        clock=lambda: DAY,
    )
    batch = [_desk_message(d, i) for i, d in enumerate(desks, start=1)]
    with pytest.raises(ApplicationError) as caught:
        await attempt(1, timedelta(seconds=1)).run(a.send, batch)
    assert caught.value.type == "ChannelsDown"
    assert caught.value.next_retry_delay == timedelta(seconds=1)
    assert [await status_of(pool, m.key) for m in batch] == ["retrying", "retrying"]

    with smtp_server(port, inbox):
        sent = await attempt(2, timedelta(seconds=2)).run(a.send, batch)
        again = await attempt(3, timedelta(seconds=3)).run(a.send, batch)
    assert sent is None and again is None, "compact messages are answered with nothing"
    assert sorted(r for m in inbox.messages for r in m.rcpt_tos) == sorted(
        f"{d}@example.com" for d in desks
    )
    assert [await status_of(pool, m.key) for m in batch] == ["sent", "sent"]
