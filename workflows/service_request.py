"""The ServiceRequest entity workflow: one long-lived execution per request (SPEC §3).

Shape: `run` performs intake and assignment, then sleeps until the next SLA firing (a
warning, a breach, a ladder step) or until a command changes the clocks. Commands are
Updates whose validators refuse illegal transitions before anything reaches history; each
accepted command mutates the state synchronously (so concurrent Updates never interleave
mid-change), appends timeline events and returns only after they are persisted, so a
caller's 200 means "in PostgreSQL". The SLA terms arrive resolved in the input: a replay
never reads the policy file. A caller outside Python (docs/contract.md) leaves them out
and numbers the request itself; the workflow then checks the number and resolves the terms
through an activity, whose result history keeps for replays just the same.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError

    from activities.assignment import AssignmentActivities
    from activities.terms import TERMS_UNAVAILABLE, TermsActivities
    from csflow.activity_io import ResolveTermsInput, TriageInput
    from csflow.contracts import (
        SYSTEM,
        Actor,
        CancelCommand,
        CloseCommand,
        ConfirmCommand,
        CustomerRepliedCommand,
        Plan,
        PlanCommand,
        ProgressCommand,
        ReceiptQuery,
        RequestState,
        RequestView,
        ResolveCommand,
        ServiceRequestInput,
        WaitForCustomerCommand,
    )
    from csflow.domain import clocks
    from csflow.domain.codes import Role
    from csflow.domain.escalation import EscalationAction
    from csflow.domain.lifecycle import Command, Status
    from csflow.domain.terms import RequestTerms
    from workflows import options
    from workflows.caller_start import INVALID_START, start_problem
    from workflows.follow_up import AFTER_RESOLUTION, FollowUpHandlers
    from workflows.request_base import PERSIST_RETRY_AFTER, SLA_CLOCKS

INTAKE_ACTOR = Actor(id="intake", role=Role.SERVICE)
DIRECTOR = "director"


@workflow.defn(name="ServiceRequest", failure_exception_types=[ValidationError])
class ServiceRequestWorkflow(FollowUpHandlers):
    @workflow.init
    def __init__(self, inp: ServiceRequestInput) -> None:
        self._input = inp
        if inp.terms is not None:  # otherwise `run` resolves them before anything uses them
            self._terms = inp.terms
        self._state = inp.carried or _new_state(inp, inp.terms)
        self._ready = inp.carried is not None
        self._opened_at = None if inp.carried is not None else workflow.now()
        self._rearm = False
        self._lock = asyncio.Lock()
        self._children = {}
        self._sends = []

    # ---- main loop ----

    @workflow.run
    async def run(self, inp: ServiceRequestInput) -> RequestView:
        if inp.terms is None:
            await self._adopt_caller_start(inp)
        if not self._ready:
            await self._intake(inp)
            self._ready = True
        while not self._state.status.terminal:
            await self._sleep_until_something_changes()
            await self._fire_due()
            await self._collect_improvements()
            if workflow.info().is_continue_as_new_suggested() and not self._children:
                await workflow.wait_condition(workflow.all_handlers_finished)
                await self._persist_before_leaving()
                workflow.continue_as_new(inp.model_copy(
                    update={"terms": self._terms, "carried": self._state}))
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._persist_before_leaving()
        return self._view()

    async def _adopt_caller_start(self, inp: ServiceRequestInput) -> None:
        """A start from outside csflow's starter: check what the caller chose, then resolve
        the terms the starter would have sent.

        Every refusal is an ApplicationError raised from `run`, so the workflow fails at
        once with the reason — never a workflow task retried forever — and nothing has been
        persisted or sent yet.
        """
        problem = start_problem(inp, workflow.info().workflow_id, workflow.now())
        if problem is not None:
            raise ApplicationError(problem, type=INVALID_START, non_retryable=True)
        try:
            terms = await workflow.execute_activity_method(
                TermsActivities.resolve_terms,
                ResolveTermsInput(intake=inp.intake, received_at=inp.received_at),
                start_to_close_timeout=options.ASSIGN_TIMEOUT,
                retry_policy=options.ASSIGN_RETRY,
                summary="resolve SLA terms from the policy",
            )
        except ActivityError as err:
            raise ApplicationError(f"could not resolve the SLA terms: {err.cause}",
                                   type=TERMS_UNAVAILABLE, non_retryable=True) from err
        self._terms = terms
        self._state.policy_version = terms.policy_version
        self._state.clocks = _sla_clocks(inp, terms)

    async def _intake(self, inp: ServiceRequestInput) -> None:
        intake, s = inp.intake, self._state
        triage = await workflow.execute_activity_method(
            AssignmentActivities.triage,
            TriageInput(number=inp.number, customer_id=intake.customer.id,
                        category=intake.category, sub_type=intake.sub_type,
                        priority=intake.priority, tier=intake.customer.tier,
                        description=intake.description, received_at=inp.received_at),
            start_to_close_timeout=options.ASSIGN_TIMEOUT,
            retry_policy=options.ASSIGN_RETRY,
        )
        s.flags = [f"emotion:{k}" for k in triage.emotion]
        if triage.emotion:
            s.flags.append("soothe_first")  # a person answers first, and gently
        s.repeat_of = triage.repeat_of
        self._append(
            "received", intake.recorded_by or INTAKE_ACTOR, to=Status.RECEIVED,
            data={"channel": intake.channel, "category": intake.category,
                  "priority": intake.priority, "tier": intake.customer.tier,
                  "policy_version": self._terms.policy_version,
                  "calendar_version": self._terms.calendar.version,
                  "deadlines": self._deadlines(), "flags": s.flags or None,
                  "repeat_of": s.repeat_of or None},
        )
        if triage.repeat_of:
            before = self._set_priority(s.priority.raised())
            s.escalated_to = "supervisor"
            self._append("escalated", SYSTEM,
                         reason=f"repeat complaint: {', '.join(triage.repeat_of)}",
                         data={"priority_from": before, "priority_to": s.priority,
                               "repeat_of": triage.repeat_of, "automatic": True,
                               "notify": ["supervisor"]})
        if triage.assignee is None:
            s.queued = True
            self._append("queued", SYSTEM, reason=triage.rule,
                         data={"category": intake.category, "notify": ["supervisor"]})
        else:
            s.assignee, s.department = triage.assignee, triage.department
            self._append("assigned", SYSTEM, to=Status.ASSIGNED, reason=triage.rule,
                         data={"assignee": triage.assignee, "department": triage.department})
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
                lambda: self._rearm or self._state.status.terminal
                or any(c.done() for c in self._children.values()),
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
            if f.clock.name in AFTER_RESOLUTION:
                await self._on_deadline(f)
            else:
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
        self._compliant(cmd.note)  # the note goes to the customer

    @workflow.update(name=Command.RESOLVE.value)
    async def resolve(self, cmd: ResolveCommand) -> RequestView:
        await self._begin(Command.RESOLVE, cmd.actor)
        comp = self._state.compensation
        self._require(comp is None or comp.status != "pending",
                      "a compensation waits for the supervisor's decision")
        self._satisfy("first_response", "plan", "resolution")
        self._stop_clocks()
        self._state.awaiting_customer = False
        self._append("resolution_proposed", cmd.actor, to=Status.AWAITING_CONFIRMATION,
                     reason=cmd.summary)
        self._ask_confirmation()
        return await self._finish()

    @resolve.validator
    def _validate_resolve(self, cmd: ResolveCommand) -> None:
        self._refuse_if_illegal(Command.RESOLVE, cmd.actor)
        self._compliant(cmd.summary)
        comp = self._state.compensation
        self._require(comp is None or comp.status != "pending",
                      "a compensation waits for the supervisor's decision")

    @workflow.update(name=Command.CONFIRM.value)
    async def confirm(self, cmd: ConfirmCommand) -> RequestView:
        await self._begin(Command.CONFIRM, cmd.actor)
        if cmd.satisfied:
            self._satisfy("confirmation")
            self._append("customer_confirmed", cmd.actor, to=Status.RESOLVED, reason=cmd.reason,
                         data={"evidence_ref": cmd.evidence_ref})
            await self._confirmed()
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
        await self._release()
        return await self._finish()

    @close.validator
    def _validate_close(self, cmd: CloseCommand) -> None:
        self._refuse_if_illegal(Command.CLOSE, cmd.actor)

    @workflow.update(name=Command.CANCEL.value)
    async def cancel(self, cmd: CancelCommand) -> RequestView:
        await self._begin(Command.CANCEL, cmd.actor)
        self._end("cancelled", cmd.actor, Status.CANCELLED, cmd.reason)
        await self._release()
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

    @workflow.query(name="get_state")
    def get_state(self) -> RequestView:
        return self._view()

def _new_state(inp: ServiceRequestInput, terms: RequestTerms | None) -> RequestState:
    """The state at receipt; without terms yet, no clocks until `run` resolves them."""
    intake, start = inp.intake, inp.received_at
    return RequestState(
        number=inp.number,
        status=Status.RECEIVED,
        priority=intake.priority,
        category=intake.category,
        channel=intake.channel,
        tier=intake.customer.tier,
        customer_id=intake.customer.id,
        received_at=start,
        policy_version=terms.policy_version if terms else "",
        clocks=_sla_clocks(inp, terms) if terms else [],
    )


def _sla_clocks(inp: ServiceRequestInput, terms: RequestTerms) -> list[clocks.Clock]:
    """Every SLA clock runs from receipt, whenever the terms became known."""
    # The customer is owed a progress update one cadence after receipt.
    return [clocks.start(name, 1, terms, inp.intake.priority, inp.received_at)
            for name in SLA_CLOCKS]


def _working(status: Status) -> Status:
    """Plan and progress move a freshly assigned request into work; re-handling stays so."""
    return Status.IN_PROGRESS if status is Status.ASSIGNED else status
