"""A request imported with the events recorded by hand (docs/import.md, patch
`imported-history`): while they come, the clocks fire only up to the latest of them, each
is marked imported with the SLA results its original time gives, and once all have come —
or IMPORT_WAIT after intake, should the importer stop half-way — the clocks catch up to
now and the holder of a request still being worked hears it is theirs.

Apart from the loop because it is a mode a request passes through once, at the start of
its life, with rules a live request never meets: the loop and the Updates only call into
it (`_now`, `_await_imported_events`, `_told_holder`, `_recorded`). `Importing` is a part
of `ServiceRequestWorkflow` (workflow.py), not an object beside it: the import's state is
the run's, set in its `__init__` and `run` and moved on by each dated command's `_begin`.
The attributes it reads and sets are the workflow's, declared in the class body; so are
the methods it calls back.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from csflow.contracts import SYSTEM, RequestState, ServiceRequestInput
    from csflow.domain.lifecycle import Status
    from csflow.notify.models import Notification, Recipient
    from workflows.service_request import transitions

# How long an import's events are waited for: an importer that dies half-way leaves the
# request's clocks held this long at most, then they fire up to now as for any backlog.
IMPORT_WAIT = timedelta(minutes=15)

_BEING_WORKED = (Status.ASSIGNED, Status.IN_PROGRESS, Status.REHANDLING, Status.ESCALATED)


class Importing:
    """The imported-history mode of `ServiceRequestWorkflow`."""

    # The workflow's, set in its `__init__` (and `_importing`, `_import_until` in `run`).
    _input: ServiceRequestInput
    _state: RequestState
    _rearm: bool
    _importing: bool  # the import's events still come
    _cursor: datetime  # the latest imported event's time
    _import_until: datetime | None
    _imported: int
    _all_in: bool
    _tell_holder: bool
    _marked: int  # set by `_begin`

    if TYPE_CHECKING:  # the workflow's too (workflow.py)

        def _send(self, n: Notification) -> asyncio.Task[Any] | None: ...

        def _flush(self) -> None: ...

    def _now(self) -> datetime:
        """The instant firings are due by: now, or while an import's events still come,
        the latest of them (the clocks are not yet past it)."""
        return self._cursor if self._importing else workflow.now()

    async def _await_imported_events(self) -> None:
        """While an import's events come, sleep until the next one (or the import ends)."""
        assert self._import_until is not None
        if self._all_in:  # after a round at the last event's time (a close it causes)
            self._end_import()
            return
        self._rearm = False
        timeout = (self._import_until - workflow.now()).total_seconds()
        if timeout > 0:
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: self._rearm or self._state.status.terminal,
                    timeout=timeout,
                    timeout_summary="events of the import",
                )
        if workflow.now() >= self._import_until:
            self._end_import()

    def _end_import(self) -> None:
        """Every imported event came (or the wait ran out): the clocks run up to now."""
        self._importing = False
        self._rearm = True
        self._tell_holder = True

    def _told_holder(self) -> None:
        """After the catch-up, a request still being worked is worked in csflow now: its
        holder — after any takeover the catch-up recorded — hears it is theirs (the
        assignment at receipt was history, not announced)."""
        self._tell_holder = False
        s = self._state
        if s.status not in _BEING_WORKED or s.assignee is None:
            return  # ended, or resolved and no longer anyone's work
        self._send(
            Notification(
                key=f"{s.number}/imported/staff:{s.assignee}/staff_assignment",
                number=s.number,
                template="staff_assignment",
                recipient=Recipient(kind="staff", id=s.assignee, channels=["chat", "email"]),
                priority=s.priority.value,
                variables={
                    "number": s.number,
                    "priority": s.priority.value,
                    "category": s.category.value,
                },
            )
        )
        self._flush()

    def _recorded(self, at: datetime) -> None:
        """An imported event applied: its events say so, and what each clock it met gives
        from the original time — met, or met late after a breach. After the last of the
        import's events the main loop runs one round at its time, then up to now."""
        for e in self._state.timeline[self._marked :]:
            if e.at != at:
                continue
            e.data["imported"] = True
            results = {
                c.id: "breached" if c.breached_at is not None else "met"
                for c in self._state.clocks
                if c.satisfied_at == at and c.name in transitions.PROMISE_CLOCKS
            }
            if results and e.actor.id != SYSTEM.id:
                e.data["sla"] = results
        self._imported += 1
        self._all_in = self._imported >= self._input.imported_events
