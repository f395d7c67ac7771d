"""The ServiceRequest entity workflow: one long-lived execution per request (SPEC §3).

Shape: `run` performs intake and assignment, then sleeps until the next SLA clock changes
colour or a command changes the clocks. Commands are Updates whose validators refuse
illegal transitions before anything reaches history; each accepted command mutates the
state synchronously (so concurrent Updates never interleave mid-change), appends timeline
events and returns only after they are persisted, so a caller's 200 means "in PostgreSQL".
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError

    from activities.assignment import AssignmentActivities
    from activities.store import StoreActivities
    from csflow import search_attributes as sa
    from csflow.contracts import (
        SYSTEM,
        Actor,
        AssignInput,
        CancelCommand,
        Clock,
        CloseCommand,
        ConfirmCommand,
        Plan,
        PlanCommand,
        ProgressCommand,
        ReceiptQuery,
        RecordEvents,
        RequestState,
        RequestView,
        ResolveCommand,
        ServiceRequestInput,
        TimelineEvent,
    )
    from csflow.domain import sla
    from csflow.domain.codes import Role, SlaState
    from csflow.domain.lifecycle import Command, IllegalTransition, Status, check
    from workflows import options

ILLEGAL = "IllegalTransition"
NOT_PERSISTED = "NotPersisted"
PERSIST_RETRY_AFTER = timedelta(seconds=30)
INTAKE_ACTOR = Actor(id="intake", role=Role.SERVICE)


@workflow.defn(name="ServiceRequest", failure_exception_types=[ValidationError])
class ServiceRequestWorkflow:
    @workflow.init
    def __init__(self, inp: ServiceRequestInput) -> None:
        self._input = inp
        self._state = inp.carried or _new_state(inp)
        self._ready = inp.carried is not None
        self._rearm = False
        self._lock = asyncio.Lock()

    # ---- main loop ----

    @workflow.run
    async def run(self, inp: ServiceRequestInput) -> RequestView:
        if not self._ready:
            await self._intake(inp)
            self._ready = True
        while not self._state.status.terminal:
            await self._sleep_until_something_changes()
            await self._tick()
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                await self._persist_before_leaving()
                workflow.continue_as_new(
                    ServiceRequestInput(
                        number=inp.number,
                        intake=inp.intake,
                        received_at=inp.received_at,
                        carried=self._state,
                    )
                )
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._persist_before_leaving()
        return self._view()

    async def _intake(self, inp: ServiceRequestInput) -> None:
        actor = inp.intake.recorded_by or INTAKE_ACTOR
        self._append(
            "received",
            actor,
            to=Status.RECEIVED,
            data={"channel": inp.intake.channel, "category": inp.intake.category,
                  "priority": inp.intake.priority, "tier": inp.intake.customer.tier},
        )
        assignment = await workflow.execute_activity_method(
            AssignmentActivities.pick_assignee,
            AssignInput(
                number=inp.number,
                category=inp.intake.category,
                sub_type=inp.intake.sub_type,
                priority=self._state.priority,
                tier=inp.intake.customer.tier,
                channel=inp.intake.channel,
            ),
            start_to_close_timeout=options.ASSIGN_TIMEOUT,
            retry_policy=options.ASSIGN_RETRY,
        )
        self._state.assignee = assignment.assignee
        self._append("assigned", SYSTEM, to=Status.ASSIGNED, reason=assignment.rule,
                     data={"assignee": assignment.assignee})
        await self._persist()

    async def _sleep_until_something_changes(self) -> None:
        wake_at = self._next_wake()
        self._rearm = False
        timeout = None if wake_at is None else (wake_at - workflow.now()).total_seconds()
        if timeout is not None and timeout <= 0:
            return
        with contextlib.suppress(TimeoutError):  # the timer won: time to look at the clocks
            await workflow.wait_condition(
                lambda: self._rearm or self._state.status.terminal,
                timeout=timeout,
                timeout_summary="next SLA change",
            )

    def _next_wake(self) -> datetime | None:
        now = workflow.now()
        changes = [sla.next_change(_clock_view(c), now) for c in self._state.clocks]
        if self._unpersisted():
            changes.append(now + PERSIST_RETRY_AFTER)
        return min((c for c in changes if c is not None), default=None)

    async def _tick(self) -> None:
        """Record warnings and breaches that are due; persist them if any."""
        if self._state.status.terminal:
            return
        now = workflow.now()
        changed = False
        for clock in self._state.clocks:
            if clock.satisfied_at is not None:
                continue
            colour = sla.colour(_clock_view(clock), now)
            if colour is SlaState.RED and not clock.breached:
                clock.breached = clock.warned = True
                self._append("sla_breached", SYSTEM, reason=f"{clock.kind} deadline passed",
                             data={"clock": clock.kind, "due_at": clock.due_at.isoformat()})
                changed = True
            elif colour is SlaState.YELLOW and not clock.warned:
                clock.warned = True
                self._append("sla_warning", SYSTEM, reason=f"{clock.kind} deadline approaching",
                             data={"clock": clock.kind, "due_at": clock.due_at.isoformat()})
                changed = True
        if changed or self._unpersisted():
            await self._persist()

    # ---- commands ----

    @workflow.update(name="receipt")
    async def receipt(self, _: ReceiptQuery) -> RequestView:
        """Returns once intake is persisted and the request is assigned."""
        await workflow.wait_condition(lambda: self._ready)
        return self._view()

    @workflow.update(name=Command.SUBMIT_PLAN.value)
    async def submit_plan(self, cmd: PlanCommand) -> RequestView:
        await self._begin(Command.SUBMIT_PLAN)
        owner = cmd.owner or self._state.assignee or cmd.actor.id
        self._state.plan = _plan(cmd, owner)
        self._state.eta = cmd.eta
        self._satisfy(sla.ClockKind.FIRST_RESPONSE, sla.ClockKind.PLAN)
        self._append("plan_submitted", cmd.actor, to=_working(self._state.status),
                     data={"measures": cmd.measures, "eta": cmd.eta.isoformat(), "owner": owner,
                           "department": cmd.department})
        return await self._finish()

    @submit_plan.validator
    def _validate_plan(self, cmd: PlanCommand) -> None:
        self._refuse_if_illegal(Command.SUBMIT_PLAN)

    @workflow.update(name=Command.POST_PROGRESS.value)
    async def post_progress(self, cmd: ProgressCommand) -> RequestView:
        await self._begin(Command.POST_PROGRESS)
        if cmd.eta is not None:
            self._state.eta = cmd.eta
        self._satisfy(sla.ClockKind.FIRST_RESPONSE)
        self._append("progress_posted", cmd.actor, to=_working(self._state.status), reason=cmd.note,
                     data={"eta": cmd.eta.isoformat() if cmd.eta else None})
        return await self._finish()

    @post_progress.validator
    def _validate_progress(self, cmd: ProgressCommand) -> None:
        self._refuse_if_illegal(Command.POST_PROGRESS)

    @workflow.update(name=Command.RESOLVE.value)
    async def resolve(self, cmd: ResolveCommand) -> RequestView:
        await self._begin(Command.RESOLVE)
        self._satisfy(sla.ClockKind.FIRST_RESPONSE, sla.ClockKind.PLAN, sla.ClockKind.RESOLUTION)
        self._append("resolution_proposed", cmd.actor, to=Status.AWAITING_CONFIRMATION,
                     reason=cmd.summary)
        return await self._finish()

    @resolve.validator
    def _validate_resolve(self, cmd: ResolveCommand) -> None:
        self._refuse_if_illegal(Command.RESOLVE)

    @workflow.update(name=Command.CONFIRM.value)
    async def confirm(self, cmd: ConfirmCommand) -> RequestView:
        await self._begin(Command.CONFIRM)
        if cmd.satisfied:
            self._append("customer_confirmed", cmd.actor, to=Status.RESOLVED, reason=cmd.reason,
                         data={"evidence_ref": cmd.evidence_ref})
        else:
            self._start_rehandling(cmd.actor, cmd.reason or "", cmd.evidence_ref)
        return await self._finish()

    @confirm.validator
    def _validate_confirm(self, cmd: ConfirmCommand) -> None:
        self._refuse_if_illegal(Command.CONFIRM)

    @workflow.update(name=Command.CLOSE.value)
    async def close(self, cmd: CloseCommand) -> RequestView:
        await self._begin(Command.CLOSE)
        self._state.closed_at = workflow.now()
        self._append("closed", cmd.actor, to=Status.CLOSED, reason=cmd.reason)
        return await self._finish()

    @close.validator
    def _validate_close(self, cmd: CloseCommand) -> None:
        self._refuse_if_illegal(Command.CLOSE)

    @workflow.update(name=Command.CANCEL.value)
    async def cancel(self, cmd: CancelCommand) -> RequestView:
        await self._begin(Command.CANCEL)
        self._state.closed_at = workflow.now()
        self._append("cancelled", cmd.actor, to=Status.CANCELLED, reason=cmd.reason)
        return await self._finish()

    @cancel.validator
    def _validate_cancel(self, cmd: CancelCommand) -> None:
        self._refuse_if_illegal(Command.CANCEL)

    @workflow.query(name="get_state")
    def get_state(self) -> RequestView:
        return self._view()

    # ---- command plumbing ----

    def _refuse_if_illegal(self, command: Command) -> None:
        try:
            check(command, self._state.status)
        except IllegalTransition as err:
            raise ApplicationError(str(err), type=ILLEGAL, non_retryable=True) from None

    async def _begin(self, command: Command) -> None:
        """Wait out intake, then re-check: another command may have moved the state since."""
        await workflow.wait_condition(lambda: self._ready)
        self._refuse_if_illegal(command)

    async def _finish(self) -> RequestView:
        self._rearm = True
        if not await self._persist():
            raise ApplicationError(
                "accepted, but not yet persisted; the request retries the write by itself",
                type=NOT_PERSISTED, non_retryable=True,
            )
        return self._view()

    def _satisfy(self, *kinds: sla.ClockKind) -> None:
        now = workflow.now()
        for clock in self._state.clocks:
            if clock.kind in kinds and clock.satisfied_at is None:
                clock.satisfied_at = now

    def _start_rehandling(self, actor: Actor, reason: str, evidence_ref: str | None) -> None:
        """Customer not satisfied: back to work, one level more urgent, a new resolution clock."""
        before = self._state.priority
        self._state.priority = before.raised()
        self._state.rehandle_count += 1
        now = workflow.now()
        terms = sla.DEFAULT_TERMS[self._state.priority]
        self._state.clocks.append(
            Clock(kind=sla.ClockKind.RESOLUTION, started_at=now, due_at=now + terms.resolution)
        )
        self._append("rehandling_started", actor, to=Status.REHANDLING, reason=reason,
                     data={"priority_from": before, "priority_to": self._state.priority,
                           "cycle": self._state.rehandle_count + 1,
                           "evidence_ref": evidence_ref})

    def _append(self, kind: str, actor: Actor, *, to: Status | None = None,
                reason: str | None = None, data: dict[str, Any] | None = None) -> None:
        """The only place state changes are written down — every one becomes an audit row."""
        state = self._state
        before = state.status
        if to is not None:
            state.status = to
        event = TimelineEvent(
            seq=state.timeline[-1].seq + 1 if state.timeline else 1,
            at=workflow.now(),
            kind=kind,
            actor=actor,
            status_from=before if to is not None else None,
            status_to=to,
            reason=reason,
            data={k: v for k, v in (data or {}).items() if v is not None},
        )
        state.timeline.append(event)
        self._refresh_sla(event.at)
        self._publish()
        workflow.logger.info("request %s: %s by %s", state.number, kind, actor.id)

    def _refresh_sla(self, now: datetime) -> None:
        state = self._state
        if state.status.terminal:
            state.sla_state, state.next_deadline = SlaState.NONE, None
            return
        views = [_clock_view(c) for c in state.clocks]
        state.sla_state = sla.worst(sla.colour(v, now) for v in views)
        state.next_deadline = sla.next_deadline(views)

    def _publish(self, problem: str | None = None) -> None:
        """Search attributes and current details: what ops see in the Temporal UI."""
        s = self._state
        workflow.upsert_search_attributes([
            sa.REQUEST_STATUS.value_set(s.status.value),
            sa.PRIORITY.value_set(s.priority.value),
            sa.CATEGORY.value_set(s.category.value),
            sa.CHANNEL.value_set(s.channel.value),
            sa.CUSTOMER_TIER.value_set(s.tier.value),
            sa.SLA_STATE.value_set(s.sla_state.value),
            sa.ASSIGNEE.value_set(s.assignee) if s.assignee else sa.ASSIGNEE.value_unset(),
            sa.NEXT_DEADLINE.value_set(s.next_deadline) if s.next_deadline
            else sa.NEXT_DEADLINE.value_unset(),
        ])
        deadline = s.next_deadline.isoformat() if s.next_deadline else "none"
        workflow.set_current_details(
            f"**{s.status.value}** · {s.priority.value} · SLA {s.sla_state.value}\n\n"
            f"Assignee: {s.assignee or 'unassigned'}  \nNext deadline: {deadline}  \n"
            f"Re-handled: {s.rehandle_count}×" + (f"\n\n⚠ {problem}" if problem else "")
        )

    async def _persist_before_leaving(self) -> None:
        """A run never ends with events only in memory."""
        while not await self._persist():
            await workflow.sleep(PERSIST_RETRY_AFTER, summary="retry persistence")

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
                self._publish(problem=f"persistence failing: {err.cause}")
                self._rearm = True
                return False
            state.persisted_seq = pending[-1].seq
            return True

    def _view(self) -> RequestView:
        return RequestView.of(self._state)


def _new_state(inp: ServiceRequestInput) -> RequestState:
    intake = inp.intake
    terms = sla.DEFAULT_TERMS[intake.priority]
    start = inp.received_at
    clocks = [
        Clock(kind=kind, started_at=start, due_at=start + terms.duration(kind))
        for kind in (sla.ClockKind.FIRST_RESPONSE, sla.ClockKind.PLAN, sla.ClockKind.RESOLUTION)
    ]
    return RequestState(
        number=inp.number,
        status=Status.RECEIVED,
        priority=intake.priority,
        category=intake.category,
        channel=intake.channel,
        tier=intake.customer.tier,
        customer_id=intake.customer.id,
        received_at=inp.received_at,
        clocks=clocks,
    )


def _clock_view(c: Clock) -> sla.ClockView:
    return sla.ClockView(started_at=c.started_at, due_at=c.due_at, satisfied_at=c.satisfied_at)


def _working(status: Status) -> Status:
    """Plan and progress move a freshly assigned request into work; re-handling stays so."""
    return Status.IN_PROGRESS if status is Status.ASSIGNED else status


def _plan(cmd: PlanCommand, owner: str) -> Plan:
    return Plan(measures=cmd.measures, eta=cmd.eta, owner=owner, department=cmd.department)
