"""The persistence activity counted by executions, not only by rows (docs/temporal-notes.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.store import StoreActivities
from csflow.activity_io import RecordEvents, Written
from csflow.contracts import SYSTEM, RequestState, TimelineEvent
from csflow.domain.lifecycle import Status
from tests.helpers import intake

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _batch(number: str = "CS20261123-WEB-0007") -> RecordEvents:
    return RecordEvents(
        state=RequestState(
            number=number,
            status=Status.RECEIVED,
            priority="P3",
            category="complaint",
            channel="web",
            tier="regular",
            customer_id="C-1001",
            received_at=NOW,
        ),
        events=[
            TimelineEvent(seq=1, at=NOW, kind="received", actor=SYSTEM, status_to=Status.RECEIVED)
        ],
        intake=intake(),
    )


async def test_three_executions_of_one_batch_leave_one_row(pool: Any) -> None:
    acts = StoreActivities(pool)
    env = ActivityEnvironment()
    before = datetime.now(UTC) - timedelta(milliseconds=1)
    results = [await env.run(acts.record_events, _batch()) for _ in range(3)]
    # each answers when it committed (the workflow counts its next timer from then)
    assert all(isinstance(r, Written) and before <= r.at <= datetime.now(UTC) for r in results)
    assert await pool.fetchval("SELECT count(*) FROM request_events") == 1
    assert await pool.fetchval("SELECT count(*) FROM requests") == 1


async def test_data_the_database_refuses_is_not_retried_forever(pool: Any) -> None:
    batch = _batch()
    batch.intake = None  # events for a request row that was never written: FK violation
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(StoreActivities(pool).record_events, batch)
    assert caught.value.non_retryable
    assert "ForeignKeyViolation" in (caught.value.type or "")
