"""Supervisors steering a running request (SPEC §3.2, §4 compensation).

Every command is an Update whose validator refuses it with a reason when the state or the
caller's role does not allow it; accepted, it becomes an audited timeline event with its
actor. Commands that move a request between people call the assignment activities, so
capacity is checked where it is counted (PostgreSQL), never guessed in the workflow.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from csflow.contracts import (
        AssignmentMade,
        ChangePriorityCommand,
        Compensation,
        CompensationDecision,
        CompensationRequest,
        EscalateCommand,
        OrderRehandlingCommand,
        ReassignCommand,
        RequestView,
        UpdateCalendarCommand,
    )
    from csflow.domain import clocks
    from csflow.domain.lifecycle import Command, Status
    from workflows.request_base import ILLEGAL, RequestBase

_OPEN_WORK = (Status.ASSIGNED, Status.IN_PROGRESS, Status.REHANDLING)


class SupervisionHandlers(RequestBase):
    @workflow.update(name=Command.ESCALATE.value)
    async def escalate(self, cmd: EscalateCommand) -> RequestView:
        await self._begin(Command.ESCALATE, cmd.actor)
        s = self._state
        if cmd.priority is not None:
            self._require(_more_urgent(cmd.priority.value, s.priority.value),
                          f"escalation raises the priority; {cmd.priority.value} is not above "
                          f"{s.priority.value}")
        before_assignee = s.assignee
        if cmd.to_staff or cmd.to_department:
            moved = await self._transfer(to_staff=cmd.to_staff, to_department=cmd.to_department)
            if moved.assignee is None:
                raise ApplicationError(moved.rule, type=ILLEGAL, non_retryable=True)
            s.assignee, s.department, s.queued = moved.assignee, moved.department, False
        before = self._set_priority(cmd.priority) if cmd.priority else s.priority
        s.escalated_to = cmd.to_staff or cmd.to_department or s.escalated_to or "supervisor"
        to = Status.ESCALATED if s.status in _OPEN_WORK else None
        self._append("escalated", cmd.actor, to=to, reason=cmd.reason,
                     data={"priority_from": before, "priority_to": s.priority,
                           "from": before_assignee, "to": s.assignee,
                           "to_department": cmd.to_department, "deadlines": self._deadlines()})
        return await self._finish()

    @escalate.validator
    def _validate_escalate(self, cmd: EscalateCommand) -> None:
        self._refuse_if_illegal(Command.ESCALATE, cmd.actor)
        if cmd.priority is not None:
            self._require(_more_urgent(cmd.priority.value, self._state.priority.value),
                          f"escalation raises the priority; {cmd.priority.value} is not above "
                          f"{self._state.priority.value}")

    @workflow.update(name=Command.REASSIGN.value)
    async def reassign(self, cmd: ReassignCommand) -> RequestView:
        await self._begin(Command.REASSIGN, cmd.actor)
        s = self._state
        self._require(cmd.to_staff != s.assignee, f"{cmd.to_staff} already holds this request")
        moved = await self._transfer(to_staff=cmd.to_staff)
        if moved.assignee is None:
            raise ApplicationError(moved.rule, type=ILLEGAL, non_retryable=True)
        before = s.assignee
        s.assignee, s.department = moved.assignee, moved.department
        to = Status.ASSIGNED if s.queued else None
        s.queued = False
        self._append("reassigned", cmd.actor, to=to, reason=cmd.reason,
                     data={"from": before, "to": s.assignee, "department": s.department})
        return await self._finish()

    @reassign.validator
    def _validate_reassign(self, cmd: ReassignCommand) -> None:
        self._refuse_if_illegal(Command.REASSIGN, cmd.actor)
        self._require(cmd.to_staff != self._state.assignee,
                      f"{cmd.to_staff} already holds this request")

    @workflow.update(name=Command.ASSIGNMENT_MADE.value)
    async def assignment_made(self, cmd: AssignmentMade) -> RequestView:
        """The queue found someone: the waiting request is assigned."""
        await self._begin(Command.ASSIGNMENT_MADE, cmd.actor)
        self._require(self._state.queued, "the request is not waiting in the queue")
        s = self._state
        s.assignee, s.department, s.queued = cmd.assignee, cmd.department, False
        self._append("assigned", cmd.actor, to=Status.ASSIGNED, reason=cmd.rule,
                     data={"assignee": cmd.assignee, "department": cmd.department,
                           "from_queue": True})
        return await self._finish()

    @assignment_made.validator
    def _validate_assignment(self, cmd: AssignmentMade) -> None:
        self._refuse_if_illegal(Command.ASSIGNMENT_MADE, cmd.actor)
        self._require(self._state.queued, "the request is not waiting in the queue")

    @workflow.update(name=Command.ORDER_REHANDLING.value)
    async def order_rehandling(self, cmd: OrderRehandlingCommand) -> RequestView:
        await self._begin(Command.ORDER_REHANDLING, cmd.actor)
        s = self._state
        released = (Status.RESOLVED, Status.FOLLOW_UP_SCHEDULED, Status.FOLLOWED_UP)
        moving = cmd.assignee is not None and cmd.assignee != s.assignee
        if moving or (s.status in released and s.assignee):
            # Capacity was freed at confirmation: the previous holder takes it back if they
            # have room; the supervisor may name someone else in the same command.
            back = await self._transfer(to_staff=cmd.assignee or s.assignee)
            if back.assignee is None:
                raise ApplicationError(f"{back.rule}; order it again naming an assignee "
                                       "who has room", type=ILLEGAL, non_retryable=True)
            if moving:
                self._append("reassigned", cmd.actor, reason=cmd.reason,
                             data={"from": s.assignee, "to": back.assignee,
                                   "department": back.department})
                s.assignee, s.department = back.assignee, back.department
        self._start_rehandling(cmd.actor, cmd.reason, None)
        return await self._finish()

    @order_rehandling.validator
    def _validate_rehandling(self, cmd: OrderRehandlingCommand) -> None:
        self._refuse_if_illegal(Command.ORDER_REHANDLING, cmd.actor)

    @workflow.update(name=Command.REQUEST_COMPENSATION.value)
    async def request_compensation(self, cmd: CompensationRequest) -> RequestView:
        await self._begin(Command.REQUEST_COMPENSATION, cmd.actor)
        self._require(not _pending(self), "a compensation already waits for a decision")
        policy = self._terms.compensation
        needs = self._terms.needs_approval(cmd.amount)
        self._state.compensation = Compensation(
            amount=cmd.amount, currency=policy.currency,
            status="pending" if needs else "granted", requested_by=cmd.actor.id)
        kind = "compensation_requested" if needs else "compensation_granted"
        why = (f"above the agent limit of {policy.agent_limit} {policy.currency}"
               if cmd.amount > policy.agent_limit else "major complaint")
        self._append(kind, cmd.actor, reason=cmd.reason,
                     data={"amount": str(cmd.amount), "currency": policy.currency,
                           "needs_approval": needs, "why": why if needs else None,
                           "notify": ["supervisor"] if needs else None})
        return await self._finish()

    @request_compensation.validator
    def _validate_compensation(self, cmd: CompensationRequest) -> None:
        self._refuse_if_illegal(Command.REQUEST_COMPENSATION, cmd.actor)
        self._require(not _pending(self), "a compensation already waits for a decision")

    @workflow.update(name=Command.DECIDE_COMPENSATION.value)
    async def decide_compensation(self, cmd: CompensationDecision) -> RequestView:
        await self._begin(Command.DECIDE_COMPENSATION, cmd.actor)
        self._require(_pending(self), "no compensation waits for a decision")
        comp = self._state.compensation
        assert comp is not None
        comp.status, comp.decided_by = ("approved" if cmd.approve else "rejected"), cmd.actor.id
        self._append(f"compensation_{comp.status}", cmd.actor, reason=cmd.reason,
                     data={"amount": str(comp.amount), "currency": comp.currency})
        return await self._finish()

    @decide_compensation.validator
    def _validate_decision(self, cmd: CompensationDecision) -> None:
        self._refuse_if_illegal(Command.DECIDE_COMPENSATION, cmd.actor)
        self._require(_pending(self), "no compensation waits for a decision")

    @workflow.update(name=Command.CHANGE_PRIORITY.value)
    async def change_priority(self, cmd: ChangePriorityCommand) -> RequestView:
        await self._begin(Command.CHANGE_PRIORITY, cmd.actor)
        before = self._state.priority
        self._require(cmd.priority is not before, f"the priority is already {before.value}")
        self._set_priority(cmd.priority)
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


def _pending(base: RequestBase) -> bool:
    comp = base._state.compensation
    return comp is not None and comp.status == "pending"


def _more_urgent(new: str, old: str) -> bool:
    return new < old  # "P1" < "P2" < "P3"
