"""After resolution (SPEC §3.4–3.7): confirmation, the follow-up visit, silent customers,
linked new needs and the negative-feedback loop.

Every wait here is a deadline on the same clock engine as the SLA (`confirmation#N`,
`follow_up#N`, `reactivation#N`, `silence#N`), so they are durable, exact to the second
and visible in the UI's details like any other deadline.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.workflow import ChildWorkflowHandle, ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.followup import FollowUpActivities
    from csflow.activity_io import LinkedRequestInput, PlanFollowUpInput
    from csflow.contracts import (
        SYSTEM,
        FollowUpRecord,
        FollowUpState,
        ImprovementInput,
        ImprovementResult,
        RequestView,
    )
    from csflow.domain import clocks
    from csflow.domain.lifecycle import Command, Status
    from workflows import options
    from workflows.supervision import SupervisionHandlers

AFTER_RESOLUTION = frozenset({"confirmation", "follow_up", "reactivation", "silence"})
DEFAULT_DEPARTMENT = "customer-service"


class FollowUpHandlers(SupervisionHandlers):
    _children: dict[str, ChildWorkflowHandle[Any, ImprovementResult]]

    # ---- confirmation ----

    def _ask_confirmation(self) -> None:
        t = self._terms
        self._state.clocks.append(clocks.start_deadline(
            "confirmation", self._state.sla_cycle, t.confirmation_window, t, workflow.now(),
            warn=False))

    async def _confirmed(self) -> None:
        """Resolved: the handler's capacity is free, and the follow-up is planned."""
        await self._release()
        await self._schedule_follow_up()

    async def _schedule_follow_up(self) -> None:
        s, t, now = self._state, self._terms, workflow.now()
        cycle = s.sla_cycle
        clock = clocks.start_deadline("follow_up", cycle, t.follow_up, t, now, warn=True)
        assert clock.due_at is not None
        silence_from = t.reactivation_after.due(t.calendar, now)
        expires = t.silent_after.due(t.calendar, silence_from)
        plan = await workflow.execute_activity_method(
            FollowUpActivities.plan_follow_up,
            PlanFollowUpInput(number=s.number, cycle=cycle, due_at=clock.due_at,
                              expires_at=expires, language=self._input.intake.customer.language),
            start_to_close_timeout=options.ASSIGN_TIMEOUT, retry_policy=options.ASSIGN_RETRY)
        s.clocks.append(clock)
        s.clocks.append(clocks.start_deadline("reactivation", cycle, t.reactivation_after, t,
                                              now, warn=False))
        s.follow_up = FollowUpState(owner=plan.owner, due_at=clock.due_at, cycle=cycle,
                                    survey_url=plan.survey_url)
        self._append("follow_up_scheduled", SYSTEM, to=Status.FOLLOW_UP_SCHEDULED, at=now,
                     reason=f"{t.service_class} service: follow up within {t.follow_up.duration}",
                     data={"due_at": clock.due_at, "owner": plan.owner,
                           "method": "phone, then questionnaire", "service_class":
                           t.service_class, "survey_url": plan.survey_url, "cycle": cycle})

    # ---- deadlines after resolution ----

    async def _on_deadline(self, f: clocks.Firing) -> None:
        s, t, name = self._state, self._terms, f.clock.name
        data: dict[str, Any] = {"clock": f.clock.id, "due_at": f.clock.due_at}
        if name == "confirmation":
            self._append("confirmed_by_timeout", SYSTEM, to=Status.RESOLVED, at=f.at,
                         reason=f"no answer within {t.confirmation_window.duration}: "
                         "confirmed by timeout", data=data)
            await self._confirmed()
        elif name == "follow_up" and f.kind is clocks.FiringKind.WARNING:
            self._append("follow_up_reminder", SYSTEM, at=f.at, data=data | {
                "share": f.share, "notify": [s.follow_up.owner if s.follow_up else "owner"]})
        elif name == "follow_up":
            self._append("follow_up_missed", SYSTEM, at=f.at,
                         reason="the follow-up deadline passed", data=data | {
                             "notify": ["supervisor"], "owner": s.follow_up.owner
                             if s.follow_up else None})
        elif name == "reactivation":
            f.clock.satisfied_at = f.at  # done: it has fired its one purpose
            self._append("customer_reactivation", SYSTEM, at=f.at,
                         reason="no answer to the questionnaire: a reactivation touch",
                         data=data | {"notify": ["customer"]})
            s.clocks.append(clocks.start_deadline("silence", s.sla_cycle, t.silent_after, t,
                                                  f.at, warn=False))
        elif name == "silence":
            if s.follow_up:
                s.follow_up.silent = True
            self._append("customer_silent", SYSTEM, at=f.at,
                         reason="no answer after the reactivation touch", data=data)
            self._end("closed", SYSTEM, Status.CLOSED, "customer silent after the follow-up")

    # ---- the follow-up visit ----

    @workflow.update(name=Command.RECORD_FOLLOW_UP.value)
    async def record_follow_up(self, rec: FollowUpRecord) -> RequestView:
        await self._begin(Command.RECORD_FOLLOW_UP, rec.actor)
        self._check_cycle(rec)
        s, t, now = self._state, self._terms, workflow.now()
        for c in s.clocks:
            if c.name in ("follow_up", "reactivation", "silence"):
                clocks.satisfy(c, t.calendar, now)
        if s.follow_up:
            s.follow_up.score, s.follow_up.nps = rec.score, rec.nps
        negative = rec.score <= t.negative_score_max or bool(rec.problem) or rec.needs_action
        self._append("follow_up_recorded", rec.actor, to=Status.FOLLOWED_UP,
                     data={"score": rec.score, "nps": rec.nps, "method": rec.method,
                           "praise": rec.praise, "suggestion": rec.suggestion,
                           "problem": rec.problem, "needs_action": rec.needs_action,
                           "negative": negative, "cycle": s.sla_cycle})
        for i, need in enumerate(rec.new_needs, start=1):
            number = await workflow.execute_activity_method(
                FollowUpActivities.open_linked_request,
                LinkedRequestInput(parent=s.number, index=i, intake=self._input.intake,
                                   need=need),
                start_to_close_timeout=options.ASSIGN_TIMEOUT, retry_policy=options.ASSIGN_RETRY)
            self._append("linked_request_opened", rec.actor, reason=need.description,
                         data={"linked": number, "category": need.category})
        if negative:
            await self._open_improvement(rec)
        return await self._finish()

    @record_follow_up.validator
    def _validate_follow_up(self, rec: FollowUpRecord) -> None:
        self._check_cycle(rec)  # first: "re-handled since" explains more than the state
        self._refuse_if_illegal(Command.RECORD_FOLLOW_UP, rec.actor)

    def _check_cycle(self, rec: FollowUpRecord) -> None:
        if rec.cycle is not None:
            self._require(rec.cycle == self._state.sla_cycle,
                          "this survey is about an earlier outcome; the request was re-handled")

    async def _open_improvement(self, rec: FollowUpRecord) -> None:
        s = self._state
        task_id = f"{s.number}-IMP{len(s.improvements) + 1}"
        department = s.department or DEFAULT_DEPARTMENT
        problem = rec.problem or rec.suggestion or f"satisfaction score {rec.score}"
        now = workflow.now()
        handle = await workflow.start_child_workflow(
            "ImprovementTask",
            ImprovementInput(task_id=task_id, number=s.number, department=department,
                             problem=problem, score=rec.score, opened_at=now,
                             terms=self._terms),
            id=task_id, result_type=ImprovementResult,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            parent_close_policy=ParentClosePolicy.ABANDON,
            static_summary=f"improvement for {s.number} · {department}",
        )
        self._children[task_id] = handle
        s.improvements.append(task_id)
        due = self._terms.improvement_window.due(self._terms.calendar, now)
        self._append("improvement_opened", SYSTEM, reason=problem, at=now,
                     data={"task_id": task_id, "department": department, "due_at": due,
                           "notify": ["department_head"]})

    async def _collect_improvements(self) -> None:
        """Finished improvement tasks: the customer hears what changed."""
        for task_id, handle in list(self._children.items()):
            if not handle.done():
                continue
            del self._children[task_id]
            result = handle.result()
            self._append("improvement_closed", SYSTEM, reason=result.what_changed,
                         data={"task_id": task_id, "closed_by": result.closed_by,
                               "what_changed": result.what_changed, "notify": ["customer"]})
        await self._close_when_done()

    async def _close_when_done(self) -> None:
        """Followed up and no improvement open: the loop is complete."""
        if self._state.status is Status.FOLLOWED_UP and not self._children:
            self._end("closed", SYSTEM, Status.CLOSED, "followed up")
            await self._persist()
