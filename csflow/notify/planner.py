"""Which messages an event produces — pure, so the workflow can call it deterministically.

Each message gets a key from (request, event seq, recipient, template): a replayed workflow
or a retried activity produces the same key, and the outbox sends each key once.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from csflow.contracts import TimelineEvent
from csflow.domain.events import EventKind
from csflow.notify.models import ChannelName, Notification, Recipient

# event kind → (template, audience); "assignee" and "roles" are resolved from the event.
_CUSTOMER: dict[str, str] = {
    EventKind.RECEIVED: "acknowledgement",
    EventKind.PROGRESS_POSTED: "progress_update",
    EventKind.RESOLUTION_PROPOSED: "resolution",
    EventKind.FOLLOW_UP_SCHEDULED: "follow_up_questionnaire",
    EventKind.CUSTOMER_REACTIVATION: "reactivation",
    EventKind.IMPROVEMENT_CLOSED: "improvement_outcome",
}
_ASSIGNEE: dict[str, str] = {EventKind.ASSIGNED: "staff_assignment",
                             EventKind.SLA_WARNING: "staff_warning",
                             EventKind.SLA_BREACHED: "staff_breach"}
_ROLE_ALERTS = (EventKind.QUEUED, EventKind.FOLLOW_UP_MISSED, EventKind.COMPENSATION_REQUESTED,
                EventKind.IMPROVEMENT_OPENED, EventKind.ESCALATED)


class NotifyContext(BaseModel):
    """What the workflow knows that messages need; the customer's contact included."""

    model_config = ConfigDict(extra="forbid")

    number: str
    priority: str
    category: str
    assignee: str | None
    customer: Recipient
    follow_up_owner: str | None = None
    survey_url: str | None = None
    # Ladder steps are paged by workflows/service_request/ladder.py (resolved people);
    # False only for histories from before patch `org-ladder-routing`.
    ladder_routed: bool = False


def plan_notifications(event: TimelineEvent, ctx: NotifyContext) -> list[Notification]:
    d = event.data
    base: dict[str, Any] = {"number": ctx.number, "priority": ctx.priority,
                            "category": ctx.category}
    out: list[tuple[Recipient, str, dict[str, Any]]] = []
    if (template := _CUSTOMER.get(event.kind)) is not None:
        variables = base | {
            "eta": d.get("deadlines", {}).get("resolution", ""),
            "note": event.reason or "", "summary": event.reason or "",
            "survey_url": d.get("survey_url") or ctx.survey_url or "",
            "what_changed": d.get("what_changed", ""),
        }
        if template not in ("follow_up_questionnaire", "reactivation") or variables["survey_url"]:
            out.append((ctx.customer, template, variables))
    if (template := _ASSIGNEE.get(event.kind)) is not None:
        assignee = d.get("assignee") or ctx.assignee
        if assignee:
            out.append((_staff(assignee), template, base | _clock(d)))
    if event.kind == EventKind.ESCALATION_STEP and not ctx.ladder_routed:
        channels: list[ChannelName] = [c for c in d.get("channels", []) if c != "board"]
        for role in d.get("notify", []):
            out.append((Recipient(kind="role", id=role, channels=channels or ["email"]),
                        "staff_escalation", base | _clock(d) | {"action": d.get("action")}))
    if event.kind == EventKind.FOLLOW_UP_REMINDER and ctx.follow_up_owner:
        out.append((_staff(ctx.follow_up_owner), "staff_reminder",
                    base | {"due_at": d.get("due_at", "")}))
    if event.kind in _ROLE_ALERTS:
        for role in d.get("notify", []):
            out.append((Recipient(kind="role", id=role, channels=["email", "chat"]),
                        "staff_alert", base | {"reason": event.reason or event.kind}))
    return [
        Notification(key=f"{ctx.number}/{event.seq}/{r.kind}:{r.id}/{t}", number=ctx.number,
                     template=t, recipient=r, priority=ctx.priority, variables=v)
        for r, t, v in out
    ]


def _staff(staff_id: str) -> Recipient:
    return Recipient(kind="staff", id=staff_id, channels=["chat", "email"])


def _clock(d: dict[str, Any]) -> dict[str, Any]:
    return {"clock": d.get("clock", ""), "due_at": d.get("due_at", "")}
