"""Request states and which command is legal in which state (docs/requirements.md §3).

The workflow asks `check(...)` in its Update validators, so a refused command is rejected
before it reaches history and the caller gets the reason verbatim.
"""

from __future__ import annotations

from enum import StrEnum

from csflow.domain.codes import Role


class Status(StrEnum):
    RECEIVED = "received"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    REHANDLING = "rehandling"
    ESCALATED = "escalated"
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    RESOLVED = "resolved"
    FOLLOW_UP_SCHEDULED = "follow_up_scheduled"
    FOLLOWED_UP = "followed_up"
    CLOSED = "closed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in (Status.CLOSED, Status.CANCELLED)


class Command(StrEnum):
    """Lifecycle commands; each value is also the Update name other languages call."""

    SUBMIT_PLAN = "submit_plan"
    POST_PROGRESS = "post_progress"
    RESOLVE = "resolve"
    CONFIRM = "confirm"
    CLOSE = "close"
    CANCEL = "cancel"
    WAIT_FOR_CUSTOMER = "wait_for_customer"
    CUSTOMER_REPLIED = "customer_replied"
    CHANGE_PRIORITY = "change_priority"
    UPDATE_CALENDAR = "update_calendar"
    ESCALATE = "escalate"
    REASSIGN = "reassign"
    ORDER_REHANDLING = "order_rehandling"
    REQUEST_COMPENSATION = "request_compensation"
    DECIDE_COMPENSATION = "decide_compensation"
    ASSIGNMENT_MADE = "assignment_made"
    RECORD_FOLLOW_UP = "record_follow_up"
    EXPLAIN_BREACH = "explain_breach"
    REVIEW_BREACH = "review_breach"
    RECORD_CAUSE = "record_cause"


class TaskCommand(StrEnum):
    """Commands of the ImprovementTask child workflow; each value is its Update name."""

    COMPLETE_IMPROVEMENT = "complete_improvement"


AnyCommand = Command | TaskCommand


_HANDLING = frozenset({Status.ASSIGNED, Status.IN_PROGRESS, Status.REHANDLING, Status.ESCALATED})
_OPEN = frozenset(s for s in Status if not s.terminal)

LEGAL: dict[Command, frozenset[Status]] = {
    Command.SUBMIT_PLAN: _HANDLING,
    Command.POST_PROGRESS: _HANDLING,
    Command.RESOLVE: _HANDLING,
    Command.CONFIRM: frozenset({Status.AWAITING_CONFIRMATION}),
    Command.CLOSE: frozenset({Status.RESOLVED, Status.FOLLOW_UP_SCHEDULED, Status.FOLLOWED_UP}),
    Command.CANCEL: _OPEN,
    Command.WAIT_FOR_CUSTOMER: _HANDLING,
    Command.CUSTOMER_REPLIED: _HANDLING,
    Command.CHANGE_PRIORITY: _OPEN,
    Command.UPDATE_CALENDAR: _OPEN,
    Command.ESCALATE: _OPEN - {Status.RESOLVED, Status.FOLLOW_UP_SCHEDULED, Status.FOLLOWED_UP},
    Command.REASSIGN: _HANDLING | {Status.RECEIVED, Status.AWAITING_CONFIRMATION},
    Command.ORDER_REHANDLING: frozenset(
        {
            Status.AWAITING_CONFIRMATION,
            Status.RESOLVED,
            Status.FOLLOW_UP_SCHEDULED,
            Status.FOLLOWED_UP,
        }
    ),
    Command.REQUEST_COMPENSATION: _HANDLING | {Status.AWAITING_CONFIRMATION},
    Command.DECIDE_COMPENSATION: _OPEN,
    Command.ASSIGNMENT_MADE: frozenset({Status.RECEIVED}),
    Command.RECORD_FOLLOW_UP: frozenset({Status.FOLLOW_UP_SCHEDULED}),
    # Why a deadline was missed, and what caused a complaint, are asked and reviewed
    # while the request runs: a closed request's workflow has ended (docs/reports.md).
    Command.EXPLAIN_BREACH: _OPEN,
    Command.REVIEW_BREACH: _OPEN,
    Command.RECORD_CAUSE: _OPEN,
}


