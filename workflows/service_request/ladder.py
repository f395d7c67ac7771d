"""Ladder steps reach people, not labels (patch `org-ladder-routing`).

A step's recipients ("supervisor", "department_head", "director", "owner") are resolved by
the `route_escalation` activity relative to the request — its department, its holder's
team — with the organisation's fallback chain. Each person is paged once per step on
every channel the step names ("SMS + phone" means both, not "SMS, else phone"); the key
leaves out which clock breached, so a request whose response and resolution clocks both
reach the same step pages nobody twice (the outbox sends each key once; the workflow also
skips keys it already started). `reassign` and `director_takeover` move the request to a
real person and say so on the timeline, which tells the new holder.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, Literal

from csflow.contracts import SYSTEM, RequestState
from csflow.domain.clocks import Firing
from csflow.domain.escalation import EscalationAction, NotifyChannel
from csflow.domain.events import EventKind
from csflow.domain.org_routes import EscalationRoute, EscalationRouteInput
from csflow.notify.models import ChannelName, Notification, Recipient
from workflows.service_request.timeline import Timeline

ORG_PATCH = "org-ladder-routing"
MOVES = (EscalationAction.REASSIGN, EscalationAction.DIRECTOR_TAKEOVER)


def step_key(f: Firing) -> str:
    """One step of one cycle, whichever clock reached it."""
    assert f.step_index is not None
    return f"c{f.clock.cycle}/s{f.step_index + 1}"


def route_input(
    s: RequestState, f: Firing, holder: str | None, *, move: bool
) -> EscalationRouteInput:
    assert f.step is not None
    action = f.step.action if move or f.step.action not in MOVES else EscalationAction.NOTIFY
    return EscalationRouteInput(
        number=s.number,
        department=s.department,
        assignee=holder,
        roles=[r.value for r in f.step.notify],
        action=action.value,
    )


def moved(
    tl: Timeline, f: Firing, route: EscalationRoute, holder: str | None, now: datetime
) -> None:
    """The step handed the request on: the holder changes, on the timeline (so the new
    holder is told, and the board shows who has it)."""
    s = tl.state
    assert f.step is not None and route.assignee is not None
    s.assignee, s.queued, s.team = route.assignee, False, route.team
    if f.step.action is EscalationAction.DIRECTOR_TAKEOVER:
        # The request stays with its department: later steps still reach its people.
        s.escalated_to = "director"
    else:
        s.department = route.department or s.department
    tl.append(
        EventKind.REASSIGNED,
        SYSTEM,
        now,
        reason=f"{f.clock.id}: {route.rule}",
        data={
            "from": holder,
            "to": route.assignee,
            "department": s.department,
            "ladder_step": step_key(f),
            "action": f.step.action.value,
        },
    )


def pages(s: RequestState, f: Firing, route: EscalationRoute) -> list[Notification]:
    """One message per person and named channel; the board is the request's mark."""
    assert f.step is not None
    channels: list[ChannelName] = [
        _channel(c) for c in f.step.channels if c is not NotifyChannel.BOARD
    ] or ["email"]
    variables: dict[str, Any] = {
        "number": s.number,
        "priority": s.priority.value,
        "category": s.category.value,
        "clock": f.clock.id,
        "due_at": f.clock.due_at.isoformat() if f.clock.due_at else "",
        "action": f.step.action.value,
    }
    out = []
    for r in route.recipients:
        kind: Literal["staff", "role"] = "staff" if r.staff_id else "role"
        rid = r.staff_id or r.role
        for ch in channels:
            out.append(
                Notification(
                    key=f"{s.number}/ladder/{step_key(f)}/{kind}:{rid}/{ch}",
                    number=s.number,
                    template="staff_escalation",
                    priority=s.priority.value,
                    variables=variables,
                    recipient=Recipient(kind=kind, id=rid, channels=[ch]),
                )
            )
    return out


def _channel(c: NotifyChannel) -> ChannelName:
    return _CHANNELS[c]


_CHANNELS: Mapping[NotifyChannel, ChannelName] = MappingProxyType(
    {
        NotifyChannel.SMS: "sms",
        NotifyChannel.PHONE: "phone",
        NotifyChannel.EMAIL: "email",
        NotifyChannel.CHAT: "chat",
    }
)
