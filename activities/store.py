"""Persistence activities: the workflow's only way to write PostgreSQL."""

from __future__ import annotations

from typing import Any

import asyncpg
import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from csflow.activity_io import RecordEvents
from csflow.store import requests

log = structlog.get_logger(__name__)

# Errors that no retry can fix: the data itself is wrong. Connection trouble is retried.
_DATA_ERRORS = (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError)


class StoreActivities:
    def __init__(self, pool: asyncpg.Pool[Any]) -> None:
        self._pool = pool

    @activity.defn(name="record_events")
    async def record_events(self, batch: RecordEvents) -> int:
        """Idempotent: (number, seq) keys the events, `version` guards the row."""
        info = activity.info()
        bound = log.bind(request_number=batch.state.number, workflow_id=info.workflow_id,
                         workflow_run_id=info.workflow_run_id, attempt=info.attempt)
        try:
            inserted = await requests.record_events(self._pool, batch)
        except _DATA_ERRORS as err:
            bound.error("persist.rejected", error=str(err))
            raise ApplicationError(
                f"the database refused the data: {err}", type=type(err).__name__,
                non_retryable=True,
            ) from err
        bound.info("persist.ok", events=[e.seq for e in batch.events], inserted=inserted)
        return inserted
