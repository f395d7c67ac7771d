"""The kinds of timeline events: the names the workflow writes, the notification planner
reacts to and the report queries count.

Values are stored in PostgreSQL (`request_events.kind`) and recorded in histories, so a
value never changes. A StrEnum compares equal to its text, so rows read back as plain
strings match members directly.
"""

from __future__ import annotations

from enum import StrEnum

from csflow.domain.clocks import FiringKind


class EventKind(StrEnum):
    # intake and assignment
    RECEIVED = "received"
    QUEUED = "queued"
    ASSIGNED = "assigned"
    REASSIGNED = "reassigned"
    ESCALATED = "escalated"
    # handling
    PLAN_SUBMITTED = "plan_submitted"
    PROGRESS_POSTED = "progress_posted"
    AWAITING_CUSTOMER = "awaiting_customer"
    CLOCKS_PAUSED = "clocks_paused"
    CUSTOMER_REPLIED = "customer_replied"
    CLOCKS_RESUMED = "clocks_resumed"
    PRIORITY_CHANGED = "priority_changed"
    CALENDAR_UPDATED = "calendar_updated"
    ETA_MISSED = "eta_missed"  # the ETA promised to the customer passed, still unresolved
    # a complaint without a supervisor's follow-up 24 h after it arrived
    SUPERVISOR_FOLLOW_UP_MISSED = "supervisor_follow_up_missed"
    COMPENSATION_REQUESTED = "compensation_requested"
    COMPENSATION_GRANTED = "compensation_granted"
    COMPENSATION_APPROVED = "compensation_approved"
    COMPENSATION_REJECTED = "compensation_rejected"
    # SLA firings (the clock engine's FiringKind, same values)
    SLA_WARNING = FiringKind.WARNING.value
    SLA_BREACHED = FiringKind.BREACH.value
    ESCALATION_STEP = FiringKind.STEP.value
    # resolution and confirmation
    RESOLUTION_PROPOSED = "resolution_proposed"
    CUSTOMER_CONFIRMED = "customer_confirmed"
    CONFIRMED_BY_TIMEOUT = "confirmed_by_timeout"
    REHANDLING_STARTED = "rehandling_started"
    # follow-up and the feedback loop
    FOLLOW_UP_SCHEDULED = "follow_up_scheduled"
    FOLLOW_UP_REMINDER = "follow_up_reminder"
    FOLLOW_UP_MISSED = "follow_up_missed"
    CUSTOMER_REACTIVATION = "customer_reactivation"
    CUSTOMER_SILENT = "customer_silent"
    FOLLOW_UP_RECORDED = "follow_up_recorded"
    LINKED_REQUEST_OPENED = "linked_request_opened"
    IMPROVEMENT_OPENED = "improvement_opened"
    IMPROVEMENT_CLOSED = "improvement_closed"
    # why: a breach's reason and its review, a complaint's root cause (docs/reports.md)
    BREACH_EXPLAINED = "breach_explained"
    BREACH_REVIEWED = "breach_reviewed"
    CAUSE_RECORDED = "cause_recorded"
    # the end
    CLOSED = "closed"
    CANCELLED = "cancelled"
    # recorded outside the workflow, by `csflow customer erase` (docs/security.md)
    PERSONAL_DATA_ERASED = "personal_data_erased"


FIRINGS = frozenset({EventKind.SLA_WARNING, EventKind.SLA_BREACHED, EventKind.ESCALATION_STEP})


def sql_list(*kinds: EventKind) -> str:
    """`('a', 'b')` for a SQL `kind IN …`: queries name kinds through the enum."""
    return "(" + ", ".join(f"'{k.value}'" for k in kinds) + ")"
