"""Complaint supervision (docs/requirements.md §8, patch `complaint-supervision`): a major
complaint is reported to the supervisor at once (an alert at intake, see
csflow/notify/planner.py `role_alert`), and every complaint gets a supervisor follow-up
within 24 h of arriving.

"A supervisor's follow-up" is any command a supervisor (or admin) gives on the request —
a progress note, a plan, an escalation, a reassignment, an approval. If 24 h pass
without one, `supervisor_follow_up_missed` is recorded at that instant and the
department's supervisor and head are alerted; once, never again for the same request.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from csflow.contracts import SYSTEM, RequestState
from csflow.domain.codes import Category, Role
from csflow.domain.events import EventKind
from workflows.service_request.timeline import Timeline

COMPLAINT_PATCH = "complaint-supervision"
WITHIN = timedelta(hours=24)
_SUPERVISING = (Role.SUPERVISOR, Role.ADMIN)


def watched(s: RequestState) -> datetime | None:
    """When the follow-up falls due, while it is still owed."""
    if s.category is not Category.COMPLAINT or s.status.terminal:
        return None
    for e in s.timeline:
        if e.kind == EventKind.SUPERVISOR_FOLLOW_UP_MISSED or e.actor.role in _SUPERVISING:
            return None
    return s.received_at + WITHIN


def check(tl: Timeline, now: datetime) -> bool:
    due = watched(tl.state)
    if due is None or now < due:
        return False
    tl.append(
        EventKind.SUPERVISOR_FOLLOW_UP_MISSED,
        SYSTEM,
        due,
        reason="complaint: no supervisor follow-up within 24 h of arrival",
        data={"due_at": due, "notify": ["supervisor", "department_head"]},
    )
    return True
