"""The ServiceRequest entity workflow: one long-lived execution per request (SPEC §3).

Shape: `run` performs intake and assignment, then sleeps until the next SLA firing (a
warning, a breach, a ladder step) or until a command changes the clocks. Commands are
Updates whose validators refuse illegal transitions before anything reaches history; each
accepted command mutates the state synchronously (so concurrent Updates never interleave
mid-change), appends timeline events and returns only after they are persisted, so a
caller's 200 means "in PostgreSQL". The SLA terms arrive resolved in the input: a replay
never reads the policy file.
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
    from csflow.contracts import (
        SYSTEM,
        Actor,
        AssignInput,
        CancelCommand,
        ChangePriorityCommand,
        CloseCommand,
        ConfirmCommand,
        CustomerRepliedCommand,
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
        UpdateCalendarCommand,
        WaitForCustomerCommand,
    )
    from csflow.domain import clocks
    from csflow.domain.codes import Role, SlaState
    from csflow.domain.escalation import EscalationAction
    from csflow.domain.lifecycle import (
        Command,
        Forbidden,
        IllegalTransition,
        Status,
        authorize,
        check,
    )
    from csflow.domain.terms import ClockName
    from workflows import options
    from workflows.visibility import publish

ILLEGAL = "IllegalTransition"
FORBIDDEN = "Forbidden"
NOT_PERSISTED = "NotPersisted"
PERSIST_RETRY_AFTER = timedelta(seconds=30)
INTAKE_ACTOR = Actor(id="intake", role=Role.SERVICE)
DIRECTOR = "director"


@workflow.defn(name="ServiceRequest", failure_exception_types=[ValidationError])
class ServiceRequestWorkflow:
    @workflow.init
    def __init__(self, inp: ServiceRequestInput) -> None:
        self._input = inp
        self._terms = inp.terms
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
            await self._fire_due()
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                await self._persist_before_leaving()
                workflow.continue_as_new(inp.model_copy(
                    update={"terms": self._terms, "carried": self._state}))
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._persist_before_leaving()
        return self._view()

    async def _intake(self, inp: ServiceRequestInput) -> None:
        actor = inp.intake.recorded_by or INTAKE_ACTOR
        self._append(
            "received", actor, to=Status.RECEIVED,
            data={"channel": inp.intake.channel, "category": inp.intake.category,
                  "priority": inp.intake.priority, "tier": inp.intake.customer.tier,
                  "policy_version": self._terms.policy_version,
                  "calendar_version": self._terms.calendar.version,
                  "deadlines": self._deadlines()},
        )
        assignment = await workflow.execute_activity_method(
            AssignmentActivities.pick_assignee,
            AssignInput(number=inp.number, category=inp.intake.category,
                        sub_type=inp.intake.sub_type, priority=self._state.priority,
                        tier=inp.intake.customer.tier, channel=inp.intake.channel),
            start_to_close_timeout=options.ASSIGN_TIMEOUT,
            retry_policy=options.ASSIGN_RETRY,
        )
        self._state.assignee = assignment.assignee
        self._append("assigned", SYSTEM, to=Status.ASSIGNED, reason=assignment.rule,
                     data={"assignee": assignment.assignee})
        await self._persist()

    async def _sleep_until_something_changes(self) -> None:
        wake_at = clocks.next_wake(self._state.clocks, self._terms, self._state.priority)
        if self._unpersisted():
            retry = workflow.now() + PERSIST_RETRY_AFTER
            wake_at = min(wake_at, retry) if wake_at else retry
        self._rearm = False
        timeout = None if wake_at is None else (wake_at - workflow.now()).total_seconds()
        if timeout is not None and timeout <= 0:
            return
        with contextlib.suppress(TimeoutError):  # the timer won: something is due
            await workflow.wait_condition(
                lambda: self._rearm or self._state.status.terminal,
                timeout=timeout,
                timeout_summary="next SLA firing",
            )

    async def _fire_due(self) -> None:
        """Record every warning, breach and ladder step due by now, at its exact instant."""
        if self._state.status.terminal:
            return
        firings = clocks.fire_due(self._state.clocks, self._terms, self._state.priority,
                                  workflow.now())
        for f in firings:
            self._record_firing(f)
        if firings or self._unpersisted():
            await self._persist()

    def _record_firing(self, f: clocks.Firing) -> None:
        data: dict[str, Any] = {"clock": f.clock.id, "name": f.clock.name,
                                "cycle": f.clock.cycle, "due_at": f.clock.due_at}
        if f.kind is clocks.FiringKind.WARNING:
            data["share"] = f.share
            reason = f"{f.clock.id}: {f.share:.0%} of the time used"
        elif f.kind is clocks.FiringKind.BREACH:
            data["notify"] = ["owner"]  # a missed deadline always tells the owner
            reason = f"{f.clock.id}: deadline passed"
        else:
            assert f.step is not None and f.step_index is not None
            data |= {"step": f.step_index + 1, "action": f.step.action,
                     "notify": list(f.step.notify), "channels": list(f.step.channels)}
            reason = f"{f.clock.id}: ladder step {f.step_index + 1} ({f.step.action.value})"
            self._apply_step_action(f.step.action)
        self._append(f.kind.value, SYSTEM, reason=reason, data=data, at=f.at)

    def _apply_step_action(self, action: EscalationAction) -> None:
        s = self._state
        if action is EscalationAction.MARK_DELAYED:
            s.delayed = True
        elif action is EscalationAction.DIRECTOR_TAKEOVER and s.escalated_to != DIRECTOR:
            s.escalated_to = DIRECTOR
            s.assignee = DIRECTOR
            if s.status in (Status.ASSIGNED, Status.IN_PROGRESS, Status.REHANDLING):
                s.status = Status.ESCALATED
        # NOTIFY and REASSIGN are recorded on the event; delivery and routing act on it.

    # ---- commands ----

    @workflow.update(name="receipt")
    async def receipt(self, _: ReceiptQuery) -> RequestView:
        """Returns once intake is persisted and the request is assigned."""
        await workflow.wait_condition(lambda: self._ready)
        return self._view()

    @workflow.update(name=Command.SUBMIT_PLAN.value)
    async def submit_plan(self, cmd: PlanCommand) -> RequestView:
        await self._begin(Command.SUBMIT_PLAN, cmd.actor)
        owner = cmd.owner or self._state.assignee or cmd.actor.id
        self._state.plan = Plan(measures=cmd.measures, eta=cmd.eta, owner=owner,
                                department=cmd.department)
        self._state.eta = cmd.eta
        self._satisfy("first_response", "plan")
        self._append("plan_submitted", cmd.actor, to=_working(self._state.status),
                     data={"measures": cmd.measures, "eta": cmd.eta, "owner": owner,
                           "department": cmd.department})
        return await self._finish()

    @submit_plan.validator
    def _validate_plan(self, cmd: PlanCommand) -> None:
        self._refuse_if_illegal(Command.SUBMIT_PLAN, cmd.actor)

    @workflow.update(name=Command.POST_PROGRESS.value)
    async def post_progress(self, cmd: ProgressCommand) -> RequestView:
        await self._begin(Command.POST_PROGRESS, cmd.actor)
        if cmd.eta is not None:
            self._state.eta = cmd.eta
        self._satisfy("first_response", "progress_cadence")
        self._start_clock("progress_cadence")  # the next update is due one cadence later
        self._append("progress_posted", cmd.actor, to=_working(self._state.status),
                     reason=cmd.note, data={"eta": cmd.eta})
        return await self._finish()

    @post_progress.validator
    def _validate_progress(self, cmd: ProgressCommand) -> None:
        self._refuse_if_illegal(Command.POST_PROGRESS, cmd.actor)

    @workflow.update(name=Command.RESOLVE.value)
    async def resolve(self, cmd: ResolveCommand) -> RequestView:
        await self._begin(Command.RESOLVE, cmd.actor)
        self._satisfy("first_response", "plan", "resolution")
        self._stop_clocks()
        self._state.awaiting_customer = False
        self._append("resolution_proposed", cmd.actor, to=Status.AWAITING_CONFIRMATION,
                     reason=cmd.summary)
        return await self._finish()

    @resolve.validator
    def _validate_resolve(self, cmd: ResolveCommand) -> None:
        self._refuse_if_illegal(Command.RESOLVE, cmd.actor)

    @workflow.update(name=Command.CONFIRM.value)
    async def confirm(self, cmd: ConfirmCommand) -> RequestView:
        await self._begin(Command.CONFIRM, cmd.actor)
        if cmd.satisfied:
            self._append("customer_confirmed", cmd.actor, to=Status.RESOLVED, reason=cmd.reason,
                         data={"evidence_ref": cmd.evidence_ref})
        else:
            self._start_rehandling(cmd.actor, cmd.reason or "", cmd.evidence_ref)
        return await self._finish()

    @confirm.validator
    def _validate_confirm(self, cmd: ConfirmCommand) -> None:
        self._refuse_if_illegal(Command.CONFIRM, cmd.actor)

    @workflow.update(name=Command.CLOSE.value)
    async def close(self, cmd: CloseCommand) -> RequestView:
        await self._begin(Command.CLOSE, cmd.actor)
        self._end("closed", cmd.actor, Status.CLOSED, cmd.reason)
        return await self._finish()

    @close.validator
    def _validate_close(self, cmd: CloseCommand) -> None:
        self._refuse_if_illegal(Command.CLOSE, cmd.actor)

    @workflow.update(name=Command.CANCEL.value)
    async def cancel(self, cmd: CancelCommand) -> RequestView:
        await self._begin(Command.CANCEL, cmd.actor)
        self._end("cancelled", cmd.actor, Status.CANCELLED, cmd.reason)
        return await self._finish()

    @cancel.validator
    def _validate_cancel(self, cmd: CancelCommand) -> None:
        self._refuse_if_illegal(Command.CANCEL, cmd.actor)

    @workflow.update(name=Command.WAIT_FOR_CUSTOMER.value)
    async def wait_for_customer(self, cmd: WaitForCustomerCommand) -> RequestView:
        await self._begin(Command.WAIT_FOR_CUSTOMER, cmd.actor)
        self._require(not self._state.awaiting_customer, "already waiting on the customer")
        self._state.awaiting_customer = True
        now = workflow.now()
        paused = [c.id for c in self._state.clocks
                  if self._terms.pause_when_awaiting_customer
                  and clocks.pause(c, self._terms.calendar, now)]
        self._append("clocks_paused" if paused else "awaiting_customer", cmd.actor,
                     reason=cmd.reason, data={"clocks": paused})
        return await self._finish()

    @wait_for_customer.validator
    def _validate_wait(self, cmd: WaitForCustomerCommand) -> None:
        self._refuse_if_illegal(Command.WAIT_FOR_CUSTOMER, cmd.actor)
        self._require(not self._state.awaiting_customer, "already waiting on the customer")

    @workflow.update(name=Command.CUSTOMER_REPLIED.value)
    async def customer_replied(self, cmd: CustomerRepliedCommand) -> RequestView:
        await self._begin(Command.CUSTOMER_REPLIED, cmd.actor)
        self._require(self._state.awaiting_customer, "the request is not waiting on the customer")
        self._state.awaiting_customer = False
        now = workflow.now()
        resumed = {c.id: c.due_at for c in self._state.clocks
                   if clocks.resume(c, self._terms.calendar, now)}
        self._append("clocks_resumed" if resumed else "customer_replied", cmd.actor,
                     reason=cmd.note, data={"due": resumed})
        return await self._finish()

    @customer_replied.validator
    def _validate_replied(self, cmd: CustomerRepliedCommand) -> None:
        self._refuse_if_illegal(Command.CUSTOMER_REPLIED, cmd.actor)
        self._require(self._state.awaiting_customer, "the request is not waiting on the customer")

    @workflow.update(name=Command.CHANGE_PRIORITY.value)
    async def change_priority(self, cmd: ChangePriorityCommand) -> RequestView:
        await self._begin(Command.CHANGE_PRIORITY, cmd.actor)
        before = self._state.priority
        self._require(cmd.priority is not before, f"the priority is already {before.value}")
        self._state.priority = cmd.priority
        now = workflow.now()
        for c in self._state.clocks:
            if c.open:
                spec = self._terms.spec(c.name, cmd.priority, c.started_at)
                clocks.respec(c, spec, self._terms.calendar, now)
        self._append("priority_changed", cmd.actor, reason=cmd.reason,
                     data={"priority_from": before, "priority_to": cmd.priority,
                           "deadlines": self._deadlines()})
        return await self._finish()

    @change_priority.validator
    def _validate_priority(self, cmd: ChangePriorityCommand) -> None:
        self._refuse_if_illegal(Command.CHANGE_PRIORITY, cmd.actor)
        self._require(cmd.priority is not self._state.priority,
                      f"the priority is already {cmd.priority.value}")

    @workflow.update(name=Command.UPDATE_CALENDAR.value)
    async def update_calendar(self, cmd: UpdateCalendarCommand) -> RequestView:
        await self._begin(Command.UPDATE_CALENDAR, cmd.actor)
        old, new = self._terms.calendar, cmd.calendar
        if new.version == old.version:
            return self._view()  # already on this calendar: a repeated push changes nothing
        now = workflow.now()
        for c in self._state.clocks:
            # Time used so far is measured on the old calendar, the rest on the new one.
            clocks.recount(c, c.spec, old, new, now)
        self._terms = self._terms.model_copy(update={"calendar": new})
        self._append("calendar_updated", cmd.actor,
                     data={"from": old.version, "to": new.version,
                           "deadlines": self._deadlines()})
        return await self._finish()

    @update_calendar.validator
    def _validate_calendar(self, cmd: UpdateCalendarCommand) -> None:
        self._refuse_if_illegal(Command.UPDATE_CALENDAR, cmd.actor)

    @workflow.query(name="get_state")
    def get_state(self) -> RequestView:
        return self._view()

    # ---- command plumbing ----

    def _refuse_if_illegal(self, command: Command, actor: Actor) -> None:
        try:
            authorize(command, actor.role)
        except Forbidden as err:
            raise ApplicationError(str(err), type=FORBIDDEN, non_retryable=True) from None
        try:
            check(command, self._state.status)
        except IllegalTransition as err:
            raise ApplicationError(str(err), type=ILLEGAL, non_retryable=True) from None

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

    def _start_clock(self, name: ClockName) -> None:
        s = self._state
        clock = clocks.start(name, s.sla_cycle, self._terms, s.priority, workflow.now())
        same = [c for c in s.clocks if c.name == name and c.cycle == s.sla_cycle]
        if name == "progress_cadence":  # one per cadence period: progress_cadence#<cycle>.<n>
            clock.id = f"{name}#{s.sla_cycle}.{len(same) + 1}"
        if s.awaiting_customer and self._terms.pause_when_awaiting_customer:
            clocks.pause(clock, self._terms.calendar, workflow.now())
        s.clocks.append(clock)

    def _satisfy(self, *names: ClockName) -> None:
        now = workflow.now()
        for c in self._state.clocks:
            if c.name in names:
                clocks.satisfy(c, self._terms.calendar, now)

    def _stop_clocks(self) -> None:
        now = workflow.now()
        for c in self._state.clocks:
            clocks.stop(c, self._terms.calendar, now)

    def _start_rehandling(self, actor: Actor, reason: str, evidence_ref: str | None) -> None:
        """Not satisfied: a new SLA cycle, one priority level higher; the old one stays."""
        s = self._state
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

    def _end(self, kind: str, actor: Actor, to: Status, reason: str | None) -> None:
        self._stop_clocks()
        self._state.closed_at = workflow.now()
        self._append(kind, actor, to=to, reason=reason)

    def _deadlines(self) -> dict[str, datetime]:
        return {c.id: c.due_at for c in self._state.clocks if c.open and c.due_at is not None}

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
        workflow.logger.info("request %s: %s by %s", state.number, kind, actor.id)

    def _refresh_sla(self) -> None:
        s = self._state
        if s.status.terminal:
            s.sla_state, s.next_deadline = SlaState.NONE, None
            return
        s.sla_state = clocks.colour(s.clocks, workflow.now())
        s.next_deadline = clocks.next_deadline(s.clocks)

    # ---- persistence ----

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
                publish(state, problem=f"persistence failing: {err.cause}")
                self._rearm = True
                return False
            state.persisted_seq = pending[-1].seq
            return True

    def _view(self) -> RequestView:
        return RequestView.of(self._state)


def _new_state(inp: ServiceRequestInput) -> RequestState:
    intake, terms, start = inp.intake, inp.terms, inp.received_at
    return RequestState(
        number=inp.number,
        status=Status.RECEIVED,
        priority=intake.priority,
        category=intake.category,
        channel=intake.channel,
        tier=intake.customer.tier,
        customer_id=intake.customer.id,
        received_at=start,
        policy_version=terms.policy_version,
        # The customer is owed a progress update one cadence after receipt.
        clocks=[clocks.start(name, 1, terms, intake.priority, start)
                for name in ("first_response", "plan", "resolution", "progress_cadence")],
    )


def _working(status: Status) -> Status:
    """Plan and progress move a freshly assigned request into work; re-handling stays so."""
    return Status.IN_PROGRESS if status is Status.ASSIGNED else status


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
