"""Plumbing every ServiceRequest handler shares: guards, clocks, the timeline, persistence.

The workflow class is split by concern (this base, `supervision.py`, `service_request.py`)
so each file reads as one part of SPEC §3; Temporal registers the handlers of all three
because they are inherited by the one workflow class.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.assignment import AssignmentActivities
    from activities.notify import NotifyActivities
    from activities.store import StoreActivities
    from csflow.activity_io import RecordEvents, ReleaseInput, TransferInput, TransferResult
    from csflow.contracts import (
        Actor,
        RequestState,
        RequestView,
        ServiceRequestInput,
        TimelineEvent,
    )
    from csflow.domain import clocks
    from csflow.domain.codes import Priority, SlaState
    from csflow.domain.lifecycle import (
        Command,
        Forbidden,
        IllegalTransition,
        Status,
        authorize,
        check,
    )
    from csflow.domain.terms import ClockName, DeadlineName, RequestTerms
    from csflow.notify.compliance import ComplianceError, check_compliance
    from csflow.notify.models import Recipient
    from csflow.notify.planner import NotifyContext, plan_notifications
    from workflows import options
    from workflows.visibility import publish

ILLEGAL = "IllegalTransition"
FORBIDDEN = "Forbidden"
NOT_PERSISTED = "NotPersisted"
PERSIST_RETRY_AFTER = timedelta(seconds=30)
SLA_CLOCKS: tuple[ClockName, ...] = ("first_response", "plan", "resolution", "progress_cadence")


COMPLIANCE = "Compliance"


QUIET_BACKLOG_PATCH = "quiet-backlog-firings"
_FIRING_KINDS = frozenset(k.value for k in clocks.FiringKind)


class RequestBase:
    _input: ServiceRequestInput
    _sends: list[asyncio.Task[Any]]
    _terms: RequestTerms
    _state: RequestState
    _ready: bool
    _rearm: bool
    _lock: asyncio.Lock
    # When csflow first heard of the request (the first run's start); None in a run
    # continued-as-new, which only ever fires on time.
    _opened_at: datetime | None = None

    # ---- guards ----

    def _refuse_if_illegal(self, command: Command, actor: Actor) -> None:
        try:
            authorize(command, actor.role)
        except Forbidden as err:
            raise ApplicationError(str(err), type=FORBIDDEN, non_retryable=True) from None
        try:
            check(command, self._state.status)
        except IllegalTransition as err:
            raise ApplicationError(str(err), type=ILLEGAL, non_retryable=True) from None

    def _compliant(self, *texts: str | None) -> None:
        """Words that reach the customer may not make banned promises (SPEC §5)."""
        for text in texts:
            if text:
                try:
                    check_compliance(text, self._terms.banned_phrases)
                except ComplianceError as err:
                    raise ApplicationError(str(err), type=COMPLIANCE, non_retryable=True) from None

    @staticmethod
    def _require(condition: bool, reason: str) -> None:
        if not condition:
            raise ApplicationError(reason, type=ILLEGAL, non_retryable=True)

    async def _begin(self, command: Command, actor: Actor) -> None:
        """Wait out intake, then re-check: another command may have moved the state since."""
        await workflow.wait_condition(lambda: self._ready)
        self._refuse_if_illegal(command, actor)

    async def _finish(self) -> RequestView:
        self._rearm = True
        if not await self._persist():
            raise ApplicationError(
                "accepted, but not yet persisted; the request retries the write by itself",
                type=NOT_PERSISTED, non_retryable=True,
            )
        return self._view()

    # ---- clocks ----

    def _start_clock(self, name: ClockName) -> None:
        s = self._state
        clock = clocks.start(name, s.sla_cycle, self._terms, s.priority, workflow.now())
        same = [c for c in s.clocks if c.name == name and c.cycle == s.sla_cycle]
        if name == "progress_cadence":  # one per cadence period: progress_cadence#<cycle>.<n>
            clock.id = f"{name}#{s.sla_cycle}.{len(same) + 1}"
        if s.awaiting_customer and self._terms.pause_when_awaiting_customer:
            clocks.pause(clock, self._terms.calendar, workflow.now())
        s.clocks.append(clock)

    def _satisfy(self, *names: DeadlineName) -> None:
        now = workflow.now()
        for c in self._state.clocks:
            if c.name in names:
                clocks.satisfy(c, self._terms.calendar, now)

    def _stop_clocks(self) -> None:
        now = workflow.now()
        for c in self._state.clocks:
            clocks.stop(c, self._terms.calendar, now)

    def _set_priority(self, priority: Priority) -> Priority:
        """Open clocks are re-counted under the new priority's lengths from their start."""
        before = self._state.priority
        self._state.priority = priority
        now = workflow.now()
        for c in self._state.clocks:
            if c.open and c.name in SLA_CLOCKS:
                spec = self._terms.spec(c.name, priority, c.started_at)
                clocks.respec(c, spec, self._terms.calendar, now)
        return before

    def _deadlines(self) -> dict[str, datetime]:
        return {c.id: c.due_at for c in self._state.clocks if c.open and c.due_at is not None}

    def _start_rehandling(self, actor: Actor, reason: str, evidence_ref: str | None) -> None:
        """Not satisfied: a new SLA cycle, one priority level higher; the old one stays."""
        s = self._state
        self._stop_clocks()  # the previous outcome's confirmation and follow-up end here
        before = s.priority
        s.priority = before.raised()
        s.rehandle_count += 1
        s.sla_cycle += 1
        self._start_clock("resolution")
        self._start_clock("progress_cadence")
        self._append("rehandling_started", actor, to=Status.REHANDLING, reason=reason,
                     data={"priority_from": before, "priority_to": s.priority,
                           "cycle": s.sla_cycle, "evidence_ref": evidence_ref,
                           "deadlines": self._deadlines()})

    # ---- assignment (effects live in activities) ----

    async def _transfer(self, to_staff: str | None = None,
                        to_department: str | None = None) -> TransferResult:
        return await workflow.execute_activity_method(
            AssignmentActivities.transfer,
            TransferInput(number=self._state.number, to_staff=to_staff,
                          to_department=to_department),
            start_to_close_timeout=options.ASSIGN_TIMEOUT, retry_policy=options.ASSIGN_RETRY,
        )

    async def _release(self) -> None:
        """Free the holder's capacity; the queue drains to whoever has room."""
        await workflow.execute_activity_method(
            AssignmentActivities.release, ReleaseInput(number=self._state.number),
            start_to_close_timeout=options.RELEASE_TIMEOUT, retry_policy=options.ASSIGN_RETRY,
        )

    # ---- the timeline ----

    def _end(self, kind: str, actor: Actor, to: Status, reason: str | None) -> None:
        self._stop_clocks()
        self._state.closed_at = workflow.now()
        self._append(kind, actor, to=to, reason=reason)

    def _append(self, kind: str, actor: Actor, *, to: Status | None = None,
                reason: str | None = None, data: dict[str, Any] | None = None,
                at: datetime | None = None) -> None:
        """The only place state changes are written down — every one becomes an audit row."""
        state = self._state
        before = state.status
        if to is not None:
            state.status = to
        event = TimelineEvent(
            seq=state.timeline[-1].seq + 1 if state.timeline else 1,
            at=at or workflow.now(),
            kind=kind,
            actor=actor,
            status_from=before if to is not None else None,
            status_to=to,
            reason=reason,
            data=_jsonable(data or {}),
        )
        state.timeline.append(event)
        self._refresh_sla()
        publish(state)
        self._notify(event)
        workflow.logger.info("request %s: %s by %s", state.number, kind, actor.id)

    def _refresh_sla(self) -> None:
        s = self._state
        if s.status.terminal:
            s.sla_state, s.next_deadline = SlaState.NONE, None
            return
        s.sla_state = clocks.colour(s.clocks, workflow.now())
        s.next_deadline = clocks.next_deadline(s.clocks)

    # ---- notifications ----

    def _notify(self, event: TimelineEvent) -> None:
        """Start (not await) one send per planned message: a slow or failing channel never
        holds up the request; the outbox behind the activity sends each key once."""
        if self._from_the_backlog(event):
            return
        s, customer = self._state, self._input.intake.customer
        ctx = NotifyContext(
            number=s.number, priority=s.priority.value, category=s.category.value,
            assignee=s.assignee,
            customer=Recipient(kind="customer", id=customer.id, email=customer.contact.email,
                               phone=customer.contact.phone, language=customer.language,
                               channels=list(customer.preferred_channels),
                               quiet_hours=customer.quiet_hours),
            follow_up_owner=s.follow_up.owner if s.follow_up else None,
            survey_url=s.follow_up.survey_url if s.follow_up else None,
        )
        for n in plan_notifications(event, ctx):
            self._sends.append(workflow.start_activity_method(
                NotifyActivities.send, n,
                start_to_close_timeout=options.NOTIFY_TIMEOUT,
                schedule_to_close_timeout=options.NOTIFY_WITHIN,
                retry_policy=options.NOTIFY_RETRY,
                summary=f"{n.template} → {n.recipient.kind}",
            ))
        self._sends = [t for t in self._sends if not t.done()]

    def _from_the_backlog(self, event: TimelineEvent) -> bool:
        """A warning, breach or ladder step that fell due before csflow even knew of the
        request — one recorded by hand during an outage and imported later — is written
        down at its instant but not announced: an import of a day's backlog must not page
        every supervisor once per missed step. The board and the search attributes show
        the request red at once; what still falls due after the import is announced.
        """
        if (event.kind not in _FIRING_KINDS or self._opened_at is None
                or event.at >= self._opened_at):
            return False
        if not workflow.patched(QUIET_BACKLOG_PATCH):  # histories from before keep sending
            return False
        event.data["announced"] = False
        return True

    async def _sends_finished(self) -> None:
        """Before the run ends: every started send has finished (or given up)."""
        if self._sends:
            await asyncio.gather(*self._sends, return_exceptions=True)
            self._sends = []

    # ---- persistence ----

    async def _persist_before_leaving(self) -> None:
        """A run never ends with events only in memory, nor with messages unsent."""
        while not await self._persist():
            await workflow.sleep(PERSIST_RETRY_AFTER, summary="retry persistence")
        await self._sends_finished()

    def _unpersisted(self) -> bool:
        timeline = self._state.timeline
        return bool(timeline) and timeline[-1].seq > self._state.persisted_seq

    async def _persist(self) -> bool:
        """Flush unpersisted events in order; concurrent callers share one batch.

        Connection trouble is retried inside the activity. A write the database refuses
        outright comes back here: the events stay pending (nothing is lost), the failure is
        logged and shown in the UI's details, and the main loop tries again later — the
        request neither fails nor forgets.
        """
        async with self._lock:
            state = self._state
            pending = [e for e in state.timeline if e.seq > state.persisted_seq]
            if not pending:
                return True
            try:
                await workflow.execute_activity_method(
                    StoreActivities.record_events,
                    RecordEvents(
                        state=state.model_copy(update={"timeline": []}),
                        events=pending,
                        intake=self._input.intake if state.persisted_seq == 0 else None,
                    ),
                    start_to_close_timeout=options.PERSIST_TIMEOUT,
                    retry_policy=options.PERSIST_RETRY,
                    summary=f"persist events {pending[0].seq}..{pending[-1].seq}",
                )
            except ActivityError as err:
                workflow.logger.error("request %s: persisting events %s..%s failed: %s",
                                      state.number, pending[0].seq, pending[-1].seq, err.cause)
                publish(state, problem=f"persistence failing: {err.cause}")
                self._rearm = True
                return False
            state.persisted_seq = pending[-1].seq
            return True

    def _view(self) -> RequestView:
        return RequestView.of(self._state)


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    """Event data is stored as JSON: datetimes as ISO text, enums as their values."""
    def conv(v: Any) -> Any:
        if isinstance(v, datetime):
            return v.isoformat()
        if isinstance(v, dict):
            return {str(k): conv(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [conv(x) for x in v]
        return v

    return {k: conv(v) for k, v in data.items() if v is not None}
