"""ImprovementTask: negative feedback turned into a change (SPEC §3.7).

A child of the request that received the feedback, so the request's history shows the
whole loop and waits for it: the responsible department has 72 h (policy) to say what
changed; past the deadline the task escalates on its own, to the department head and then
the director. Closing it returns "what changed" to the parent, which tells the customer.
"""

from __future__ import annotations

import contextlib

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError

    from activities.followup import FollowUpActivities
    from csflow.contracts import (
        CompleteImprovement,
        ImprovementInput,
        ImprovementResult,
        ImprovementRow,
    )
    from csflow.domain.codes import Role
    from csflow.notify.compliance import ComplianceError, check_compliance
    from workflows import options

# After the deadline: department head at once, the director one window later.
ESCALATE_TO = ("department_head", "director")
_STEWARDS = frozenset({Role.AGENT, Role.ENGINEER, Role.SUPERVISOR, Role.ADMIN, Role.SERVICE})


@workflow.defn(name="ImprovementTask", failure_exception_types=[ValidationError])
class ImprovementTaskWorkflow:
    @workflow.init
    def __init__(self, inp: ImprovementInput) -> None:
        window = inp.terms.improvement_window
        self._banned = inp.terms.banned_phrases
        self._row = ImprovementRow(
            task_id=inp.task_id, number=inp.number, department=inp.department,
            problem=inp.problem, score=inp.score, status="open", opened_at=inp.opened_at,
            due_at=window.due(inp.terms.calendar, inp.opened_at))
        self._escalations: list[str] = []
        self._done: CompleteImprovement | None = None

    @workflow.run
    async def run(self, inp: ImprovementInput) -> ImprovementResult:
        await self._save()
        deadlines = [self._row.due_at, self._row.due_at + (self._row.due_at - inp.opened_at)]
        for to, at in zip(ESCALATE_TO, deadlines, strict=True):
            timeout = (at - workflow.now()).total_seconds()
            with contextlib.suppress(TimeoutError):
                if timeout > 0:
                    await workflow.wait_condition(lambda: self._done is not None,
                                                  timeout=timeout,
                                                  timeout_summary=f"escalate to {to}")
            if self._done is not None:
                break
            self._row.status = "overdue"
            self._escalations.append(to)
            workflow.logger.warning("improvement %s overdue: escalated to %s",
                                    self._row.task_id, to)
            await self._save()
        await workflow.wait_condition(lambda: self._done is not None)
        done = self._done
        assert done is not None
        self._row.status, self._row.closed_at = "closed", workflow.now()
        self._row.closed_by, self._row.what_changed = done.actor.id, done.what_changed
        await self._save()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return ImprovementResult(task_id=self._row.task_id, what_changed=done.what_changed,
                                 closed_by=done.actor.id, closed_at=self._row.closed_at)

    @workflow.update(name="complete_improvement")
    async def complete(self, cmd: CompleteImprovement) -> ImprovementRow:
        self._done = cmd
        await workflow.wait_condition(lambda: self._row.status == "closed")
        return self._row

    @complete.validator
    def _validate_complete(self, cmd: CompleteImprovement) -> None:
        try:
            check_compliance(cmd.what_changed, self._banned)  # the customer reads it
        except ComplianceError as err:
            raise ApplicationError(str(err), type="Compliance", non_retryable=True) from None
        if self._done is not None:
            raise ApplicationError("the improvement task is already closed",
                                   type="IllegalTransition", non_retryable=True)
        if cmd.actor.role not in _STEWARDS:
            raise ApplicationError(
                f"complete_improvement needs one of the roles: agent, engineer, supervisor, "
                f"admin, service (caller is {cmd.actor.role.value})", type="Forbidden",
                non_retryable=True)

    @workflow.query(name="get_task")
    def get_task(self) -> ImprovementRow:
        return self._row

    @workflow.query(name="escalations")
    def escalations(self) -> list[str]:
        return self._escalations

    async def _save(self) -> None:
        await workflow.execute_activity_method(
            FollowUpActivities.save_improvement, self._row,
            start_to_close_timeout=options.PERSIST_TIMEOUT, retry_policy=options.PERSIST_RETRY)
