"""One check per command: may this command be given now, by this actor?

Pure functions of (state, command, the policy's banned phrases). The Update's validator
calls its check so a refused command never reaches history; the handler calls the same
check again after waiting out intake and any earlier command, because the state may have
moved since the validator ran. Each refusal is an ApplicationError whose type is a
`Refusal` kind, and its message is what the caller is told.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType

from csflow.contracts import (
    Actor,
    AssignmentMade,
    CancelCommand,
    ChangePriorityCommand,
    CloseCommand,
    CompensationDecision,
    CompensationRequest,
    ConfirmCommand,
    CustomerRepliedCommand,
    EscalateCommand,
    ExplainBreachCommand,
    FollowUpRecord,
    OrderRehandlingCommand,
    PlanCommand,
    ProgressCommand,
    ReassignCommand,
    RecordCauseCommand,
    RequestState,
    ResolveCommand,
    ReviewBreachCommand,
    TimelineEvent,
    UpdateCalendarCommand,
    WaitForCustomerCommand,
)
from csflow.domain import ownership
from csflow.domain.calendar import BusinessCalendar
from csflow.domain.codes import Priority, Role
from csflow.domain.events import EventKind
from csflow.domain.lifecycle import (
    Command,
    Forbidden,
    IllegalTransition,
    Status,
    authorize,
    check,
)
from csflow.domain.ownership import same_person
from csflow.domain.policy import OwnershipPolicy
from csflow.notify.compliance import ComplianceError, check_compliance
from csflow.refusals import Refusal

Banned = tuple[str, ...]  # the policy's banned promises, for words the customer reads


def lifecycle(command: Command, actor: Actor, state: RequestState) -> None:
    """The role may give the command, and the request's status allows it."""
    try:
        authorize(command, actor.role)
    except Forbidden as err:
        raise Refusal.FORBIDDEN_ROLE.error(str(err)) from None
    try:
        check(command, state.status)
    except IllegalTransition as err:
        raise Refusal.ILLEGAL_STATE.error(str(err)) from None


def require(condition: bool, reason: str) -> None:
    if not condition:
        raise Refusal.ILLEGAL_STATE.error(reason)


def compliant(banned: Banned, *texts: str | None) -> None:
    """Words that reach the customer may not make banned promises (docs/requirements.md §5)."""
    for text in texts:
        if text:
            try:
                check_compliance(text, banned)
            except ComplianceError as err:
                raise Refusal.COMPLIANCE.error(str(err)) from None


def compensation_pending(state: RequestState) -> bool:
    comp = state.compensation
    return comp is not None and comp.status == "pending"


def _more_urgent(new: Priority, old: Priority) -> bool:
    return new.value < old.value  # "P1" < "P2" < "P3"


# ---- one check per command, in lifecycle order ----


def assignment_made(s: RequestState, cmd: AssignmentMade, banned: Banned) -> None:
    lifecycle(Command.ASSIGNMENT_MADE, cmd.actor, s)
    require(s.queued, "the request is not waiting in the queue")


def submit_plan(s: RequestState, cmd: PlanCommand, banned: Banned) -> None:
    lifecycle(Command.SUBMIT_PLAN, cmd.actor, s)


def post_progress(s: RequestState, cmd: ProgressCommand, banned: Banned) -> None:
    lifecycle(Command.POST_PROGRESS, cmd.actor, s)
    compliant(banned, cmd.note)  # the note goes to the customer


def wait_for_customer(s: RequestState, cmd: WaitForCustomerCommand, banned: Banned) -> None:
    lifecycle(Command.WAIT_FOR_CUSTOMER, cmd.actor, s)
    require(not s.awaiting_customer, "already waiting on the customer")


def customer_replied(s: RequestState, cmd: CustomerRepliedCommand, banned: Banned) -> None:
    lifecycle(Command.CUSTOMER_REPLIED, cmd.actor, s)
    require(s.awaiting_customer, "the request is not waiting on the customer")


def change_priority(s: RequestState, cmd: ChangePriorityCommand, banned: Banned) -> None:
    lifecycle(Command.CHANGE_PRIORITY, cmd.actor, s)
    require(cmd.priority is not s.priority, f"the priority is already {cmd.priority.value}")


def update_calendar(s: RequestState, cmd: UpdateCalendarCommand, banned: Banned) -> None:
    lifecycle(Command.UPDATE_CALENDAR, cmd.actor, s)


