"""Persist batches that carry only the row's changed columns (patch
`receipts-and-row-changes`): the row ends as a whole-row write would leave it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from csflow.activity_io import RecordEvents, row_changes, row_fields
from csflow.contracts import Plan, RequestState, TimelineEvent
from csflow.domain import clocks
from csflow.domain.lifecycle import Status
from csflow.store import persist
from csflow.store import requests as store
from tests.helpers import AGENT, intake

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
NUMBER = "CS20261123-WEB-0002"


def _clock(clock_id: str, due: datetime) -> clocks.Clock:
    return clocks.Clock.model_validate(
        {
            "id": clock_id,
            "name": clock_id.split("#")[0],
            "cycle": 1,
            "spec": {"duration": "4h", "basis": "wall"},
            "started_at": T0,
            "running_since": T0,
            "due_at": due,
        }
    )


def _event(seq: int, kind: str) -> TimelineEvent:
    return TimelineEvent(seq=seq, at=T0 + timedelta(minutes=seq), kind=kind, actor=AGENT)


async def _row(pool: Any) -> dict[str, Any]:
    view = await store.get_request(pool, NUMBER)
    assert view is not None
    return row_fields(RequestState.model_validate(view.model_dump(exclude={"deadlines"})))


async def test_changes_only_leave_the_row_as_a_whole_write_would(pool: Any) -> None:
    state = RequestState(
        number=NUMBER,
        status=Status.ASSIGNED,
        priority="P3",
        category="consultation",
        channel="web",
        tier="regular",
        customer_id="C-1001",
        received_at=T0,
        assignee="desk",
        department="support",
        clocks=[_clock("first_response", T0 + timedelta(hours=1)), _clock("plan", T0)],
    )
    first = RecordEvents(state=state, events=[_event(1, "received")], intake=intake())
    await persist.record_events(pool, first)
    was = row_fields(state)

    # A plan: the status, the plan and its ETA move, one clock is satisfied, one is new.
    later = state.model_copy(deep=True)
    later.status = Status.IN_PROGRESS
    later.plan = Plan(measures=["call back"], eta=T0 + timedelta(days=1), owner="desk")
    later.eta = T0 + timedelta(days=1)
    later.next_deadline = T0 + timedelta(hours=5)
    later.department = None  # never clears the department (as the whole-row write)
    later.clocks[1].satisfied_at = T0 + timedelta(minutes=30)
    later.clocks.append(_clock("resolution", T0 + timedelta(hours=8)))
    changes = row_changes(was, row_fields(later))
    assert "customer_id" not in changes and "assignee" not in changes
    assert changes["clocks"]["ids"] == ["first_response", "plan", "resolution"]
    # Of the satisfied clock only what changed travels; the new one travels whole.
    plan_change, new_clock = changes["clocks"]["changed"]
    assert set(plan_change) == {"id", "satisfied_at"}
    assert new_clock == later.clocks[2].model_dump(mode="json")

    batch = RecordEvents(
        number=NUMBER, customer_id="C-1001", changes=changes, events=[_event(2, "plan_submitted")]
    )
    assert await persist.record_events(pool, batch) == 1
    assert await persist.record_events(pool, batch) == 0  # a retry is a no-op
    expected = row_fields(later) | {"department": "support"}
    assert await _row(pool) == expected
    assert await pool.fetchval("SELECT version FROM requests WHERE number = $1", NUMBER) == 2

    # A late retry of an older batch never rolls the row back.
    stale = RecordEvents(
        number=NUMBER,
        customer_id="C-1001",
        changes={"status": "assigned"},
        events=[_event(1, "received")],
    )
    await persist.record_events(pool, stale)
    assert await _row(pool) == expected
