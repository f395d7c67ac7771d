"""ImprovementTask: negative feedback turned into a change (docs/requirements.md §3.7).

A child of the request that received the feedback, so the request's history shows the
whole loop and waits for it: the responsible department has 72 h (policy) to say what
changed; past the deadline the task escalates on its own, to the department head and then
the director. Closing it returns "what changed" to the parent, which tells the customer.
"""

from __future__ import annotations

import contextlib

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError

    from csflow.contracts import (
        CompleteImprovement,
        ImprovementInput,
        ImprovementResult,
        ImprovementRow,
    )
    from csflow.domain.lifecycle import TaskCommand
    from workflows.improvement import effects, guards, transitions


# An overdue task's escalation is sent to the resolved people (before: only recorded).
NOTICE_PATCH = "improvement-escalation-notices"
# An escalation that fell due before the task existed — negative feedback recorded by hand
# during an outage and imported (docs/import.md) — is recorded, not sent.
QUIET_BACKLOG_PATCH = "improvement-quiet-backlog"


@workflow.defn(name="ImprovementTask", failure_exception_types=[ValidationError])
class ImprovementTaskWorkflow:
    @workflow.init
    def __init__(self, inp: ImprovementInput) -> None:
        self._banned = inp.terms.banned_phrases
        self._row = transitions.opened(inp)
        self._escalations: list[str] = []
        self._done: CompleteImprovement | None = None

    @workflow.run
    async def run(self, inp: ImprovementInput) -> ImprovementResult:
        started = workflow.now()
        await effects.save(self._row)
        for to, at in transitions.escalation_deadlines(self._row):
            timeout = (at - workflow.now()).total_seconds()
            with contextlib.suppress(TimeoutError):
                if timeout > 0:
                    await workflow.wait_condition(
                        lambda: self._done is not None,
                        timeout=timeout,
                        timeout_summary=f"escalate to {to}",
                    )
            if self._done is not None:
                break
            transitions.overdue(self._row, self._escalations, to)
            workflow.logger.warning(
                "improvement %s overdue: escalated to %s", self._row.task_id, to
            )
            await effects.save(self._row)
            history = at < started and workflow.patched(QUIET_BACKLOG_PATCH)
            if workflow.patched(NOTICE_PATCH) and not history:
                await effects.tell_overdue(self._row, to)
        await workflow.wait_condition(lambda: self._done is not None)
        assert self._done is not None
        result = transitions.closed(self._row, self._done, workflow.now())
        await effects.save(self._row)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return result

    @workflow.update(name=TaskCommand.COMPLETE_IMPROVEMENT.value)
    async def complete(self, cmd: CompleteImprovement) -> ImprovementRow:
        guards.complete(self._done, cmd, self._banned)
        self._done = cmd
        await workflow.wait_condition(lambda: self._row.status == "closed")
        return self._row

    @complete.validator
    def _validate_complete(self, cmd: CompleteImprovement) -> None:
        guards.complete(self._done, cmd, self._banned)

    @workflow.query(name="get_task")
    def get_task(self) -> ImprovementRow:
        return self._row

    @workflow.query(name="escalations")
    def escalations(self) -> list[str]:
        return self._escalations
