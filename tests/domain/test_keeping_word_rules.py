"""The pure rules behind issue 18's "keeping our word" (tests/workflows/test_keeping_word.py
runs them on the server): the policy keys and their validation, the terms a request
carries, the soothing first reply and the team supervisor."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError
from temporalio.exceptions import ApplicationError

from csflow.activity_io import Triage
from csflow.config.terms import TermsProvider
from csflow.console.phrases import DEFAULT_PATH, Step, load_phrases
from csflow.contracts import Actor, CloseCommand, ServiceRequestInput
from csflow.domain.codes import Category, Role
from csflow.domain.events import EventKind
from csflow.domain.lifecycle import Command, Status
from csflow.domain.policy import DEFAULT_POLICY, DEFAULT_SOOTHING, policy_from_mapping
from csflow.refusals import Refusal
from tests.helpers import intake
from workflows.service_request import guards, transitions
from workflows.service_request.timeline import Timeline

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
ORG: dict[str, Any] = {
    "departments": {
        "care": {"head": "ma.head", "supervisors": ["chen.sup"]},
        "repair": {
            "head": "gao.head",
            "supervisors": ["he.sup"],
            "teams": {"bench": {"supervisors": ["xu.sup"], "members": ["li.na"]}},
        },
    },
    "directors": ["zhou.director"],
}


def _request(
    policy: dict[str, Any] | None = None,
    department: str = "repair",
    flags: list[str] | None = None,
    **kw: Any,
) -> tuple[Timeline, Any]:
    given = intake(**kw)
    terms = TermsProvider(policy_from_mapping(policy or {})).for_intake(given, T0)
    inp = ServiceRequestInput(
        number="CS20261123-WEB-0001", intake=given, received_at=T0, terms=terms
    )
    tl = Timeline(transitions.new_state(inp, terms), lambda e: None)
    transitions.intake(
        tl, terms, inp, Triage(assignee="li.na", department=department, rule="test"), T0
    )
    tl.state.flags = flags or []
    return tl, terms


def _refused(call: Any, *args: Any) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        call(*args)
    return caught.value


# ---- policy keys ----


def test_the_new_keys_default_and_leave_the_policy_version_alone() -> None:
    """A policy that does not set the new keys keeps the version it had before them."""
    assert DEFAULT_POLICY.follow_up.skip_roles == (Role.SUPERVISOR, Role.ADMIN)
    assert DEFAULT_POLICY.intake.soothing_openings == DEFAULT_SOOTHING
    explicit = policy_from_mapping(
        {
            "follow_up": {"skip_roles": ["supervisor", "admin"]},
            "intake": {"soothing_openings": {"en": list(DEFAULT_SOOTHING["en"])}},
        }
    )
    assert explicit.effective_version == DEFAULT_POLICY.effective_version
    changed = policy_from_mapping({"follow_up": {"skip_roles": ["admin"]}})
    assert changed.effective_version != DEFAULT_POLICY.effective_version


def test_a_language_listed_replaces_only_its_own_openings() -> None:
    pol = policy_from_mapping({"intake": {"soothing_openings": {"en": ["Apologies"]}}})
    assert pol.intake.soothing_openings["en"] == ("Apologies",)
    assert pol.intake.soothing_openings["zh-CN"] == DEFAULT_SOOTHING["zh-CN"]


@pytest.mark.parametrize(
    ("bad", "path"),
    [
        ({"follow_up": {"skip_roles": ["customer"]}}, "follow_up.skip_roles"),
        ({"follow_up": {"skip_roles": []}}, "follow_up.skip_roles"),
        ({"follow_up": {"skip_roles": ["boss"]}}, "follow_up.skip_roles"),
        ({"intake": {"soothing_openings": {"en": []}}}, "intake.soothing_openings"),
        ({"intake": {"soothing_openings": {"English!": ["Sorry"]}}}, "intake.soothing_openings"),
        ({"intake": {"soothing_openings": {"en": [""]}}}, "intake.soothing_openings"),
    ],
)
def test_bad_new_keys_are_refused_with_their_path(bad: dict[str, Any], path: str) -> None:
    with pytest.raises(ValidationError) as caught:
        policy_from_mapping(bad)
    assert path.split(".")[0] in str(caught.value) and path.split(".")[1] in str(caught.value)


# ---- the terms a request carries ----


def test_terms_carry_the_skip_roles_openings_department_and_supervision() -> None:
    _, terms = _request(
        {
            "organisation": ORG,
            "follow_up": {"skip_roles": ["admin"]},
            "taxonomy": {
                "categories": {"complaint": {"sub_types": {"quality": {"department": "repair"}}}}
            },
        },
        sub_type="quality",
    )
    assert terms.skip_follow_up_roles == (Role.ADMIN,)
    assert terms.improvement_department == "repair"
    assert terms.supervision == {
        "care": ("ma.head", "chen.sup"),
        "repair": ("gao.head", "he.sup", "xu.sup"),
    }
    assert terms.openings("zh-CN") == DEFAULT_SOOTHING["zh-CN"]
    assert terms.openings("en-GB") == DEFAULT_SOOTHING["en"], "by the primary tag"
    assert terms.openings("ja") == ()


# ---- closing before the follow-up ----


def _scheduled(tl: Timeline) -> None:
    tl.append(
        EventKind.FOLLOW_UP_SCHEDULED,
        Actor(id="csflow", role=Role.SYSTEM),
        T0,
        to=Status.FOLLOW_UP_SCHEDULED,
    )


def test_close_before_the_follow_up_needs_a_skip_role_and_a_reason() -> None:
    tl, terms = _request()
    _scheduled(tl)
    roles = terms.skip_follow_up_roles
    agent = Actor(id="li.na", role=Role.AGENT)
    sup = Actor(id="he.sup", role=Role.SUPERVISOR)
    err = _refused(guards.close_keeps_its_word, tl.state, CloseCommand(actor=agent), roles)
    assert err.type == Refusal.FORBIDDEN_ROLE.value
    err = _refused(
        guards.close_keeps_its_word, tl.state, CloseCommand(actor=sup, reason="  "), roles
    )
    assert err.type == Refusal.INVALID.value
    guards.close_keeps_its_word(tl.state, CloseCommand(actor=sup, reason="asked"), roles)
    assert transitions.skipped_follow_up(tl.state, sup)["skipped_by_role"] == "supervisor"


def test_after_the_follow_up_anyone_allowed_closes_unless_an_improvement_is_open() -> None:
    tl, terms = _request()
    tl.append(
        EventKind.FOLLOW_UP_RECORDED, Actor(id="fu", role=Role.FOLLOW_UP), T0, to=Status.FOLLOWED_UP
    )
    agent = Actor(id="li.na", role=Role.AGENT)
    guards.close_keeps_its_word(tl.state, CloseCommand(actor=agent), terms.skip_follow_up_roles)
    tl.state.improvements.append("X-IMP1")
    err = _refused(
        guards.close_keeps_its_word, tl.state, CloseCommand(actor=agent), terms.skip_follow_up_roles
    )
    assert err.type == Refusal.ILLEGAL_STATE.value and "X-IMP1" in str(err)
    tl.append(
        EventKind.IMPROVEMENT_CLOSED,
        Actor(id="csflow", role=Role.SYSTEM),
        T0,
        data={"task_id": "X-IMP1"},
    )
    assert guards.open_improvements(tl.state) == []


# ---- the soothing first reply ----


def test_every_soothing_phrase_of_the_console_is_a_soothing_opening() -> None:
    """The console offers these first to an upset customer: each must pass the check."""
    tl, terms = _request(flags=["soothe_first"])
    library = load_phrases(DEFAULT_PATH, terms.banned_phrases)
    for lang in ("zh-CN", "en"):
        offered = library.offer(
            Command.POST_PROGRESS, Category.COMPLAINT, lang, upset=True, number="N", agent="A"
        )
        soothing = [p for p in offered if p.step is Step.SOOTHING]
        assert soothing
        for phrase in soothing:
            guards.soothing_first(tl.state, phrase.text, terms.openings(lang))


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("We're sorry for the wait. The parcel is on its way.", True),
        ("Hello Li Lei, I understand how annoying this is.", True),
        ("The parcel is on its way. We're sorry for the wait.", False),  # not the opening
        ("Your parcel was re-sent today.", False),
    ],
)
def test_the_opening_is_looked_for_in_the_first_sentence(text: str, ok: bool) -> None:
    tl, terms = _request(flags=["soothe_first"])
    if ok:
        guards.soothing_first(tl.state, text, terms.openings("en"))
    else:
        err = _refused(guards.soothing_first, tl.state, text, terms.openings("en"))
        assert err.type == Refusal.COMPLIANCE.value


def test_only_the_first_reply_is_checked() -> None:
    tl, terms = _request(flags=["soothe_first"])
    tl.append(
        EventKind.PROGRESS_POSTED,
        Actor(id="li.na", role=Role.AGENT),
        T0,
        reason="We're sorry, on it.",
    )
    guards.soothing_first(tl.state, "The parcel left at 15:00.", terms.openings("en"))


# ---- the team supervisor ----


def test_team_supervisor_is_checked_against_the_organisation() -> None:
    tl, terms = _request({"organisation": ORG}, department="repair")
    rules, sup = terms.ownership, terms.supervision
    for who in ("xu.sup", "he.sup", "gao.head"):
        actor = Actor(id=who, role=Role.SUPERVISOR)
        guards.owner(tl.state, Command.RESOLVE, actor, rules, sup)
    chen = Actor(id="chen.sup", role=Role.SUPERVISOR)
    err = _refused(guards.owner, tl.state, Command.RESOLVE, chen, rules, sup)
    assert err.type == Refusal.FORBIDDEN_ROLE.value
    # "any_supervisor" still means any; no chart configured, any supervisor counts.
    anyone = policy_from_mapping({"ownership": {"resolve": ["any_supervisor"]}}).ownership
    guards.owner(tl.state, Command.RESOLVE, chen, anyone, sup)
    guards.owner(tl.state, Command.RESOLVE, chen, rules, {})
