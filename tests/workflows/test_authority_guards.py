"""Authority over one request, without a server (issue 13 item 7): ownership from the
policy's `[ownership]`, four eyes on compensation, and the agent's limit on the running
total. The workflow's validators and handlers run these same functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError
from temporalio.exceptions import ApplicationError

from csflow.activity_io import Triage
from csflow.config.terms import TermsProvider
from csflow.contracts import (
    Actor,
    CompensationDecision,
    CompensationRequest,
    RequestState,
    ServiceRequestInput,
)
from csflow.domain.codes import Role
from csflow.domain.events import EventKind
from csflow.domain.lifecycle import Command
from csflow.domain.policy import DEFAULT_POLICY, OwnershipPolicy, policy_from_mapping
from csflow.domain.terms import RequestTerms
from csflow.refusals import Refusal
from tests.helpers import intake
from workflows.service_request import guards, transitions
from workflows.service_request.timeline import Timeline

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
LI = Actor(id="li.na", role=Role.ENGINEER)  # holds the request
ZHAO = Actor(id="zhao.gang", role=Role.ENGINEER)  # a colleague who does not
AGENT = Actor(id="agent-007", role=Role.AGENT)
SUP = Actor(id="sup-1", role=Role.SUPERVISOR)
OTHER_SUP = Actor(id="sup-2", role=Role.SUPERVISOR)
ADMIN = Actor(id="root", role=Role.ADMIN)
OWNED = (Command.POST_PROGRESS, Command.RESOLVE, Command.REQUEST_COMPENSATION)


def _request(
    assignee: str | None = "li.na",
    policy: dict[str, object] | None = None,
) -> tuple[Timeline, RequestTerms]:
    given = intake()
    pol = policy_from_mapping(policy) if policy else DEFAULT_POLICY
    terms = TermsProvider(pol).for_intake(given, T0)
    inp = ServiceRequestInput(
        number="CS20261123-WEB-0001", intake=given, received_at=T0, terms=terms
    )
    tl = Timeline(transitions.new_state(inp, terms), lambda e: None)
    transitions.intake(
        tl, terms, inp, Triage(assignee=assignee, department="service", rule="test"), T0
    )
    return tl, terms


def _refused(call: object, *args: object) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        call(*args)  # type: ignore[operator]
    assert caught.value.non_retryable
    return caught.value


@pytest.mark.parametrize("command", OWNED)
def test_by_default_the_assignee_a_supervisor_and_an_admin_may_act(command: Command) -> None:
    tl, terms = _request()
    for actor in (LI, SUP, ADMIN):
        guards.owner(tl.state, command, actor, terms.ownership)


@pytest.mark.parametrize("command", OWNED)
def test_a_colleague_who_does_not_hold_the_request_is_refused_with_the_reason(
    command: Command,
) -> None:
    tl, terms = _request()
    err = _refused(guards.owner, tl.state, command, ZHAO, terms.ownership)
    assert err.type == Refusal.FORBIDDEN_ROLE.value
    assert err.message == (
        f"{command.value} on CS20261123-WEB-0001 is for the assignee, a supervisor of the "
        "assignee's team, an admin (assignee: li.na); zhao.gang (engineer) is none of them"
    )


def test_the_assignee_is_matched_by_id_whatever_the_case_or_relaying_role() -> None:
    tl, terms = _request()
    relayed = Actor(id="Li.Na", role=Role.ENGINEER)  # as a service relays them
    guards.owner(tl.state, Command.POST_PROGRESS, relayed, terms.ownership)


def test_a_desk_the_directors_office_or_no_one_is_worked_by_any_handler() -> None:
    for held_by in ("service-desk", "director", None):
        tl, terms = _request(assignee=held_by)
        for actor in (ZHAO, AGENT, SUP):
            guards.owner(tl.state, Command.POST_PROGRESS, actor, terms.ownership)
        service = Actor(id="crm", role=Role.SERVICE)  # a service as itself holds nothing
        _refused(guards.owner, tl.state, Command.POST_PROGRESS, service, terms.ownership)


def test_the_policy_narrows_or_widens_each_command() -> None:
    tl, terms = _request(
        policy={
            "ownership": {"post_progress": ["assignee"], "resolve": ["assignee", "any_supervisor"]}
        }
    )
    err = _refused(guards.owner, tl.state, Command.POST_PROGRESS, SUP, terms.ownership)
    assert "is for the assignee (assignee: li.na); sup-1 (supervisor)" in str(err)
    _refused(guards.owner, tl.state, Command.RESOLVE, ADMIN, terms.ownership)
    guards.owner(tl.state, Command.RESOLVE, SUP, terms.ownership)
    guards.owner(tl.state, Command.REQUEST_COMPENSATION, ADMIN, terms.ownership)


def test_commands_outside_the_ownership_section_are_not_narrowed() -> None:
    tl, terms = _request()
    guards.owner(tl.state, Command.SUBMIT_PLAN, ZHAO, terms.ownership)


@pytest.mark.parametrize(
    "bad",
    [
        {"post_progress": []},
        {"post_progress": ["owner"]},
        {"resolve": ["admin", "admin"]},
        {"close": ["assignee"]},
    ],
)
def test_a_bad_ownership_section_is_refused_with_its_path(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError) as caught:
        policy_from_mapping({"ownership": bad})
    assert "ownership" in str(caught.value)


def test_terms_recorded_before_the_section_get_the_built_in_rules() -> None:
    _, terms = _request()
    old = terms.model_dump(mode="json", exclude={"ownership"})
    assert RequestTerms.model_validate(old).ownership == OwnershipPolicy()


def test_terms_and_state_recorded_before_the_team_load_without_it() -> None:
    """Histories and carried state from before patch `ownership-by-team` have no map by
    team and no holder's team: they load, and `team_supervisor` stays department-wide."""
    tl, terms = _request()
    old_terms = terms.model_dump(mode="json", exclude={"team_supervision"})
    assert RequestTerms.model_validate(old_terms).team_supervision == {}
    old_state = tl.state.model_dump(mode="json", exclude={"team"})
    assert RequestState.model_validate(old_state).team is None