def same_team(current: BusinessCalendar, cmd: UpdateCalendarCommand) -> None:
    """A request keeps the hours it was received under: the organisation's, or its team's
    (docs/policy.md, team calendars). Another team's calendar is not a correction of it."""
    if cmd.calendar.team != current.team:
        raise Refusal.OTHER_CALENDAR.error(
            f"this request runs on {_hours(current.team)}; the pushed calendar is "
            f"{_hours(cmd.calendar.team)}"
        )


def _hours(team: str) -> str:
    return f"team {team}'s hours" if team else "the organisation's hours"


def escalate(s: RequestState, cmd: EscalateCommand, banned: Banned) -> None:
    lifecycle(Command.ESCALATE, cmd.actor, s)
    if cmd.priority is not None:
        require(
            _more_urgent(cmd.priority, s.priority),
            f"escalation raises the priority; {cmd.priority.value} is not above {s.priority.value}",
        )


def reassign(s: RequestState, cmd: ReassignCommand, banned: Banned) -> None:
    lifecycle(Command.REASSIGN, cmd.actor, s)
    require(cmd.to_staff != s.assignee, f"{cmd.to_staff} already holds this request")


def request_compensation(s: RequestState, cmd: CompensationRequest, banned: Banned) -> None:
    lifecycle(Command.REQUEST_COMPENSATION, cmd.actor, s)
    require(not compensation_pending(s), "a compensation already waits for a decision")


def decide_compensation(s: RequestState, cmd: CompensationDecision, banned: Banned) -> None:
    lifecycle(Command.DECIDE_COMPENSATION, cmd.actor, s)
    require(compensation_pending(s), "no compensation waits for a decision")


def resolve(s: RequestState, cmd: ResolveCommand, banned: Banned) -> None:
    lifecycle(Command.RESOLVE, cmd.actor, s)
    compliant(banned, cmd.summary)
    require(not compensation_pending(s), "a compensation waits for the supervisor's decision")


def confirm(s: RequestState, cmd: ConfirmCommand, banned: Banned) -> None:
    lifecycle(Command.CONFIRM, cmd.actor, s)


def order_rehandling(s: RequestState, cmd: OrderRehandlingCommand, banned: Banned) -> None:
    lifecycle(Command.ORDER_REHANDLING, cmd.actor, s)


def record_follow_up(s: RequestState, cmd: FollowUpRecord, banned: Banned) -> None:
    # The cycle first: "re-handled since" explains more than the state does.
    if cmd.cycle is not None:
        require(
            cmd.cycle == s.sla_cycle,
            "this survey is about an earlier outcome; the request was re-handled",
        )
    # Then "once": of two answers sent together, the second is told it was answered
    # (docs/sla.md, case 17), not that the request is in the wrong state.
    done = s.follow_up
    if done is not None and done.cycle == s.sla_cycle and done.score is not None:
        raise Refusal.ALREADY_ANSWERED.error("this follow-up was already recorded")
    lifecycle(Command.RECORD_FOLLOW_UP, cmd.actor, s)
    if cmd.improvement_department is not None and cmd.actor.role not in _REVIEWERS:
        raise Refusal.FORBIDDEN_ROLE.error(
            "a supervisor or admin chooses the improvement task's department; "
            f"{cmd.actor.id} ({cmd.actor.role.value}) records the follow-up without it "
            "and the policy's rule chooses"
        )


def close(s: RequestState, cmd: CloseCommand, banned: Banned) -> None:
    lifecycle(Command.CLOSE, cmd.actor, s)


# Before the follow-up was recorded: the close skips the visit.
_BEFORE_FOLLOW_UP = (Status.RESOLVED, Status.FOLLOW_UP_SCHEDULED)


def skips_follow_up(s: RequestState) -> bool:
    return s.status in _BEFORE_FOLLOW_UP


def open_improvements(s: RequestState) -> list[str]:
    """Improvement tasks opened on this request whose outcome has not come back yet."""
    closed = {e.data.get("task_id") for e in s.timeline if e.kind == EventKind.IMPROVEMENT_CLOSED}
    return [t for t in s.improvements if t not in closed]


