"""Persistence activities: the workflow's only way to write PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg
import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from csflow.activity_io import RecordEvents, Written
from csflow.store import persist
from csflow.store.dead_letters import public_reason
from csflow.store.persist import DATA_ERRORS

log = structlog.get_logger(__name__)


class StoreActivities:
    def __init__(
        self, pool: asyncpg.Pool[Any], wrote_messages: Callable[[], None] = lambda: None
    ) -> None:
        self._pool = pool
        # The worker's dispatcher, woken when a write put messages in the outbox.
        self._wrote_messages = wrote_messages

    @activity.defn(name="record_events")
    async def record_events(self, batch: RecordEvents) -> int | Written:
        """Idempotent: (number, seq) keys the events, `version` guards the row.

        Returns when the write committed (`Written`: the workflow counts its next timer
        from then); the events newly inserted are logged. With `batch.salvage` (the
        workflow's answer to a write the database keeps refusing) it stores what the
        database takes, sets the rest aside in `persist_dead_letters` and returns how
        many parts it set aside; each one is an ops alert, `persist.wedged`.
        """
        info = activity.info()
        bound = log.bind(
            request_number=batch.request_number,
            workflow_id=info.workflow_id,
            workflow_run_id=info.workflow_run_id,
            attempt=info.attempt,
        )
        if batch.salvage:
            return await self._salvage(batch, bound)
        try:
            inserted = await persist.record_events(self._pool, batch)
        except DATA_ERRORS as err:
            bound.error("persist.rejected", error=public_reason(err))
            raise ApplicationError(
                f"the database refused the data: {public_reason(err)}",
                type=type(err).__name__,
                non_retryable=True,
            ) from err
        bound.info("persist.ok", events=[e.seq for e in batch.events], inserted=inserted)
        if batch.messages:
            self._wrote_messages()
        return Written.now()

    async def _salvage(self, batch: RecordEvents, bound: Any) -> int:
        try:
            dead = await persist.salvage_events(self._pool, batch)
        except DATA_ERRORS as err:  # not even the bare parts: nothing more to try
            bound.error("persist.rejected", error=public_reason(err), salvage=True)
            raise ApplicationError(
                f"the database refused even the bare write: {public_reason(err)}",
                type=type(err).__name__,
                non_retryable=True,
            ) from err
        for d in dead:
            bound.error(
                "persist.wedged",
                part=d.part,
                seq=d.seq,
                version=d.version,
                error=d.reason,
                dead_letter="persist_dead_letters",
            )
        bound.info("persist.salvaged", events=[e.seq for e in batch.events], set_aside=len(dead))
        return len(dead)
