"""The request's commands: every Update, with its validator, in lifecycle order
(docs/contract.md lists their names, inputs and refusals).

Each handler is a few lines — check, effects, transition, persist — through what every
command shares, which is the workflow's (`_begin`, `_finish`, `_authority`, ... in
workflow.py): the guard the validator ran runs again once intake is done (the state may
have moved since), the effects are `effects.py`'s activities, the state change is
`transitions.py`'s (or `after_resolution.py`'s), and the answer returns only after the
events are persisted. Apart from the loop because a newcomer looks for "what does
`resolve` do" by the command's name, and finds every command here and nothing else.

`Commands` is a part of `ServiceRequestWorkflow` (workflow.py), not an object beside
it: the attributes it reads are the run's, set in the workflow's `__init__` and `run`
and declared below; the methods it calls are the workflow's. A handler's order of
workflow commands is the same wherever the code lives, so moving them here changed no
history (the recorded histories in tests/workflows/histories replay).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from temporalio import workflow
from temporalio.workflow import ChildWorkflowHandle

with workflow.unsafe.imports_passed_through():
    from csflow.activity_io import LinkedRequestInput
    from csflow.contracts import (
        Actor,
        AssignmentMade,
        CancelCommand,
        ChangePriorityCommand,
        CloseCommand,
        CompensationDecision,
        CompensationRequest,
        ConfirmCommand,
        CustomerRepliedCommand,
        EscalateCommand,
        ExplainBreachCommand,
        FollowUpRecord,
        ImprovementResult,
        OrderRehandlingCommand,
        PlanCommand,
        ProgressCommand,
        ReassignCommand,
        ReceiptQuery,
        RecordCauseCommand,
        RequestState,
        ResolveCommand,
        ReviewBreachCommand,
        ServiceRequestInput,
        UpdateCalendarCommand,
        UpdateResult,
        WaitForCustomerCommand,
    )
    from csflow.contracts.intake import problem_reference
    from csflow.domain.events import EventKind
    from csflow.domain.lifecycle import Command, Status
    from csflow.domain.terms import RequestTerms
    from workflows.service_request import after_resolution, effects, guards, transitions
    from workflows.service_request.patches import (
        BY_REFERENCE_PATCH,
        CLOSE_PATCH,
        COMPENSATION_TOTAL_PATCH,
        LADDER_AFTER_PAUSE_PATCH,
        REARM_PATCH,
    )
    from workflows.service_request.timeline import Timeline

C = TypeVar("C")
Guard = Callable[[RequestState, C, guards.Banned], None]


class Commands:
    """The Updates of `ServiceRequestWorkflow`."""

    # The workflow's, set in its `__init__` (`_terms` and `_banned` by `run` for a
    # caller's start that leaves the terms out).
    _input: ServiceRequestInput
    _state: RequestState
    _timeline: Timeline
    _terms: RequestTerms
    _banned: guards.Banned
    _ready: bool
    _children: dict[str, ChildWorkflowHandle[Any, ImprovementResult]]

    if TYPE_CHECKING:  # the workflow's too (workflow.py)

        def _patched(self, patch: str) -> bool: ...

        async def _begin(self, guard: Guard[C], cmd: C, at: datetime | None = None) -> datetime: ...

        def _validate_at(self, at: datetime | None) -> None: ...

        def _authority(
            self, command: Command, actor: Actor, *, validating: bool = False
        ) -> None: ...

        def _soothing(self, text: str | None, *, validating: bool = False) -> None: ...

        async def _finish(self, imported: datetime | None = None) -> UpdateResult: ...

        async def _confirmed(self, at: datetime | None = None) -> None: ...

        async def _end_by_command(
            self,
            kind: EventKind,
            actor: Actor,
            to: Status,
            reason: str | None,
            data: dict[str, Any] | None = None,
            at: datetime | None = None,
        ) -> UpdateResult: ...

        def _answer(self) -> UpdateResult: ...

    @workflow.update(name="receipt")
    async def receipt(self, _: ReceiptQuery) -> UpdateResult:
        """Returns once intake is persisted and the request is assigned."""
        await workflow.wait_condition(lambda: self._ready)
        return self._answer()

    @workflow.update(name=Command.ASSIGNMENT_MADE.value)
    async def assignment_made(self, cmd: AssignmentMade) -> UpdateResult:
        """The queue found someone: the waiting request is assigned."""
        await self._begin(guards.assignment_made, cmd)
        transitions.assignment_made(self._timeline, cmd, workflow.now())
        return await self._finish()

    @assignment_made.validator
    def _validate_assignment_made(self, cmd: AssignmentMade) -> None:
        guards.assignment_made(self._state, cmd, self._banned)

    @workflow.update(name=Command.SUBMIT_PLAN.value)
    async def submit_plan(self, cmd: PlanCommand) -> UpdateResult:
        now = await self._begin(guards.submit_plan, cmd, cmd.at)
        transitions.submit_plan(self._timeline, self._terms, cmd, now)
        return await self._finish(cmd.at)

    @submit_plan.validator
    def _validate_submit_plan(self, cmd: PlanCommand) -> None:
        guards.submit_plan(self._state, cmd, self._banned)
        self._validate_at(cmd.at)

    @workflow.update(name=Command.POST_PROGRESS.value)
    async def post_progress(self, cmd: ProgressCommand) -> UpdateResult:
        now = await self._begin(guards.post_progress, cmd, cmd.at)
        self._authority(Command.POST_PROGRESS, cmd.actor)
        self._soothing(cmd.note)
        transitions.post_progress(self._timeline, self._terms, cmd, now)
        return await self._finish(cmd.at)

    @post_progress.validator
    def _validate_post_progress(self, cmd: ProgressCommand) -> None:
        guards.post_progress(self._state, cmd, self._banned)
        self._authority(Command.POST_PROGRESS, cmd.actor, validating=True)
        self._soothing(cmd.note, validating=True)
        self._validate_at(cmd.at)

    @workflow.update(name=Command.WAIT_FOR_CUSTOMER.value)
    async def wait_for_customer(self, cmd: WaitForCustomerCommand) -> UpdateResult:
        await self._begin(guards.wait_for_customer, cmd)
        transitions.wait_for_customer(self._timeline, self._terms, cmd, workflow.now())
        return await self._finish()

    @wait_for_customer.validator
    def _validate_wait_for_customer(self, cmd: WaitForCustomerCommand) -> None:
        guards.wait_for_customer(self._state, cmd, self._banned)

    @workflow.update(name=Command.CUSTOMER_REPLIED.value)
    async def customer_replied(self, cmd: CustomerRepliedCommand) -> UpdateResult:
        await self._begin(guards.customer_replied, cmd)
        transitions.customer_replied(
            self._timeline,
            self._terms,
            cmd,
            workflow.now(),
            shift_ladder=self._patched(LADDER_AFTER_PAUSE_PATCH),
        )
        return await self._finish()

    @customer_replied.validator
    def _validate_customer_replied(self, cmd: CustomerRepliedCommand) -> None:
        guards.customer_replied(self._state, cmd, self._banned)

    @workflow.update(name=Command.CHANGE_PRIORITY.value)
    async def change_priority(self, cmd: ChangePriorityCommand) -> UpdateResult:
        await self._begin(guards.change_priority, cmd)
        transitions.change_priority(
            self._timeline, self._terms, cmd, workflow.now(), rearm=self._patched(REARM_PATCH)
        )
        return await self._finish()

    @change_priority.validator
    def _validate_change_priority(self, cmd: ChangePriorityCommand) -> None:
        guards.change_priority(self._state, cmd, self._banned)

    @workflow.update(name=Command.UPDATE_CALENDAR.value)
    async def update_calendar(self, cmd: UpdateCalendarCommand) -> UpdateResult:
        await self._begin(guards.update_calendar, cmd)
        guards.same_team(self._terms.calendar, cmd)
        if cmd.calendar.version == self._terms.calendar.version:
            return self._answer()  # already on this calendar: a repeated push changes nothing
        self._terms = transitions.update_calendar(self._timeline, self._terms, cmd, workflow.now())
        return await self._finish()

    @update_calendar.validator
    def _validate_update_calendar(self, cmd: UpdateCalendarCommand) -> None:
        guards.update_calendar(self._state, cmd, self._banned)
        if self._ready:  # intake resolved the terms: the calendar is known
            guards.same_team(self._terms.calendar, cmd)

    @workflow.update(name=Command.ESCALATE.value)
    async def escalate(self, cmd: EscalateCommand) -> UpdateResult:
        await self._begin(guards.escalate, cmd)
        moved = None
        if cmd.to_staff or cmd.to_department:
            moved = await effects.transfer(self._state.number, cmd.to_staff, cmd.to_department)
            guards.moved(moved.assignee, moved.rule)
        transitions.escalate(
            self._timeline,
            self._terms,
            cmd,
            moved,
            workflow.now(),
            rearm=self._patched(REARM_PATCH),
        )
        return await self._finish()

    @escalate.validator
    def _validate_escalate(self, cmd: EscalateCommand) -> None:
        guards.escalate(self._state, cmd, self._banned)

    @workflow.update(name=Command.REASSIGN.value)
    async def reassign(self, cmd: ReassignCommand) -> UpdateResult:
        await self._begin(guards.reassign, cmd)
        moved = await effects.transfer(self._state.number, to_staff=cmd.to_staff)
        guards.moved(moved.assignee, moved.rule)
        transitions.reassign(self._timeline, cmd, moved, workflow.now())
        return await self._finish()

    @reassign.validator
    def _validate_reassign(self, cmd: ReassignCommand) -> None:
        guards.reassign(self._state, cmd, self._banned)

    @workflow.update(name=Command.REQUEST_COMPENSATION.value)
    async def request_compensation(self, cmd: CompensationRequest) -> UpdateResult:
        await self._begin(guards.request_compensation, cmd)
        self._authority(Command.REQUEST_COMPENSATION, cmd.actor)
        running_total = not transitions.compensation_total(self._state) or self._patched(
            COMPENSATION_TOTAL_PATCH
        )
        transitions.request_compensation(
            self._timeline, self._terms, cmd, workflow.now(), running_total=running_total
        )
        return await self._finish()

    @request_compensation.validator
    def _validate_request_compensation(self, cmd: CompensationRequest) -> None:
        guards.request_compensation(self._state, cmd, self._banned)
        self._authority(Command.REQUEST_COMPENSATION, cmd.actor, validating=True)

    @workflow.update(name=Command.DECIDE_COMPENSATION.value)
    async def decide_compensation(self, cmd: CompensationDecision) -> UpdateResult:
        await self._begin(guards.decide_compensation, cmd)
        self._authority(Command.DECIDE_COMPENSATION, cmd.actor)
        transitions.decide_compensation(self._timeline, cmd, workflow.now())
        return await self._finish()

    @decide_compensation.validator
    def _validate_decide_compensation(self, cmd: CompensationDecision) -> None:
        guards.decide_compensation(self._state, cmd, self._banned)
        self._authority(Command.DECIDE_COMPENSATION, cmd.actor, validating=True)

    @workflow.update(name=Command.RESOLVE.value)
    async def resolve(self, cmd: ResolveCommand) -> UpdateResult:
        now = await self._begin(guards.resolve, cmd, cmd.at)
        self._authority(Command.RESOLVE, cmd.actor)
        self._soothing(cmd.summary)
        transitions.resolve(self._timeline, self._terms, cmd, now)
        return await self._finish(cmd.at)

    @resolve.validator
    def _validate_resolve(self, cmd: ResolveCommand) -> None:
        guards.resolve(self._state, cmd, self._banned)
        self._authority(Command.RESOLVE, cmd.actor, validating=True)
        self._soothing(cmd.summary, validating=True)
        self._validate_at(cmd.at)

    @workflow.update(name=Command.CONFIRM.value)
    async def confirm(self, cmd: ConfirmCommand) -> UpdateResult:
        now = await self._begin(guards.confirm, cmd, cmd.at)
        if cmd.satisfied:
            transitions.customer_confirmed(self._timeline, self._terms, cmd, now)
            await self._confirmed(cmd.at)
        else:
            transitions.start_rehandling(
                self._timeline,
                self._terms,
                cmd.actor,
                cmd.reason or "",
                cmd.evidence_ref,
                now,
            )
        return await self._finish(cmd.at)

    @confirm.validator
    def _validate_confirm(self, cmd: ConfirmCommand) -> None:
        guards.confirm(self._state, cmd, self._banned)
        self._validate_at(cmd.at)

    @workflow.update(name=Command.ORDER_REHANDLING.value)
    async def order_rehandling(self, cmd: OrderRehandlingCommand) -> UpdateResult:
        await self._begin(guards.order_rehandling, cmd)
        to_staff = transitions.rehandling_transfer(self._state, cmd)
        if to_staff is not None:
            back = await effects.transfer(self._state.number, to_staff=to_staff)
            guards.moved(
                back.assignee, f"{back.rule}; order it again naming an assignee who has room"
            )
            transitions.taken_back(self._timeline, cmd, back, workflow.now())
        transitions.start_rehandling(
            self._timeline, self._terms, cmd.actor, cmd.reason, None, workflow.now()
        )
        return await self._finish()

    @order_rehandling.validator
    def _validate_order_rehandling(self, cmd: OrderRehandlingCommand) -> None:
        guards.order_rehandling(self._state, cmd, self._banned)

    @workflow.update(name=Command.RECORD_FOLLOW_UP.value)
    async def record_follow_up(self, rec: FollowUpRecord) -> UpdateResult:
        recorded = await self._begin(guards.record_follow_up, rec, rec.at)
        tl, t = self._timeline, self._terms
        negative = after_resolution.follow_up_recorded(tl, t, rec, recorded)
        for i, need in enumerate(rec.new_needs, start=1):
            number = await effects.open_linked_request(
                LinkedRequestInput(
                    parent=self._state.number, index=i, intake=self._input.intake, need=need
                )
            )
            after_resolution.linked_request_opened(tl, rec, need, number, rec.at or workflow.now())
        if negative:
            now = rec.at or workflow.now()
            task = after_resolution.improvement_input(self._state, t, rec, now)
            child = task
            if self._patched(BY_REFERENCE_PATCH):  # the child gets no customer words
                child = task.model_copy(update={"problem": problem_reference(task.task_id)})
            self._children[task.task_id] = await effects.start_improvement(
                child, f"improvement for {task.number} · {task.department}"
            )
            chosen_by = rec.actor.id if rec.improvement_department else None
            after_resolution.improvement_opened(tl, t, task, now, chosen_by)
        return await self._finish(rec.at)

    @record_follow_up.validator
    def _validate_record_follow_up(self, rec: FollowUpRecord) -> None:
        guards.record_follow_up(self._state, rec, self._banned)
        self._validate_at(rec.at)

    @workflow.update(name=Command.EXPLAIN_BREACH.value)
    async def explain_breach(self, cmd: ExplainBreachCommand) -> UpdateResult:
        """The owner's reason for a missed deadline (a reason key checked at the edge)."""
        await self._begin(guards.explain_breach, cmd)
        breach = guards.breach_of(self._state, cmd.clock)
        assert breach is not None  # the guard checked it
        transitions.explain_breach(self._timeline, cmd, breach.data, workflow.now())
        return await self._finish()

    @explain_breach.validator
    def _validate_explain_breach(self, cmd: ExplainBreachCommand) -> None:
        guards.explain_breach(self._state, cmd, self._banned)

    @workflow.update(name=Command.REVIEW_BREACH.value)
    async def review_breach(self, cmd: ReviewBreachCommand) -> UpdateResult:
        """A supervisor accepts or rejects the latest explanation of a breach."""
        await self._begin(guards.review_breach, cmd)
        transitions.review_breach(self._timeline, cmd, workflow.now())
        return await self._finish()

    @review_breach.validator
    def _validate_review_breach(self, cmd: ReviewBreachCommand) -> None:
        guards.review_breach(self._state, cmd, self._banned)

    @workflow.update(name=Command.RECORD_CAUSE.value)
    async def record_cause(self, cmd: RecordCauseCommand) -> UpdateResult:
        """Record or correct the root cause of the complaint or of an improvement task."""
        await self._begin(guards.record_cause, cmd)
        transitions.record_cause(self._timeline, cmd, workflow.now())
        return await self._finish()

    @record_cause.validator
    def _validate_record_cause(self, cmd: RecordCauseCommand) -> None:
        guards.record_cause(self._state, cmd, self._banned)

    @workflow.update(name=Command.CLOSE.value)
    async def close(self, cmd: CloseCommand) -> UpdateResult:
        await self._begin(guards.close, cmd, cmd.at)
        data = None
        if self._patched(CLOSE_PATCH):
            guards.close_keeps_its_word(self._state, cmd, self._terms.skip_follow_up_roles)
            if guards.skips_follow_up(self._state):
                data = transitions.skipped_follow_up(self._state, cmd.actor)
        return await self._end_by_command(
            EventKind.CLOSED, cmd.actor, Status.CLOSED, cmd.reason, data, cmd.at
        )

    @close.validator
    def _validate_close(self, cmd: CloseCommand) -> None:
        guards.close(self._state, cmd, self._banned)
        guards.close_keeps_its_word(self._state, cmd, self._terms.skip_follow_up_roles)
        self._validate_at(cmd.at)

    @workflow.update(name=Command.CANCEL.value)
    async def cancel(self, cmd: CancelCommand) -> UpdateResult:
        await self._begin(guards.cancel, cmd)
        return await self._end_by_command(
            EventKind.CANCELLED, cmd.actor, Status.CANCELLED, cmd.reason
        )

    @cancel.validator
    def _validate_cancel(self, cmd: CancelCommand) -> None:
        guards.cancel(self._state, cmd, self._banned)