def close_keeps_its_word(s: RequestState, cmd: CloseCommand, skip_roles: tuple[Role, ...]) -> None:
    """A close never skips the follow-up silently, nor drops "what we changed".

    Before the follow-up was recorded, only a role the policy lets skip it
    (`[follow_up] skip_roles`, default supervisor and admin) may close, with a reason; an
    open improvement task makes the close wait: the request closes by itself once the
    task is done and the customer has been told what changed (docs/requirements.md §3.6).
    """
    if waiting := open_improvements(s):
        raise Refusal.ILLEGAL_STATE.error(
            f"improvement task {', '.join(waiting)} is still open: the customer must hear "
            "what changed; the request closes by itself once the task is done"
        )
    if not skips_follow_up(s):
        return
    if cmd.actor.role not in skip_roles:
        allowed = ", ".join(r.value for r in skip_roles)
        raise Refusal.FORBIDDEN_ROLE.error(
            f"closing {s.number} before its follow-up skips the visit, which only "
            f"{allowed} may do (policy follow_up.skip_roles), with a reason; "
            f"{cmd.actor.id} ({cmd.actor.role.value}) may not — the request closes by "
            "itself once the follow-up is recorded"
        )
    if not (cmd.reason or "").strip():
        raise Refusal.INVALID.error(
            f"closing {s.number} before its follow-up skips the visit: say why (reason)"
        )


# ---- a flagged customer's first reply (issue 18 item 5) ----

_SENTENCE_END = "。！？!?.\n"


def _first_sentence(text: str) -> str:
    head = text.strip()
    cut = min((i for i, ch in enumerate(head) if ch in _SENTENCE_END), default=len(head))
    return head[: max(cut, 1)]


def first_reply(s: RequestState) -> bool:
    """Nothing the customer reads has been written yet (no progress note, no resolution)."""
    return not any(
        (e.kind == EventKind.PROGRESS_POSTED and e.reason)
        or e.kind == EventKind.RESOLUTION_PROPOSED
        for e in s.timeline
    )


def soothing_first(s: RequestState, text: str | None, openings: tuple[str, ...]) -> None:
    """The first words an upset customer reads (a request flagged `soothe_first`) open
    gently: one of the policy's soothing openings for their language in the first
    sentence. Refused otherwise, naming the openings expected (docs/policy.md)."""
    if "soothe_first" not in s.flags or not text or not openings or not first_reply(s):
        return
    sentence = _first_sentence(text).casefold()
    if any(o.casefold() in sentence for o in openings):
        return
    raise Refusal.COMPLIANCE.error(
        f"{s.number}'s customer is upset (soothe_first): the first reply opens by soothing "
        f"them with one of: {' / '.join(f'“{o}”' for o in openings)}"
    )


def cancel(s: RequestState, cmd: CancelCommand, banned: Banned) -> None:
    lifecycle(Command.CANCEL, cmd.actor, s)


# ---- events recorded by hand, imported with their original times (docs/import.md) ----


def recorded_at(s: RequestState, at: datetime, importing: bool, now: datetime) -> None:
    """A command dated `at` is one of an imported request's events recorded by hand: only
    while that request's import runs, never in the future, and in the order they
    happened (not before the previous event, so not before the receipt either)."""
    if not importing:
        raise Refusal.INVALID.error(
            "`at` is only for the events of a request being imported (csflow import); "
            "this request is not being imported, or its import has finished"
        )
    if at > now:
        raise Refusal.INVALID.error(f"at {at.isoformat()} is in the future")
    last = s.timeline[-1] if s.timeline else None
    if last is not None and at < last.at:
        raise Refusal.INVALID.error(
            f"at {at.isoformat()} is before the request's previous event ({last.kind} at "
            f"{last.at.isoformat()}); events are imported in the order they happened"
        )


# ---- authority over this request (issue 13 item 7) ----


_SAID: Mapping[str, str] = MappingProxyType(
    {
        "assignee": "the assignee",
        "team_supervisor": "a supervisor of the assignee's team",
        "any_supervisor": "a supervisor",
        "admin": "an admin",
    }
)


