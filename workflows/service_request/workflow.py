"""The ServiceRequest entity workflow: one long-lived execution per request
(docs/requirements.md §3).

Shape: `run` performs intake and assignment, then sleeps until the next SLA firing (a
warning, a breach, a ladder step) or until a command changes the clocks. Commands are
Updates, in lifecycle order in `commands.py`. Each has one check in `guards` that its
validator runs (so a refused command never reaches history) and its handler runs again
once intake is done (the state may have moved since). An accepted command calls its
effects (activities, in `effects`), then its transition (state and timeline, in
`transitions`), and returns only after the events are persisted, so a caller's 200 means
"in PostgreSQL" — the steps every command shares (`_begin`, `_finish`, ...) are here.
What it returns is a small receipt, not the view (LEAN_HISTORY_PATCH): the view is the
`get_state` query's. Three concerns of the class are its mixins, each in a module of its
own: the commands (`commands.py`), the write, retried and then salvaged
(`persistence.py`), and the mode of a request imported with its events
(`importing.py`). Its patches are named in `patches.py`.

The SLA terms arrive resolved in the input: a replay never reads the policy file. A
caller outside Python (docs/contract.md) leaves them out and numbers the request itself;
the workflow then checks the number and resolves the terms through an activity, whose
result history keeps for replays just the same.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.workflow import ChildWorkflowHandle

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError

    from csflow.activity_io import (
        PlanFollowUpInput,
        ResolveTermsInput,
        TriageInput,
    )
    from csflow.contracts import (
        SYSTEM,
        Actor,
        CommandReceipt,
        ImprovementResult,
        RequestState,
        RequestView,
        ServiceRequestInput,
        TimelineEvent,
        UpdateResult,
    )
    from csflow.domain import clocks, horizon
    from csflow.domain.codes import SlaState
    from csflow.domain.events import FIRINGS, EventKind
    from csflow.domain.lifecycle import Command, Status
    from csflow.domain.org_routes import EscalationRouteInput
    from csflow.domain.policy import OwnershipPolicy
    from csflow.domain.terms import RequestTerms
    from csflow.notify.models import CompactNotification, Notification, Recipient
    from csflow.notify.planner import NotifyContext, plan_notifications, role_alert
    from csflow.refusals import Refusal
    from workflows.caller_start import start_problem
    from workflows.service_request import (
        after_resolution,
        complaints,
        effects,
        eta,
        guards,
        ladder,
        transitions,
    )
    from workflows.service_request.patches import (
        AFTER_COMPACT,
        ARM_AFTER_WRITE_PATCH,
        AUTHORITY_PATCH,
        COMPACT_PATCH,
        FOLLOW_UP_PATCH,
        HANDOVER_PATCH,
        IMPORT_PATCH,
        LEAN_HISTORY_PATCH,
        QUIET_BACKLOG_PATCH,
        SOOTHE_PATCH,
        TAKEOVER_PATCH,
        TEAM_PATCH,
    )
    from workflows.service_request.timeline import Timeline
    from workflows.visibility import publish

from workflows.service_request.commands import C, Commands, Guard
from workflows.service_request.importing import IMPORT_WAIT, Importing
from workflows.service_request.persistence import PERSIST_RETRY_AFTER, Persisting

# A worker's clock ahead of the server's cannot pull a timer earlier than this (and a
# timer that fires early only finds nothing due and is armed again for the rest).
WRITE_CLOCK_TRUSTED_WITHIN = timedelta(seconds=10)


@workflow.defn(name="ServiceRequest", failure_exception_types=[ValidationError])
class ServiceRequestWorkflow(Commands, Importing, Persisting):
    @workflow.init
    def __init__(self, inp: ServiceRequestInput) -> None:
        self._input = inp
        if inp.terms is not None:  # otherwise `run` resolves them before anything uses them
            self._terms = inp.terms
        self._banned = inp.terms.banned_phrases if inp.terms else ()
        self._state = inp.carried or transitions.new_state(inp, inp.terms)
        self._timeline = Timeline(self._state, self._announce)
        self._ready = inp.carried is not None
        # When csflow first heard of the request; None in a run continued-as-new.
        self._opened_at: datetime | None = None if inp.carried is not None else workflow.now()
        self._rearm = False
        self._lock = asyncio.Lock()
        self._children: dict[str, ChildWorkflowHandle[Any, ImprovementResult]] = {}
        self._sends: list[asyncio.Task[Any]] = []
        self._refused_since: datetime | None = None  # the first of the writes refused in a row
        self._persist_state = "ok"  # the PersistState search attribute
        # Ladder steps routed through the organisation (patch `org-ladder-routing`):
        # decided at the first step, then the steps (and pages) already handled.
        self._org_routing = False
        self._routed: set[str] = set()
        self._paged: set[str] = set()
        # The row's columns as the last batch of this run wrote them (LEAN_HISTORY_PATCH);
        # None: the next batch writes the whole row.
        self._row: dict[str, Any] | None = None
        self._published: dict[str, Any] | None = None  # search attributes as last upserted
        # An imported history (patch `imported-history`, decided in `run`): while its
        # events come, `_cursor` is the latest one's time and the clocks fire only to it.
        self._history = False
        self._importing = False
        self._imported = 0
        self._all_in = False  # every imported event came: the import ends next round
        self._tell_holder = False  # the import ended: the holder hears after the catch-up
        self._cursor = inp.received_at
        self._import_until: datetime | None = None
        self._marked = 0  # where the imported command being applied starts its events
        self._compact: bool | None = None  # COMPACT_PATCH, once decided
        self._outgoing: list[CompactNotification] = []  # messages for the next `_flush`
        self._written_at: datetime | None = None  # the last write's commit (worker clock)

    def _patched(self, patch: str) -> bool:
        """`workflow.patched`, except that a run under COMPACT_PATCH has every earlier
        patch without a marker of its own (later ones, `AFTER_COMPACT`, are asked).
        Never called by a validator (they do not run on replay): a validator checks as
        the newest code does."""
        if self._compact is None:
            self._compact = workflow.patched(COMPACT_PATCH)
        if patch == COMPACT_PATCH:
            return self._compact
        if patch in AFTER_COMPACT:  # newer than the run's code may be: asked, marked
            return workflow.patched(patch)
        return self._compact or workflow.patched(patch)

    # ---- the main loop ----

    @workflow.run
    async def run(self, inp: ServiceRequestInput) -> UpdateResult:
        self._patched(COMPACT_PATCH)  # decided first: see COMPACT_PATCH
        if inp.terms is None:
            await self._adopt_caller_start(inp)
        if not self._ready:
            triage = await effects.triage(_triage_input(inp), local=self._patched(COMPACT_PATCH))
            at = workflow.now()
            if inp.imported_events and self._patched(IMPORT_PATCH):
                self._history = self._importing = True
                self._import_until = at + IMPORT_WAIT
                at = inp.received_at  # the timeline starts when the customer asked
            transitions.intake(self._timeline, self._terms, inp, triage, at)
            await self._persist()
            self._ready = True
        while not self._state.status.terminal:
            await self._sleep_until_something_changes()
            await self._fire_due()
            await self._collect_improvements()
            if workflow.info().is_continue_as_new_suggested() and not self._children:
                await workflow.wait_condition(workflow.all_handlers_finished)
                await self._persist_before_leaving()
                workflow.continue_as_new(
                    inp.model_copy(update={"terms": self._terms, "carried": self._state})
                )
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._persist_before_leaving()
        return self._answer()

    async def _adopt_caller_start(self, inp: ServiceRequestInput) -> None:
        """A start from outside csflow's starter: check what the caller chose, then resolve
        the terms the starter would have sent. A refusal fails the workflow at once with
        the reason (never a task retried forever), before anything is persisted or sent."""
        problem = start_problem(inp, workflow.info().workflow_id, workflow.now())
        if problem is not None:
            raise Refusal.INVALID_START.error(problem)
        try:
            if self._patched(COMPACT_PATCH):
                terms = await effects.resolve_terms(
                    ResolveTermsInput.of(inp.intake, inp.received_at), local=True
                )
            else:
                terms = await effects.resolve_terms(
                    ResolveTermsInput(intake=inp.intake, received_at=inp.received_at)
                )
        except (ActivityError, ApplicationError) as err:
            # A local activity's failure arrives as its own error, not wrapped.
            cause = err.cause if isinstance(err, ActivityError) else err
            raise Refusal.TERMS_UNAVAILABLE.error(
                f"could not resolve the SLA terms: {cause}"
            ) from err
        self._terms, self._banned = terms, terms.banned_phrases
        transitions.adopt_terms(self._state, inp, terms)

    async def _sleep_until_something_changes(self) -> None:
        self._flush()
        if self._importing:
            await self._await_imported_events()
            return
        wake_at = clocks.next_wake(self._state.clocks, self._terms, self._state.priority)
        promised = eta.watched(self._state)
        if promised is not None and self._patched(eta.ETA_PATCH):
            wake_at = min(wake_at, promised) if wake_at else promised
        owed = complaints.watched(self._state)
        if owed is not None and self._patched(complaints.COMPLAINT_PATCH):
            wake_at = min(wake_at, owed) if wake_at else owed
        if self._unpersisted():
            retry = workflow.now() + PERSIST_RETRY_AFTER
            wake_at = min(wake_at, retry) if wake_at else retry
        self._rearm = False
        timeout = None if wake_at is None else (wake_at - workflow.now()).total_seconds()
        if timeout is not None and timeout <= 0:
            return
        if timeout is not None:
            timeout = self._from_the_write(timeout)
        with contextlib.suppress(TimeoutError):  # the timer won: something is due
            await workflow.wait_condition(
                lambda: (
                    self._rearm
                    or self._state.status.terminal
                    or any(c.done() for c in self._children.values())
                ),
                timeout=timeout,
                # Under COMPACT_PATCH no label: it was the same words on every timer.
                timeout_summary=None if self._patched(COMPACT_PATCH) else "next SLA firing",
            )

    def _from_the_write(self, timeout: float) -> float:
        """`timeout`, counted from `workflow.now()`, counted instead from when this task's
        last write committed if that is later (ARM_AFTER_WRITE_PATCH): the timer starts
        when the task completes, after that write. Never below a millisecond: a deadline
        the write already passed still needs a timer, since in this task
        `workflow.now()` is before it and nothing is due yet."""
        now, written = workflow.now(), self._written_at
        if written is None or written <= now or not self._patched(ARM_AFTER_WRITE_PATCH):
            return timeout
        taken = min(written - now, WRITE_CLOCK_TRUSTED_WITHIN).total_seconds()
        return max(timeout - taken, 0.001)

    async def _fire_due(self) -> None:
        """Record every warning, breach and ladder step due by now, at its exact instant."""
        s = self._state
        if s.status.terminal:
            return
        now = self._now()
        firings = clocks.fire_due(s.clocks, self._terms, s.priority, now)
        for f in firings:
            if f.clock.name not in transitions.AFTER_RESOLUTION:
                on_timeline = transitions.takes_over(s, f) and self._patched(TAKEOVER_PATCH)
                holder = s.assignee
                if f.step is not None and not self._org_routing:
                    self._org_routing = self._patched(ladder.ORG_PATCH)
                transitions.firing(self._timeline, f, takeover_on_timeline=on_timeline)
                if f.step is not None and self._org_routing:
                    await self._route_step(f, holder)
            elif after_resolution.after_resolution(self._timeline, self._terms, f, now):
                await self._confirmed(f.at if self._importing else None)
        missed = (
            eta.watched(s) is not None
            and self._patched(eta.ETA_PATCH)
            and eta.check(self._timeline, now)
        )
        if complaints.watched(s) is not None and self._patched(complaints.COMPLAINT_PATCH):
            missed = complaints.check(self._timeline, now) or missed
        if self._tell_holder:
            self._told_holder()
        if firings or missed or self._unpersisted():
            await self._persist()

    async def _route_step(self, f: clocks.Firing, holder: str | None) -> None:
        """A ladder step reaches real people once each; `reassign` and a takeover move the
        request once per step, whichever clock got there first."""
        first = ladder.step_key(f) not in self._routed
        self._routed.add(ladder.step_key(f))
        route = await effects.route_escalation(
            ladder.route_input(self._state, f, holder, move=first)
        )
        if first and route.assignee is not None and route.assignee != holder:
            ladder.moved(self._timeline, f, route, holder, f.at)
        if self._opened_at is not None and f.at < self._opened_at:
            return  # recorded from an imported backlog: not announced (see _from_the_backlog)
        for n in ladder.pages(self._state, f, route):
            if n.key not in self._paged:
                self._paged.add(n.key)
                self._send(n)
        self._flush()

    async def _collect_improvements(self) -> None:
        """Finished improvement tasks: the customer hears what changed; followed up and no
        task open, the loop is complete."""
        for task_id, handle in list(self._children.items()):
            if handle.done():
                del self._children[task_id]
                after_resolution.improvement_closed(self._timeline, handle.result(), self._now())
        if self._state.status is Status.FOLLOWED_UP and not self._children:
            self._end(EventKind.CLOSED, SYSTEM, Status.CLOSED, "followed up", self._now())
            await self._persist()

    @workflow.query(name="get_state")
    def get_state(self) -> RequestView:
        return self._view()

    # ---- what every command shares ----

    async def _begin(self, guard: Guard[C], cmd: C, at: datetime | None = None) -> datetime:
        """Wait out intake, then check again: another command may have moved the state.

        Returns the command's instant: now, or for an imported event its own time `at` —
        after the firings due before it are recorded (a breach it came too late for), and
        checked once more, since those may have moved the state too (a confirmation
        window that ran out before the customer's recorded answer)."""
        await workflow.wait_condition(lambda: self._ready)
        guard(self._state, cmd, self._banned)
        if at is None:
            return workflow.now()
        guards.recorded_at(self._state, at, self._importing, workflow.now())
        self._cursor = at
        await self._fire_due()
        guard(self._state, cmd, self._banned)
        self._marked = len(self._state.timeline)
        return at

    def _validate_at(self, at: datetime | None) -> None:
        if at is not None:
            guards.recorded_at(self._state, at, self._importing, workflow.now())

    def _authority(self, command: Command, actor: Actor, *, validating: bool = False) -> None:
        """Ownership (the policy's `[ownership]`) and four eyes on compensation. The
        validator always checks; the handler checks again under a patch, because
        histories from before accepted such commands and must replay the same."""
        if not validating and not self._patched(AUTHORITY_PATCH):
            return
        if command is Command.DECIDE_COMPENSATION:
            guards.approver(self._state, actor)
            return
        terms = getattr(self, "_terms", None)  # a caller's start resolves them in `run`
        by_team = terms is not None and bool(terms.team_supervision)
        guards.owner(
            self._state,
            command,
            actor,
            terms.ownership if terms else OwnershipPolicy(),
            terms.supervision if terms else None,
            terms.team_supervision
            if terms and by_team and (validating or self._patched(TEAM_PATCH))
            else None,
        )

    def _soothing(self, text: str | None, *, validating: bool = False) -> None:
        """A flagged customer's first reply opens gently (validator; handler under patch)."""
        terms = getattr(self, "_terms", None)
        if terms is None or (not validating and not self._patched(SOOTHE_PATCH)):
            return
        language = self._input.intake.customer.language
        guards.soothing_first(self._state, text, terms.openings(language))

    async def _finish(self, imported: datetime | None = None) -> UpdateResult:
        if imported is not None:
            self._recorded(imported)
        self._rearm = True
        if not await self._persist(leaving=self._state.status.terminal):
            raise Refusal.NOT_PERSISTED.error(
                "accepted, but not yet persisted; the request retries the write by itself"
            )
        return self._answer()

    async def _confirmed(self, at: datetime | None = None) -> None:
        """Resolved: the handler's capacity is free, and the follow-up is planned (from
        `at`, a confirmation recorded by hand, else now)."""
        s, t = self._state, self._terms
        await effects.release(s.number)
        now = at or workflow.now()
        after_deadline = self._patched(FOLLOW_UP_PATCH)
        clock, expires = after_resolution.follow_up_deadline(
            s, t, now, after_deadline=after_deadline
        )
        assert clock.due_at is not None
        plan = await effects.plan_follow_up(
            PlanFollowUpInput(
                number=s.number,
                cycle=clock.cycle,
                due_at=clock.due_at,
                expires_at=expires,
                language=self._input.intake.customer.language,
            ),
            local=self._patched(COMPACT_PATCH),
        )
        after_resolution.follow_up_scheduled(
            self._timeline, t, clock, plan, now, after_deadline=after_deadline
        )

    def _end(
        self,
        kind: EventKind,
        actor: Actor,
        to: Status,
        reason: str | None,
        at: datetime | None = None,
    ) -> None:
        transitions.end(self._timeline, self._terms, kind, actor, to, reason, at or workflow.now())

    async def _end_by_command(
        self,
        kind: EventKind,
        actor: Actor,
        to: Status,
        reason: str | None,
        data: dict[str, Any] | None = None,
        at: datetime | None = None,
    ) -> UpdateResult:
        """Closed or cancelled by someone: the holder's capacity is freed."""
        transitions.end(
            self._timeline, self._terms, kind, actor, to, reason, at or workflow.now(), data
        )
        await effects.release(self._state.number)
        return await self._finish(at)

    def _view(self) -> RequestView:
        return RequestView.of(self._state)

    def _answer(self) -> UpdateResult:
        """What an Update or the run returns: a receipt since LEAN_HISTORY_PATCH (the caller
        reads the view with `get_state`), the whole view in histories from before."""
        if self._patched(LEAN_HISTORY_PATCH):
            return UpdateResult(CommandReceipt.of(self._state))
        return UpdateResult(self._view())

    # ---- after every event: colour, search attributes, messages ----

    def _announce(self, event: TimelineEvent) -> None:
        s = self._state
        if s.status.terminal:
            s.sla_state, s.next_deadline = SlaState.NONE, None
        else:
            s.sla_state = clocks.colour(s.clocks, workflow.now())
            s.next_deadline = clocks.next_deadline(s.clocks)
            self._flag_past_horizon()
        self._publish(persist=self._persist_state)
        self._notify(event)
        workflow.logger.info("request %s: %s by %s", s.number, event.kind, event.actor.id)

    def _publish(self, problem: str | None = None, persist: str = "ok") -> None:
        """Search attributes and details; since LEAN_HISTORY_PATCH only the attributes
        that changed since the run last published them."""
        since = self._published if self._patched(LEAN_HISTORY_PATCH) else None
        self._published = publish(self._state, problem, persist, since=since)

    def _flag_past_horizon(self) -> None:
        """A deadline past the calendar's holiday data is computed as if its public
        holidays were working days: flagged (once) for a supervisor to check by hand."""
        s, t = self._state, self._terms
        if horizon.PAST_HORIZON_FLAG not in s.flags and horizon.past(
            (c.due_at for c in s.clocks), t.calendar_horizon, t.calendar.time_zone
        ):
            s.flags.append(horizon.PAST_HORIZON_FLAG)

    def _notify(self, event: TimelineEvent) -> None:
        """Start (not await) one send per planned message: a slow or failing channel never
        holds up the request; the outbox behind the activity sends each key once."""
        if self._from_the_backlog(event):
            return
        ctx = _notify_context(self._state, self._input, self._org_routing)
        if self._patched(HANDOVER_PATCH):
            ctx = _with_handovers(ctx, self._state, self._terms, event)
            if (alert := role_alert(event, major=self._terms.major_complaint)) is not None:
                self._sends.append(asyncio.create_task(self._alert_roles(event, *alert)))
        for n in plan_notifications(event, ctx):
            self._send(n)
        self._sends = [t for t in self._sends if not t.done()]

    async def _alert_roles(
        self, event: TimelineEvent, roles: list[str], variables: dict[str, Any]
    ) -> None:
        """An alert to roles ("supervisor", "department_head") reaches the people of the
        request's department — or of the improvement task's — with the fallback chain."""
        s = self._state
        route = await effects.route_escalation(
            EscalationRouteInput(
                number=s.number,
                department=event.data.get("department") or s.department,
                assignee=s.assignee,
                roles=roles,
            )
        )
        for r in route.recipients:
            recipient = (
                Recipient(kind="staff", id=r.staff_id, channels=["chat", "email"])
                if r.staff_id
                else Recipient(kind="role", id=r.role, channels=["email", "chat"])
            )
            sent = self._send(
                Notification(
                    key=f"{s.number}/{event.seq}/{recipient.kind}:{recipient.id}/staff_alert",
                    number=s.number,
                    template="staff_alert",
                    recipient=recipient,
                    priority=s.priority.value,
                    variables={"number": s.number} | variables,
                )
            )
            if sent is not None:  # one after the other, as histories from before recorded
                await sent
        self._flush()

    def _send(self, n: Notification) -> asyncio.Task[Any] | None:
        """One message: its activity started now (histories from before COMPACT_PATCH, and
        a message that does not fit a compact one), or None — queued, compact, for the
        next `_flush`, which sends what a workflow task planned in one activity."""
        small = effects.compact(n) if self._patched(COMPACT_PATCH) else None
        if small is None:
            task = effects.send(n)
            self._sends.append(task)
            return task
        self._outgoing.append(small)
        return None

    def _flush(self) -> None:
        """The queued messages on their way, in one activity (COMPACT_PATCH). Called
        before every persist, and wherever messages are planned outside a transition, so
        none waits longer than the workflow task that planned it."""
        if self._outgoing:
            self._sends.append(effects.send(self._outgoing))
            self._outgoing = []

    def _from_the_backlog(self, event: TimelineEvent) -> bool:
        """A warning, breach or ladder step that fell due before csflow even knew of the
        request — one recorded by hand during an outage and imported later — is written
        down at its instant but not announced: an import of a day's backlog must not page
        every supervisor once per missed step. The board and the search attributes show
        the request red at once; what still falls due after the import is announced.
        A request imported with its events (patch `imported-history`) announces nothing
        dated before the import: the customer and the staff lived through it offline.
        """
        if self._opened_at is None or event.at >= self._opened_at:
            return False
        if self._history:  # imported with its events: all of that happened offline
            event.data["announced"] = False
            return True
        if event.kind not in FIRINGS:
            return False
        if not self._patched(QUIET_BACKLOG_PATCH):  # histories from before keep sending
            return False
        event.data["announced"] = False
        return True


def _triage_input(inp: ServiceRequestInput) -> TriageInput:
    intake = inp.intake
    return TriageInput(
        number=inp.number,
        customer_id=intake.customer.id,
        category=intake.category,
        sub_type=intake.sub_type,
        priority=intake.priority,
        tier=intake.customer.tier,
        description=intake.description,
        received_at=inp.received_at,
    )


def _with_handovers(
    ctx: NotifyContext, s: RequestState, terms: RequestTerms, event: TimelineEvent
) -> NotifyContext:
    """What handover messages need beyond the legacy context: the customer's time zone
    (their own if they gave one, else the business calendar's), the ETA they were last
    given, who asked for compensation."""
    promised = (EventKind.PLAN_SUBMITTED, EventKind.PROGRESS_POSTED)
    plans = [
        e for e in s.timeline if e.kind in promised and e.data.get("eta") and e.seq < event.seq
    ]
    return ctx.model_copy(
        update={
            "handovers": True,
            "time_zone": ctx.customer.time_zone or terms.calendar.time_zone,
            "previous_eta": plans[-1].data.get("eta") if plans else None,
            "compensation_requested_by": s.compensation.requested_by if s.compensation else None,
        }
    )


def _notify_context(s: RequestState, inp: ServiceRequestInput, routed: bool) -> NotifyContext:
    customer = inp.intake.customer
    return NotifyContext(
        number=s.number,
        priority=s.priority.value,
        category=s.category.value,
        assignee=s.assignee,
        customer=Recipient(  # no address: send_notification looks it up (minimisation)
            kind="customer",
            id=customer.id,
            language=customer.language,
            channels=list(customer.preferred_channels),
            quiet_hours=customer.quiet_hours,
            time_zone=customer.time_zone,
        ),
        follow_up_owner=s.follow_up.owner if s.follow_up else None,
        survey_url=s.follow_up.survey_url if s.follow_up else None,
        ladder_routed=routed,
    )
