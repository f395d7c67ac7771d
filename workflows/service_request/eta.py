"""The ETA is a promise (patch `eta-as-a-promise`): the plan's ETA and every revision go to
the customer (csflow/notify/planner.py), and an ETA that passes while the request is still
being worked is a breach of its own — recorded as `eta_missed` at the ETA's instant, the
request marked delayed on the board, the owner and the department's supervisor told.

An ETA already past when it is written down is not watched (see `watched`). One
`eta_missed` per promised instant: a revised ETA is a new promise that can be missed
again; the same one is never reported twice (the timeline says which were).
"""

from __future__ import annotations

from datetime import datetime

from csflow.contracts import SYSTEM, RequestState
from csflow.domain.events import EventKind
from csflow.domain.lifecycle import Status
from workflows.service_request.timeline import Timeline

ETA_PATCH = "eta-as-a-promise"
_WORKING = (Status.ASSIGNED, Status.IN_PROGRESS, Status.REHANDLING, Status.ESCALATED)


def watched(s: RequestState) -> datetime | None:
    """The ETA to wake for: promised ahead of time, still being worked, not yet reported
    missed. An ETA that was already past when it was written down (a record typed in
    late, an import) was never a promise the customer waited on: not reported."""
    if s.eta is None or s.status not in _WORKING:
        return None
    iso = s.eta.isoformat()
    promised_at = None
    for e in s.timeline:
        if e.kind == EventKind.ETA_MISSED and e.data.get("eta") == iso:
            return None
        if e.data.get("eta") == iso and e.kind != EventKind.ETA_MISSED:
            promised_at = e.at
    if promised_at is None or promised_at >= s.eta:
        return None
    return s.eta


def check(tl: Timeline, now: datetime) -> bool:
    """Record the miss if the watched ETA has passed; True when it did."""
    s = tl.state
    eta = watched(s)
    if eta is None or now < eta:
        return False
    s.delayed = True
    tl.append(
        EventKind.ETA_MISSED,
        SYSTEM,
        eta,
        reason=f"the ETA promised to the customer ({eta.isoformat()}) has passed",
        data={"eta": eta, "owner": s.assignee, "notify": ["owner", "supervisor"]},
    )
    return True
