"""The state changes after resolution: the confirmation timeout, the follow-up (its
deadline, the questionnaire, the reactivation touch, the silence), the visit's record, and
the improvement tasks negative feedback opens.

Separate from `transitions.py` because this phase has its own clocks and its own rules
(docs/sla.md, "Follow-up that keeps its word") and is read on its own; it is the same kind
of code — pure functions of (timeline, terms, input, now), every status move through
`Timeline.append` — and uses the closing and cause-recording steps `transitions` holds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from csflow.activity_io import FollowUpPlan
from csflow.contracts import (
    SYSTEM,
    Actor,
    FollowUpRecord,
    FollowUpState,
    ImprovementInput,
    ImprovementResult,
    NewNeed,
    RequestState,
)
from csflow.domain import clocks
from csflow.domain.codes import Role
from csflow.domain.events import EventKind
from csflow.domain.lifecycle import Status
from csflow.domain.terms import RequestTerms
from workflows.service_request.timeline import Timeline
from workflows.service_request.transitions import DEFAULT_DEPARTMENT, cause_recorded, end


def reactivation_due(
    t: RequestTerms, follow_up_due: datetime, sent_at: datetime, *, after_deadline: bool
) -> datetime:
    """When a customer who has not answered gets the one reactivation touch.

    It counts from when the questionnaire was sent (with the scheduling notice), and never
    comes before the follow-up deadline: until then the follow-up owner may still call,
    so the customer has not yet "never answered" (docs/sla.md, "Follow-up that keeps its
    word"). `after_deadline=False` is the rule before patch `follow-up-silence-after-
    deadline`, when it counted from scheduling alone; histories recorded so replay so.
    """
    due = t.reactivation_after.due(t.calendar, sent_at)
    return max(due, follow_up_due) if after_deadline else due


def follow_up_deadline(
    s: RequestState, t: RequestTerms, now: datetime, *, after_deadline: bool = True
) -> tuple[clocks.Clock, datetime]:
    """The follow-up's clock, and when its survey link expires (after the silence)."""
    clock = clocks.start_deadline("follow_up", s.sla_cycle, t.follow_up, t, now, warn=True)
    assert clock.due_at is not None
    silence_from = reactivation_due(t, clock.due_at, now, after_deadline=after_deadline)
    return clock, t.silent_after.due(t.calendar, silence_from)


def follow_up_scheduled(
    tl: Timeline,
    t: RequestTerms,
    clock: clocks.Clock,
    plan: FollowUpPlan,
    now: datetime,
    *,
    after_deadline: bool = True,
) -> None:
    """The questionnaire goes out with this event's notice (`now` is when it was sent);
    the reactivation touch waits for the later of its own delay and the deadline."""
    s = tl.state
    assert clock.due_at is not None
    s.clocks.append(clock)
    reactivation = clocks.start_deadline(
        "reactivation", clock.cycle, t.reactivation_after, t, now, warn=False
    )
    reactivation.due_at = reactivation_due(t, clock.due_at, now, after_deadline=after_deadline)
    s.clocks.append(reactivation)
    s.follow_up = FollowUpState(
        owner=plan.owner, due_at=clock.due_at, cycle=clock.cycle, survey_url=plan.survey_url
    )
    data: dict[str, Any] = {
        "due_at": clock.due_at,
        "owner": plan.owner,
        "method": "phone, then questionnaire",
        "service_class": t.service_class,
        "survey_url": plan.survey_url,
        "cycle": clock.cycle,
    }
    if after_deadline:
        data |= {"questionnaire_sent_at": now, "reactivation_at": reactivation.due_at}
    tl.append(
        EventKind.FOLLOW_UP_SCHEDULED,
        SYSTEM,
        now,
        to=Status.FOLLOW_UP_SCHEDULED,
        reason=f"{t.service_class} service: follow up within {t.follow_up.duration}",
        data=data,
    )


def after_resolution(tl: Timeline, t: RequestTerms, f: clocks.Firing, now: datetime) -> bool:
    """A deadline after resolution fired; True when it confirmed the resolution (the
    workflow then frees the handler and plans the follow-up)."""
    s, name = tl.state, f.clock.name
    data: dict[str, Any] = {"clock": f.clock.id, "due_at": f.clock.due_at}
    if name == "confirmation":
        tl.append(
            EventKind.CONFIRMED_BY_TIMEOUT,
            SYSTEM,
            f.at,
            to=Status.RESOLVED,
            reason=f"no answer within {t.confirmation_window.duration}: confirmed by timeout",
            data=data,
        )
        return True
    if name == "follow_up" and f.kind is clocks.FiringKind.WARNING:
        tl.append(
            EventKind.FOLLOW_UP_REMINDER,
            SYSTEM,
            f.at,
            data=data
            | {"share": f.share, "notify": [s.follow_up.owner if s.follow_up else "owner"]},
        )
    elif name == "follow_up":
        tl.append(
            EventKind.FOLLOW_UP_MISSED,
            SYSTEM,
            f.at,
            reason="the follow-up deadline passed",
            data=data
            | {"notify": ["supervisor"], "owner": s.follow_up.owner if s.follow_up else None},
        )
    elif name == "reactivation":
        f.clock.satisfied_at = f.at  # done: it has fired its one purpose
        tl.append(
            EventKind.CUSTOMER_REACTIVATION,
            SYSTEM,
            f.at,
            reason="no answer to the questionnaire: a reactivation touch",
            data=data | {"notify": ["customer"]},
        )
        s.clocks.append(
            clocks.start_deadline("silence", s.sla_cycle, t.silent_after, t, f.at, warn=False)
        )
    elif name == "silence":
        if s.follow_up:
            s.follow_up.silent = True
        tl.append(
            EventKind.CUSTOMER_SILENT,
            SYSTEM,
            f.at,
            reason="no answer after the reactivation touch",
            data=data,
        )
        end(
            tl,
            t,
            EventKind.CLOSED,
            SYSTEM,
            Status.CLOSED,
            "customer silent after the follow-up",
            now,
        )
    return False


def follow_up_recorded(tl: Timeline, t: RequestTerms, rec: FollowUpRecord, now: datetime) -> bool:
    """The visit is written down; True when the feedback is negative (an improvement task
    follows)."""
    s = tl.state
    for c in s.clocks:
        if c.name in ("follow_up", "reactivation", "silence"):
            clocks.satisfy(c, t.calendar, now)
    if s.follow_up:
        s.follow_up.score, s.follow_up.nps = rec.score, rec.nps
    negative = rec.score <= t.negative_score_max or bool(rec.problem) or rec.needs_action
    tl.append(
        EventKind.FOLLOW_UP_RECORDED,
        rec.actor,
        now,
        to=Status.FOLLOWED_UP,
        data={
            "score": rec.score,
            "nps": rec.nps,
            "method": rec.method,
            "praise": rec.praise,
            "suggestion": rec.suggestion,
            "problem": rec.problem,
            "needs_action": rec.needs_action,
            "negative": negative,
            "cycle": s.sla_cycle,
        },
    )
    return negative


def linked_request_opened(
    tl: Timeline, rec: FollowUpRecord, need: NewNeed, number: str, now: datetime
) -> None:
    tl.append(
        EventKind.LINKED_REQUEST_OPENED,
        rec.actor,
        now,
        reason=need.description,
        data={"linked": number, "category": need.category},
    )


def improvement_input(
    s: RequestState, t: RequestTerms, rec: FollowUpRecord, now: datetime
) -> ImprovementInput:
    """The task negative feedback opens, for the responsible department: the one a
    supervisor chose on the follow-up, else the taxonomy's for this kind of problem
    (`[taxonomy]` `department`), else the one that handled the request."""
    department = (
        rec.improvement_department or t.improvement_department or s.department or DEFAULT_DEPARTMENT
    )
    return ImprovementInput(
        task_id=f"{s.number}-IMP{len(s.improvements) + 1}",
        number=s.number,
        department=department,
        problem=rec.problem or rec.suggestion or f"satisfaction score {rec.score}",
        score=rec.score,
        opened_at=now,
        terms=t,
    )


def improvement_opened(
    tl: Timeline,
    t: RequestTerms,
    task: ImprovementInput,
    now: datetime,
    chosen_by: str | None = None,
) -> None:
    """`chosen_by`: the supervisor who named the department (None: the rule chose)."""
    tl.state.improvements.append(task.task_id)
    data: dict[str, Any] = {
        "task_id": task.task_id,
        "department": task.department,
        "due_at": t.improvement_window.due(t.calendar, now),
        "notify": ["department_head"],
    }
    if chosen_by is not None:
        data["department_chosen_by"] = chosen_by
    tl.append(EventKind.IMPROVEMENT_OPENED, SYSTEM, now, reason=task.problem, data=data)


def improvement_closed(tl: Timeline, result: ImprovementResult, now: datetime) -> None:
    """The customer hears what changed."""
    tl.append(
        EventKind.IMPROVEMENT_CLOSED,
        SYSTEM,
        now,
        reason=result.what_changed,
        data={
            "task_id": result.task_id,
            "closed_by": result.closed_by,
            "what_changed": result.what_changed,
            "notify": ["customer"],
        },
    )
    if result.cause is not None:
        by = Actor(id=result.closed_by, role=Role.SERVICE)
        cause_recorded(
            tl, by, result.cause, result.responsible_department, result.task_id, None, now
        )