def owner(
    s: RequestState,
    command: Command,
    actor: Actor,
    rules: OwnershipPolicy,
    supervision: ownership.Supervision | None = None,
    team_supervision: ownership.TeamSupervision | None = None,
) -> None:
    """The actor stands in one of the policy's relations to this request for `command`.
    `team_supervision` None: `team_supervisor` is decided department-wide (the rule of
    requests from before the holder's team was recorded)."""
    relations = ownership.allowed(
        rules,
        command.value,
        assignee=s.assignee,
        department=s.department,
        actor_id=actor.id,
        role=actor.role,
        supervision=supervision or {},
        team=s.team,
        team_supervision=team_supervision,
    )
    if relations is None:
        return
    holder = s.assignee or "nobody"
    if s.team and team_supervision and "team_supervisor" in relations:
        holder += f", team {s.team}"
    who = ", ".join(_SAID[r] for r in relations)
    raise Refusal.FORBIDDEN_ROLE.error(
        f"{command.value} on {s.number} is for {who} (assignee: {holder}); "
        f"{actor.id} ({actor.role.value}) is none of them"
    )


def approver(s: RequestState, actor: Actor) -> None:
    """Four eyes: whoever requested a compensation does not decide it."""
    comp = s.compensation
    if comp is not None and same_person(actor.id, comp.requested_by):
        raise Refusal.FORBIDDEN_ROLE.error(
            f"{actor.id} requested this compensation ({comp.amount} {comp.currency}) and "
            "cannot decide it; another supervisor or an admin must"
        )


# ---- why: breach reasons and root causes (docs/reports.md) ----

_REVIEWERS = frozenset({Role.SUPERVISOR, Role.ADMIN})


def breach_of(s: RequestState, clock: str) -> TimelineEvent | None:
    """The latest `sla_breached` event of clock id `clock`, if it breached."""
    return next(
        (
            e
            for e in reversed(s.timeline)
            if e.kind == EventKind.SLA_BREACHED and e.data.get("clock") == clock
        ),
        None,
    )


def holder_at(s: RequestState, event: TimelineEvent) -> str | None:
    """Who held the request when `event` happened (the scorecard's rule 2)."""
    holder: str | None = None
    for e in s.timeline:
        if e.seq >= event.seq:
            break
        if e.kind == EventKind.ASSIGNED:
            holder = e.data.get("assignee", holder)
        elif e.kind in (EventKind.REASSIGNED, EventKind.ESCALATED) and e.data.get("to"):
            holder = e.data["to"]
    return holder


def latest_explanation(s: RequestState, clock: str) -> TimelineEvent | None:
    """The latest `breach_explained` of `clock`, if no review has followed it."""
    for e in reversed(s.timeline):
        if e.data.get("clock") != clock:
            continue
        if e.kind == EventKind.BREACH_REVIEWED:
            return None
        if e.kind == EventKind.BREACH_EXPLAINED:
            return e
    return None


def explain_breach(s: RequestState, cmd: ExplainBreachCommand, banned: Banned) -> None:
    lifecycle(Command.EXPLAIN_BREACH, cmd.actor, s)
    breach = breach_of(s, cmd.clock)
    require(breach is not None, f"clock {cmd.clock} has not breached; nothing to explain")
    assert breach is not None
    if cmd.actor.role not in _REVIEWERS:
        holders = {s.assignee, holder_at(s, breach)} - {None}
        if cmd.actor.id not in holders:
            raise Refusal.FORBIDDEN_ROLE.error(
                f"only the holder ({', '.join(sorted(h for h in holders if h)) or 'nobody'}) "
                "or a supervisor or admin explains this breach"
            )


def review_breach(s: RequestState, cmd: ReviewBreachCommand, banned: Banned) -> None:
    lifecycle(Command.REVIEW_BREACH, cmd.actor, s)
    require(
        breach_of(s, cmd.clock) is not None,
        f"clock {cmd.clock} has not breached; nothing to review",
    )
    require(
        latest_explanation(s, cmd.clock) is not None,
        f"no explanation of {cmd.clock} waits for a review",
    )


def record_cause(s: RequestState, cmd: RecordCauseCommand, banned: Banned) -> None:
    lifecycle(Command.RECORD_CAUSE, cmd.actor, s)
    if cmd.task_id is not None:
        require(
            cmd.task_id in s.improvements,
            f"{cmd.task_id} is not an improvement task of this request",
        )


def moved(assignee: str | None, rule: str) -> None:
    """A transfer the assignment activity could not make (nobody with room) refuses the
    command with the activity's reason."""
    if assignee is None:
        raise Refusal.ILLEGAL_STATE.error(rule)
