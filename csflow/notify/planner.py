"""Which messages an event produces — pure, so the workflow can call it deterministically.

Each message gets a key from (request, event seq, recipient, template): a replayed workflow
or a retried activity produces the same key, and the outbox sends each key once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from csflow.contracts import TimelineEvent
from csflow.contracts.intake import problem_reference
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
_ASSIGNEE: dict[str, str] = {
    EventKind.ASSIGNED: "staff_assignment",
    EventKind.SLA_WARNING: "staff_warning",
    EventKind.SLA_BREACHED: "staff_breach",
}
_ROLE_ALERTS = (
    EventKind.QUEUED,
    EventKind.FOLLOW_UP_MISSED,
    EventKind.COMPENSATION_REQUESTED,
    EventKind.IMPROVEMENT_OPENED,
    EventKind.ESCALATED,
    EventKind.ETA_MISSED,
    EventKind.SUPERVISOR_FOLLOW_UP_MISSED,
)


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
    # Handovers tell the new holder and, where the standard says so, the customer; role
    # alerts are routed through the organisation by the workflow; customer times are
    # local. False only for histories from before patch `org-handover-notices`.
    handovers: bool = False
    time_zone: str = "Asia/Shanghai"  # the customer's, else the business calendar's
    previous_eta: str | None = None  # the ETA the customer was last given, if any
    compensation_requested_by: str | None = None


def plan_notifications(event: TimelineEvent, ctx: NotifyContext) -> list[Notification]:
    if ctx.handovers:
        return _keyed(ctx, event, _handovers(event, ctx))
    return _keyed(ctx, event, _legacy(event, ctx))


def role_alert(
    event: TimelineEvent, *, major: bool = False
) -> tuple[list[str], dict[str, Any]] | None:
    """The roles an alert event names, and its variables, for the workflow to resolve
    through the organisation (relative to the request's department). At intake the
    supervisor hears of an upset customer and of a major complaint (reported at once)."""
    if event.kind == EventKind.RECEIVED:
        reasons = []
        if major:
            reasons.append("major complaint: reported at once")
        if "soothe_first" in event.data.get("flags", []):
            words = ", ".join(
                f.removeprefix("emotion:") for f in event.data["flags"] if f.startswith("emotion:")
            )
            reasons.append(f"upset customer ({words}): answer first, gently")
        return (["supervisor"], {"reason": "; ".join(reasons)}) if reasons else None
    if event.kind not in _ROLE_ALERTS or not event.data.get("notify"):
        return None
    if event.kind == EventKind.IMPROVEMENT_OPENED and event.data.get("task_id"):
        # The customer's problem stays out of the alert: send_notification looks it up.
        reference = problem_reference(str(event.data["task_id"]))
        return list(event.data["notify"]), {"reason": reference}
    return list(event.data["notify"]), {"reason": event.reason or event.kind}


def local_time(value: str | datetime | None, zone: str) -> str:
    """An instant as the customer reads it: their wall clock, with the zone named."""
    if not value:
        return ""
    at = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return f"{at.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M} ({zone})"


_HANDOVER_KINDS: dict[str, str] = {
    EventKind.REASSIGNED: "reassigned",
    EventKind.ESCALATED: "escalated",
    EventKind.REHANDLING_STARTED: "rehandling",
}
_DECISIONS: dict[str, str] = {
    EventKind.COMPENSATION_APPROVED: "approved",
    EventKind.COMPENSATION_REJECTED: "rejected",
}


def _handovers(
    event: TimelineEvent, ctx: NotifyContext
) -> list[tuple[Recipient, str, dict[str, Any]]]:
    """Patch `org-handover-notices`: everything `_legacy` sends (with local times and
    without the role alerts, which the workflow resolves), plus every handover."""
    d = event.data
    base = _base(ctx)
    out = _legacy(event, ctx, roles=False)
    if event.kind == EventKind.RECEIVED:
        out = [
            (r, t, v | {"eta": local_time(v.get("eta"), ctx.time_zone)})
            if t == "acknowledgement"
            else (r, t, v)
            for r, t, v in out
        ]
    if (how := _HANDOVER_KINDS.get(event.kind)) is not None:
        holder = d.get("to") if event.kind != EventKind.REHANDLING_STARTED else ctx.assignee
        if holder and holder != d.get("from"):
            out.append(
                (
                    _staff(holder),
                    "staff_handover",
                    base
                    | {"how": how, "reason": event.reason or how, "previous": d.get("from") or "-"},
                )
            )
    if event.kind == EventKind.ESCALATED:
        out.append((ctx.customer, "customer_escalated", {"number": ctx.number}))
    if (
        event.kind == EventKind.PROGRESS_POSTED
        and d.get("eta")
        and ctx.previous_eta
        and (ctx.previous_eta != d["eta"])
    ):
        out.append(
            (
                ctx.customer,
                "eta_revised",
                {
                    "number": ctx.number,
                    "eta": local_time(d["eta"], ctx.time_zone),
                    "previous_eta": local_time(ctx.previous_eta, ctx.time_zone),
                },
            )
        )
    if event.kind == EventKind.PLAN_SUBMITTED and d.get("eta"):
        eta = local_time(d["eta"], ctx.time_zone)
        if ctx.previous_eta is None:
            out.append((ctx.customer, "plan_eta", {"number": ctx.number, "eta": eta}))
        elif ctx.previous_eta != d["eta"]:
            out.append(
                (
                    ctx.customer,
                    "eta_revised",
                    {
                        "number": ctx.number,
                        "eta": eta,
                        "previous_eta": local_time(ctx.previous_eta, ctx.time_zone),
                    },
                )
            )
        owner = d.get("owner")
        if owner and owner != event.actor.id:
            out.append(
                (
                    _staff(owner),
                    "staff_handover",
                    base | {"how": "plan_owner", "reason": "plan owner", "previous": "-"},
                )
            )
    if (decision := _DECISIONS.get(event.kind)) is not None:
        for who in {ctx.compensation_requested_by, ctx.assignee} - {None, event.actor.id}:
            assert who is not None
            out.append(
                (
                    _staff(who),
                    "staff_decision",
                    base
                    | {
                        "decision": decision,
                        "amount": d.get("amount", ""),
                        "currency": d.get("currency", ""),
                        "reason": event.reason or decision,
                    },
                )
            )
    if event.kind in (EventKind.COMPENSATION_APPROVED, EventKind.COMPENSATION_GRANTED):
        out.append(
            (
                ctx.customer,
                "compensation_granted",
                {
                    "number": ctx.number,
                    "amount": d.get("amount", ""),
                    "currency": d.get("currency", ""),
                },
            )
        )
    return out


def _base(ctx: NotifyContext) -> dict[str, Any]:
    return {"number": ctx.number, "priority": ctx.priority, "category": ctx.category}


def _keyed(
    ctx: NotifyContext, event: TimelineEvent, out: list[tuple[Recipient, str, dict[str, Any]]]
) -> list[Notification]:
    return [
        Notification(
            key=f"{ctx.number}/{event.seq}/{r.kind}:{r.id}/{t}",
            number=ctx.number,
            template=t,
            recipient=r,
            priority=ctx.priority,
            variables=v,
        )
        for r, t, v in out
    ]


def _legacy(
    event: TimelineEvent, ctx: NotifyContext, *, roles: bool = True
) -> list[tuple[Recipient, str, dict[str, Any]]]:
    """What every request sent before patch `org-handover-notices` (kept for replays)."""
    d = event.data
    base: dict[str, Any] = {
        "number": ctx.number,
        "priority": ctx.priority,
        "category": ctx.category,
    }
    out: list[tuple[Recipient, str, dict[str, Any]]] = []
    if (template := _CUSTOMER.get(event.kind)) is not None:
        variables = base | {
            "eta": d.get("deadlines", {}).get("resolution", ""),
            "note": event.reason or "",
            "summary": event.reason or "",
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
            out.append(
                (
                    Recipient(kind="role", id=role, channels=channels or ["email"]),
                    "staff_escalation",
                    base | _clock(d) | {"action": d.get("action")},
                )
            )
    if event.kind == EventKind.FOLLOW_UP_REMINDER and ctx.follow_up_owner:
        out.append(
            (_staff(ctx.follow_up_owner), "staff_reminder", base | {"due_at": d.get("due_at", "")})
        )
    if event.kind in _ROLE_ALERTS and roles:
        for role in d.get("notify", []):
            out.append(
                (
                    Recipient(kind="role", id=role, channels=["email", "chat"]),
                    "staff_alert",
                    base | {"reason": event.reason or event.kind},
                )
            )
    return out


def _staff(staff_id: str) -> Recipient:
    return Recipient(kind="staff", id=staff_id, channels=["chat", "email"])


def _clock(d: dict[str, Any]) -> dict[str, Any]:
    return {"clock": d.get("clock", ""), "due_at": d.get("due_at", "")}
