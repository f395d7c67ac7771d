"""The ServiceRequest's pure helpers, without a server: one guard per command (the same
check its validator and its handler run), and transitions that change the status only
through the timeline, at the instant they are given."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError

from csflow.activity_io import FollowUpPlan, Triage
from csflow.commands import COMMANDS
from csflow.config.terms import TermsProvider
from csflow.contracts import (
    SYSTEM,
    Actor,
    CloseCommand,
    CompensationRequest,
    CompleteImprovement,
    ConfirmCommand,
    EscalateCommand,
    FollowUpRecord,
    PlanCommand,
    ProgressCommand,
    ReassignCommand,
    ResolveCommand,
    ServiceRequestInput,
    TimelineEvent,
    UpdateCalendarCommand,
    WaitForCustomerCommand,
)
from csflow.domain import clocks
from csflow.domain.codes import Priority, Role
from csflow.domain.escalation import EscalationAction, EscalationStep
from csflow.domain.events import EventKind
from csflow.domain.lifecycle import LEGAL, REQUIRED_ROLES, Command, Status
from csflow.domain.policy import DEFAULT_BANNED, DEFAULT_POLICY
from csflow.domain.terms import RequestTerms
from csflow.refusals import Refusal
from tests.helpers import AGENT, CUSTOMER, SUPERVISOR, intake
from workflows.improvement import guards as task_guards
from workflows.service_request import after_resolution, guards, transitions
from workflows.service_request.timeline import Timeline

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
BANNED = tuple(DEFAULT_BANNED)
FU = Actor(id="fu.lin", role=Role.FOLLOW_UP)


def _request(priority: Priority = Priority.P2) -> tuple[Timeline, RequestTerms, list[Any]]:
    given = intake(priority=priority)
    terms = TermsProvider(DEFAULT_POLICY).for_intake(given, T0)
    inp = ServiceRequestInput(
        number="CS20261123-WEB-0001", intake=given, received_at=T0, terms=terms
    )
    announced: list[TimelineEvent] = []
    tl = Timeline(transitions.new_state(inp, terms), announced.append)
    transitions.intake(
        tl, terms, inp, Triage(assignee="li.na", department="service", rule="desk"), T0
    )
    return tl, terms, announced


def _refusal(call: Any) -> str:
    with pytest.raises(ApplicationError) as caught:
        call()
    assert caught.value.non_retryable
    return str(caught.value.type)


def _guard(command: Command) -> Any:
    return getattr(guards, command.value)


# ---- guards ----


def _sample(command: Command, actor: Actor) -> Any:
    spec = next(s for s in COMMANDS if s.command is command)
    return spec.model.model_construct(actor=actor)


@pytest.mark.parametrize("command", list(Command))
def test_every_guard_refuses_a_role_without_the_right(command: Command) -> None:
    tl, _, _ = _request()
    outsider = next(r for r in Role if r not in REQUIRED_ROLES[command])
    tl.state.status = next(iter(LEGAL[command]))
    cmd = _sample(command, Actor(id="x", role=outsider))
    if command is Command.RECORD_FOLLOW_UP:
        cmd.cycle = None
    assert _refusal(lambda: _guard(command)(tl.state, cmd, BANNED)) == Refusal.FORBIDDEN_ROLE


@pytest.mark.parametrize("command", list(Command))
def test_every_guard_refuses_a_state_it_is_illegal_in(command: Command) -> None:
    tl, _, _ = _request()
    tl.state.status = next(s for s in Status if s not in LEGAL[command])
    allowed = next(iter(REQUIRED_ROLES[command]))
    cmd = _sample(command, Actor(id="x", role=allowed))
    if command is Command.RECORD_FOLLOW_UP:
        cmd.cycle = None
    assert _refusal(lambda: _guard(command)(tl.state, cmd, BANNED)) == Refusal.ILLEGAL_STATE


def test_command_specific_preconditions() -> None:
    tl, _, _ = _request(Priority.P2)
    s = tl.state
    lower = EscalateCommand(actor=SUPERVISOR, reason="x", priority=Priority.P3)
    assert _refusal(lambda: guards.escalate(s, lower, BANNED)) == Refusal.ILLEGAL_STATE
    guards.escalate(s, EscalateCommand(actor=SUPERVISOR, reason="x", priority=Priority.P1), BANNED)
    same = ReassignCommand(actor=SUPERVISOR, to_staff="li.na", reason="x")
    assert _refusal(lambda: guards.reassign(s, same, BANNED)) == Refusal.ILLEGAL_STATE
    wait = WaitForCustomerCommand(actor=AGENT, reason="serial number")
    guards.wait_for_customer(s, wait, BANNED)
    s.awaiting_customer = True
    assert _refusal(lambda: guards.wait_for_customer(s, wait, BANNED)) == Refusal.ILLEGAL_STATE


def test_words_for_the_customer_are_checked_against_the_banned_promises() -> None:
    tl, _, _ = _request()
    promise = ResolveCommand(actor=AGENT, summary=f"fixed, {BANNED[0]}")
    assert _refusal(lambda: guards.resolve(tl.state, promise, BANNED)) == Refusal.COMPLIANCE
    note = ProgressCommand(actor=AGENT, note=BANNED[0])
    assert _refusal(lambda: guards.post_progress(tl.state, note, BANNED)) == Refusal.COMPLIANCE
    guards.post_progress(tl.state, note, ())  # a policy without banned phrases


def test_a_pending_compensation_blocks_resolution_and_a_second_request() -> None:
    tl, terms, _ = _request()
    transitions.request_compensation(
        tl, terms, CompensationRequest(actor=AGENT, amount=Decimal("900"), reason="lost day"), T0
    )
    assert tl.state.compensation is not None and tl.state.compensation.status == "pending"
    again = CompensationRequest(actor=AGENT, amount=Decimal("10"), reason="x")
    resolve = ResolveCommand(actor=AGENT, summary="fixed")
    assert _refusal(lambda: guards.request_compensation(tl.state, again, BANNED)) == (
        Refusal.ILLEGAL_STATE
    )
    with pytest.raises(ApplicationError, match="waits for the supervisor"):
        guards.resolve(tl.state, resolve, BANNED)


def test_a_stale_survey_is_refused_before_the_state_is_looked_at() -> None:
    tl, _, _ = _request()
    tl.state.sla_cycle = 2  # re-handled since the survey was sent; status not follow-up
    old = FollowUpRecord(actor=FU, score=5, nps=9, cycle=1)
    with pytest.raises(ApplicationError, match="earlier outcome"):
        guards.record_follow_up(tl.state, old, BANNED)


def test_the_improvement_guard() -> None:
    done = CompleteImprovement(actor=AGENT, what_changed="rota")
    task_guards.complete(None, done, BANNED)
    assert _refusal(lambda: task_guards.complete(done, done, BANNED)) == Refusal.ILLEGAL_STATE
    analyst = CompleteImprovement(actor=Actor(id="a", role=Role.ANALYST), what_changed="x")
    assert _refusal(lambda: task_guards.complete(None, analyst, BANNED)) == (Refusal.FORBIDDEN_ROLE)
    promise = CompleteImprovement(actor=AGENT, what_changed=BANNED[0])
    assert _refusal(lambda: task_guards.complete(None, promise, BANNED)) == Refusal.COMPLIANCE


# ---- transitions ----


def _chained(events: list[TimelineEvent]) -> None:
    moves = [e for e in events if e.status_to is not None]
    for before, after in pairwise(moves):
        assert after.status_from is before.status_to, (before.kind, after.kind)


def test_a_whole_lifecycle_moves_the_status_only_through_the_timeline() -> None:
    tl, terms, announced = _request()
    s, at = tl.state, [T0 + timedelta(hours=h) for h in range(10)]
    transitions.submit_plan(
        tl, terms, PlanCommand(actor=AGENT, measures=["call"], eta=at[5]), at[1]
    )
    assert s.status is Status.IN_PROGRESS and s.plan is not None and s.plan.owner == "li.na"
    transitions.resolve(tl, terms, ResolveCommand(actor=AGENT, summary="fixed"), at[2])
    assert any(c.name == "confirmation" and c.open for c in s.clocks)
    transitions.customer_confirmed(tl, terms, ConfirmCommand(actor=CUSTOMER, satisfied=True), at[3])
    clock, expires = after_resolution.follow_up_deadline(s, terms, at[3])
    assert clock.due_at is not None and expires > clock.due_at
    after_resolution.follow_up_scheduled(
        tl, terms, clock, FollowUpPlan(owner="fu.lin", survey_url=None), at[3]
    )
    negative = after_resolution.follow_up_recorded(
        tl, terms, FollowUpRecord(actor=FU, score=5, nps=10), at[4]
    )
    assert not negative and s.status is Status.FOLLOWED_UP
    transitions.end(tl, terms, EventKind.CLOSED, SYSTEM, Status.CLOSED, "followed up", at[5])

    assert announced == s.timeline, "every event announced once, in order"
    assert [e.seq for e in s.timeline] == list(range(1, len(s.timeline) + 1))
    _chained(s.timeline)
    assert s.timeline[-1].status_to is s.status is Status.CLOSED
    assert s.closed_at == at[5] and not any(c.open for c in s.clocks)
    assert [e.at for e in s.timeline[-5:]] == [at[2], at[3], at[3], at[4], at[5]]


def test_not_satisfied_starts_a_new_cycle_one_priority_higher() -> None:
    tl, terms, _ = _request(Priority.P3)
    transitions.resolve(tl, terms, ResolveCommand(actor=AGENT, summary="fixed"), T0)
    transitions.start_rehandling(tl, terms, CUSTOMER, "still broken", "photo-1", T0)
    s, event = tl.state, tl.state.timeline[-1]
    assert (s.status, s.priority, s.sla_cycle, s.rehandle_count) == (
        Status.REHANDLING,
        Priority.P2,
        2,
        1,
    )
    assert event.kind == EventKind.REHANDLING_STARTED
    assert (event.status_from, event.status_to) == (Status.AWAITING_CONFIRMATION, Status.REHANDLING)
    assert {c.id for c in s.clocks if c.open} == {"resolution#2", "progress_cadence#2.1"}


def _takeover(tl: Timeline) -> clocks.Firing:
    clock = next(c for c in tl.state.clocks if c.name == "first_response")
    step = EscalationStep.model_validate(
        {"after": "30m", "action": EscalationAction.DIRECTOR_TAKEOVER}
    )
    return clocks.Firing(
        clock=clock,
        kind=clocks.FiringKind.STEP,
        at=T0 + timedelta(hours=1),
        step=step,
        step_index=1,
    )


def test_a_director_takeover_is_a_status_change_on_its_own_event() -> None:
    tl, _, _ = _request(Priority.P1)
    f = _takeover(tl)
    assert transitions.takes_over(tl.state, f)
    transitions.firing(tl, f, takeover_on_timeline=True)
    event = tl.state.timeline[-1]
    assert (event.status_from, event.status_to) == (Status.ASSIGNED, Status.ESCALATED)
    assert tl.state.assignee == tl.state.escalated_to == "director"
    assert event.at == f.at and not transitions.takes_over(tl.state, f)


def test_before_the_patch_the_takeover_set_the_status_without_an_event() -> None:
    """What histories recorded before `ladder-takeover-on-timeline` did; kept for replay."""
    tl, _, _ = _request(Priority.P1)
    transitions.firing(tl, _takeover(tl), takeover_on_timeline=False)
    event = tl.state.timeline[-1]
    assert (event.status_from, event.status_to) == (None, None)
    assert tl.state.status is Status.ESCALATED


def test_a_calendar_push_returns_the_new_terms_and_says_so() -> None:
    tl, terms, _ = _request()
    calendar = terms.calendar.model_copy(
        update={"holidays": frozenset({(T0 + timedelta(days=1)).date()}), "version": "v-test"}
    )
    new = transitions.update_calendar(
        tl, terms, UpdateCalendarCommand(actor=SUPERVISOR, calendar=calendar), T0
    )
    assert new.calendar.version == "v-test" and terms.calendar.version != "v-test"
    assert tl.state.timeline[-1].data["to"] == "v-test"


def test_closing_by_command_stops_every_clock_at_the_instant_given() -> None:
    tl, terms, _ = _request()
    later = T0 + timedelta(minutes=7)
    cmd = CloseCommand(actor=AGENT, reason="done")
    transitions.end(tl, terms, EventKind.CLOSED, cmd.actor, Status.CLOSED, cmd.reason, later)
    assert tl.state.closed_at == later == tl.state.timeline[-1].at
    assert all(not c.open for c in tl.state.clocks)


def test_only_the_timeline_assigns_a_request_status() -> None:
    """No workflow code sets `.status` of the request but `Timeline` (whose
    `unrecorded_status` exists only for histories from before the takeover patch)."""
    package = Path(transitions.__file__).parent
    for path in package.glob("*.py"):
        lines = [
            n
            for n in path.read_text(encoding="utf-8").splitlines()
            if re.search(r"\b(s|state|self\._state)\.status\s*=(?!=)", n)
        ]
        assert not lines or path.name == "timeline.py", (path.name, lines)
