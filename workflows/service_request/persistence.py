"""A request's write: its pending events and its row to PostgreSQL in one transaction,
and what happens when the database refuses them (docs/events.md, "When PostgreSQL refuses
a write"): the events stay pending and the write is retried, then salvaged, so a request
is never wedged and never forgets.

Apart from the loop and the Updates because it is one path with rules of its own that
every command, firing and ending takes the same way, through `_persist`, and that is
read — and changed — on its own. `Persisting` is a part of `ServiceRequestWorkflow`
(workflow.py), not an object beside it: the write shares the run's state, timeline, lock
and queued messages, and each of its steps is a workflow command (a local activity, a
timer, a search-attribute upsert), issued in the same order wherever the code lives. The
attributes it reads and sets are the workflow's, declared in the class body; so are the
methods it calls back.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from csflow.activity_io import RecordEvents, row_changes, row_fields
    from csflow.contracts import RequestState, ServiceRequestInput, TimelineEvent
    from csflow.notify.models import CompactNotification
    from workflows.service_request import effects
    from workflows.service_request.patches import (
        COMPACT_PATCH,
        LEAN_HISTORY_PATCH,
        MESSAGES_IN_THE_WRITE_PATCH,
        SALVAGE_PATCH,
    )
    from workflows.service_request.timeline import Timeline

PERSIST_RETRY_AFTER = timedelta(seconds=30)
# A write refused for this long (retried every 30 s meanwhile, and after every command)
# is salvaged rather than retried as it is: time for a command that fixes the value.
SALVAGE_AFTER = timedelta(minutes=2)


class Persisting:
    """The write of `ServiceRequestWorkflow`, with its retry and salvage."""

    # The workflow's, set in its `__init__`.
    _input: ServiceRequestInput
    _state: RequestState
    _timeline: Timeline
    _lock: asyncio.Lock
    _row: dict[str, Any] | None  # the row's columns as this run last wrote them
    _outgoing: list[CompactNotification]
    _sends: list[asyncio.Task[Any]]
    _written_at: datetime | None
    _refused_since: datetime | None
    _persist_state: str
    _rearm: bool

    if TYPE_CHECKING:  # the workflow's too (workflow.py)

        def _patched(self, patch: str) -> bool: ...

        def _publish(self, problem: str | None = None, persist: str = "ok") -> None: ...

        def _flush(self) -> None: ...

    def _unpersisted(self) -> bool:
        return bool(self._timeline.pending())

    async def _persist(self, *, leaving: bool = False) -> bool:
        """Flush unpersisted events in order; concurrent callers share one batch.

        Connection trouble is retried inside the activity. A write the database refuses
        outright comes back here: the events stay pending (nothing is lost), the request
        shows `PersistState=rejected`, and the main loop tries again every 30 s. Still
        refused after SALVAGE_AFTER — or refused once when the request is ending — the
        write is salvaged:
        what the database takes is stored and the rest set aside in persist_dead_letters
        (`PersistState=quarantined`, an ops alert `persist.wedged`), so a request can never
        be wedged and a cancel or close always ends the row too (docs/events.md).

        The messages the task planned are written with it (MESSAGES_IN_THE_WRITE_PATCH);
        a refused write hands them to the send activity instead.
        """
        if not self._messages_in_the_write():
            self._flush()
        async with self._lock:
            s = self._state
            pending = self._timeline.pending()
            if not pending:
                if self._messages_in_the_write():  # nothing to write them with
                    self._flush()
                return True
            row = row_fields(s) if self._patched(LEAN_HISTORY_PATCH) else None
            if row is not None and self._row is not None and s.persisted_seq > 0:
                batch = RecordEvents(
                    number=s.number,
                    customer_id=s.customer_id,
                    changes=row_changes(self._row, row),
                    events=pending,
                )
            else:
                batch = self._whole_row(pending)
            if row is not None and self._messages_in_the_write():
                batch.messages, self._outgoing = self._outgoing, []
            try:
                self._written_at = await effects.record_events(
                    batch, local=row is not None, labelled=not self._patched(COMPACT_PATCH)
                )
            except (ActivityError, ApplicationError) as err:
                if batch.messages:  # refused: they go the activity's way, which waits
                    self._outgoing = batch.messages + self._outgoing  # for the row
                    batch.messages = []
                    self._flush()
                # A local activity's failure arrives as its own error, not wrapped.
                cause = err.cause if isinstance(err, ActivityError) else err
                now = workflow.now()
                self._refused_since = self._refused_since or now
                workflow.logger.error(
                    "request %s: persisting events %s..%s failed: %s",
                    s.number,
                    pending[0].seq,
                    pending[-1].seq,
                    cause,
                )
                if (leaving or now - self._refused_since >= SALVAGE_AFTER) and self._patched(
                    SALVAGE_PATCH
                ):
                    return await self._salvage(batch)
                self._refused(f"persistence failing: {cause}")
                return False
            s.persisted_seq = pending[-1].seq
            self._row = row
            if (self._refused_since or self._persist_state != "ok") and self._patched(
                SALVAGE_PATCH
            ):
                self._persist_state = "ok"
                self._publish()
            self._refused_since = None
            return True

    def _messages_in_the_write(self) -> bool:
        """Whether the messages queued now travel in this persist (MESSAGES_IN_THE_WRITE_
        PATCH). Asked only when there are some, so a run marks the patch where its first
        message is written, and a replay asks at the same point."""
        return bool(self._outgoing) and self._patched(MESSAGES_IN_THE_WRITE_PATCH)

    def _whole_row(self, pending: list[TimelineEvent]) -> RecordEvents:
        """A batch with the whole row: the intake's, a salvage, and every batch of a run
        from before LEAN_HISTORY_PATCH."""
        s = self._state
        return RecordEvents(
            state=s.model_copy(update={"timeline": []}),
            events=pending,
            intake=self._input.intake if s.persisted_seq == 0 else None,
        )

    async def _salvage(self, batch: RecordEvents) -> bool:
        s = self._state
        if batch.state is None:  # a salvage stores what it can of the whole row
            batch = self._whole_row(batch.events)
        try:
            set_aside = await effects.salvage_events(batch)
        except ActivityError as err:
            self._refused(f"persistence failing, even salvaged: {err.cause}")
            return False
        s.persisted_seq = batch.events[-1].seq
        self._row = None  # what the salvage stored of the row is unknown: next time, all
        self._refused_since = None
        self._persist_state = "quarantined" if set_aside else "ok"
        problem = (
            f"{set_aside} part(s) the database refused were set aside in persist_dead_letters"
            if set_aside
            else None
        )
        self._publish(problem, self._persist_state)
        return True

    def _refused(self, problem: str) -> None:
        self._persist_state = "rejected"
        self._publish(problem, "rejected")
        self._rearm = True

    async def _persist_before_leaving(self) -> None:
        """A run never ends with events only in memory, nor with messages unsent."""
        while not await self._persist(leaving=True):
            await workflow.sleep(PERSIST_RETRY_AFTER, summary="retry persistence")
        self._flush()
        if self._sends:
            await asyncio.gather(*self._sends, return_exceptions=True)
            self._sends = []