# ---- compensation ----


def _ask(
    tl: Timeline, terms: RequestTerms, amount: str, actor: Actor = LI, *, running_total: bool = True
) -> str:
    transitions.request_compensation(
        tl,
        terms,
        CompensationRequest(actor=actor, amount=Decimal(amount), reason="sorry"),
        T0 + timedelta(minutes=len(tl.state.timeline)),
        running_total=running_total,
    )
    return tl.state.timeline[-1].kind


def test_the_agent_limit_bounds_the_running_total_not_each_grant() -> None:
    tl, terms = _request()
    assert _ask(tl, terms, "500") == EventKind.COMPENSATION_GRANTED
    assert _ask(tl, terms, "500") == EventKind.COMPENSATION_REQUESTED
    last = tl.state.timeline[-1]
    assert last.data["total"] == "1000"
    assert last.data["why"] == (
        "with 500 CNY already granted, the request's total of 1000 "
        "passes the agent limit of 500 CNY"
    )
    assert tl.state.compensation is not None and tl.state.compensation.status == "pending"


def test_approved_amounts_count_and_rejected_ones_do_not() -> None:
    tl, terms = _request()
    assert _ask(tl, terms, "300") == EventKind.COMPENSATION_GRANTED
    assert _ask(tl, terms, "400") == EventKind.COMPENSATION_REQUESTED
    transitions.decide_compensation(
        tl, CompensationDecision(actor=SUP, approve=False, reason="no"), T0
    )
    assert transitions.compensation_total(tl.state) == Decimal(300)
    assert _ask(tl, terms, "200") == EventKind.COMPENSATION_GRANTED  # 500 in all: at the limit
    assert _ask(tl, terms, "1") == EventKind.COMPENSATION_REQUESTED
    transitions.decide_compensation(
        tl, CompensationDecision(actor=SUP, approve=True, reason="ok"), T0
    )
    assert transitions.compensation_total(tl.state) == Decimal(501)


def test_before_the_patch_each_grant_was_judged_alone() -> None:
    tl, terms = _request()
    for _ in range(3):
        assert _ask(tl, terms, "499", running_total=False) == EventKind.COMPENSATION_GRANTED


def _pending(requested_by: Actor) -> RequestState:
    tl, terms = _request()
    _ask(tl, terms, "99999", requested_by)
    return tl.state


def test_the_requester_cannot_decide_their_own_compensation() -> None:
    s = _pending(SUP)
    err = _refused(guards.approver, s, SUP)
    assert err.type == Refusal.FORBIDDEN_ROLE.value
    assert err.message == (
        "sup-1 requested this compensation (99999 CNY) and cannot decide "
        "it; another supervisor or an admin must"
    )
    guards.approver(s, OTHER_SUP)
    guards.approver(s, ADMIN)


def test_a_service_relaying_the_requester_is_the_requester() -> None:
    s = _pending(SUP)
    for relayed in (Actor(id="sup-1", role=Role.SERVICE), Actor(id=" SUP-1", role=Role.ADMIN)):
        _refused(guards.approver, s, relayed)