# Who may give which command (docs/requirements.md §6, least privilege) — the one place:
# the workflows' guards and the API's route gates (csflow.api.auth.command_roles) both
# read it. `service` is a backend acting for a person it has authenticated; `system` is
# csflow itself.
_STEERING = frozenset({Role.SUPERVISOR, Role.ADMIN, Role.SYSTEM, Role.SERVICE})
_HANDLERS = frozenset({Role.AGENT, Role.ENGINEER, Role.SUPERVISOR, Role.ADMIN, Role.SERVICE})
REQUIRED_ROLES: dict[AnyCommand, frozenset[Role]] = {
    Command.SUBMIT_PLAN: _HANDLERS,
    Command.POST_PROGRESS: _HANDLERS,
    Command.RESOLVE: _HANDLERS,
    Command.CONFIRM: _HANDLERS | {Role.CUSTOMER},
    Command.CLOSE: _HANDLERS | {Role.FOLLOW_UP, Role.SYSTEM},
    Command.CANCEL: _STEERING | {Role.AGENT},
    Command.WAIT_FOR_CUSTOMER: _HANDLERS,
    Command.CUSTOMER_REPLIED: _HANDLERS | {Role.CUSTOMER},
    Command.CHANGE_PRIORITY: _STEERING,
    Command.UPDATE_CALENDAR: _STEERING,
    Command.ESCALATE: _STEERING,
    Command.REASSIGN: _STEERING,
    Command.ORDER_REHANDLING: _STEERING,
    Command.REQUEST_COMPENSATION: _HANDLERS,
    Command.DECIDE_COMPENSATION: _STEERING,
    Command.ASSIGNMENT_MADE: frozenset({Role.SYSTEM}),
    Command.RECORD_FOLLOW_UP: frozenset(
        {Role.FOLLOW_UP, Role.CUSTOMER, Role.SUPERVISOR, Role.ADMIN, Role.SERVICE}
    ),
    # The holder explains a breach (the guard checks it is the holder unless a
    # supervisor or admin writes it); a supervisor reviews it and corrects a cause.
    Command.EXPLAIN_BREACH: _HANDLERS,
    Command.REVIEW_BREACH: _STEERING - {Role.SYSTEM},
    Command.RECORD_CAUSE: _STEERING - {Role.SYSTEM},
    # Whoever handles requests, and the follow-up specialist who found the problem, may
    # say what changed; analysts read, customers are told.
    TaskCommand.COMPLETE_IMPROVEMENT: _HANDLERS | {Role.FOLLOW_UP},
}


class Forbidden(Exception):
    """The actor's role lacks the right to give this command."""


def allowed(command: AnyCommand, role: Role) -> bool:
    """Whether an actor with `role` may give `command` (the workflow's and the API's test)."""
    return role in REQUIRED_ROLES[command]


def authorize(command: AnyCommand, role: Role) -> None:
    if not allowed(command, role):
        allowed_roles = REQUIRED_ROLES[command]
        names = ", ".join(sorted(r.value for r in allowed_roles))
        raise Forbidden(f"{command.value} needs one of the roles: {names} (caller is {role.value})")


class IllegalTransition(Exception):
    """A command that makes no sense in the request's current state."""


def check(command: Command, status: Status) -> None:
    """Raise IllegalTransition with a reason a person can act on."""
    allowed = LEGAL[command]
    if status in allowed:
        return
    if status.terminal:
        raise IllegalTransition(f"cannot {command.value}: the request is already {status.value}")
    wanted = ", ".join(sorted(s.value for s in allowed))
    raise IllegalTransition(
        f"cannot {command.value} while the request is {status.value} (allowed when: {wanted})"
    )
