"""The ownership rule (csflow/domain/ownership.py), pure: who stands in which relation to
a request, by its holder, department and team and the organisation chart in its terms."""

from __future__ import annotations

from typing import Any

import pytest

from csflow.domain import ownership
from csflow.domain.codes import Role
from csflow.domain.org import Organisation
from csflow.domain.policy import OwnershipPolicy, policy_from_mapping
from csflow.domain.terms import supervision, team_supervision

CHART = Organisation.model_validate(
    {
        "departments": {
            "repair": {
                "head": "gao.head",
                "supervisors": ["he.sup"],
                "teams": {
                    "bench": {"supervisors": ["xu.sup"], "members": ["li.na"]},
                    "field": {"supervisors": ["wu.sup", "he.sup"], "members": ["zhao.gang"]},
                },
            },
            "care": {"head": "ma.head", "supervisors": ["chen.sup"]},
        },
        "directors": ["zhou.director"],
    }
)
RULES = OwnershipPolicy()


def _may(actor: str, *, team: str | None, by_team: bool = True, **kw: Any) -> bool:
    args: dict[str, Any] = {
        "assignee": "li.na",
        "department": "repair",
        "role": Role.SUPERVISOR,
        "supervision": supervision(CHART),
    } | kw
    return (
        ownership.allowed(
            RULES,
            "post_progress",
            actor_id=actor,
            team=team,
            team_supervision=team_supervision(CHART) if by_team else None,
            **args,
        )
        is None
    )


def test_the_map_holds_each_team_then_the_department_above_it_and_no_members() -> None:
    assert team_supervision(CHART) == {
        "repair": ("he.sup", "gao.head"),
        "repair/bench": ("xu.sup", "he.sup", "gao.head"),
        "repair/field": ("wu.sup", "he.sup", "gao.head"),  # he.sup once
        "care": ("chen.sup", "ma.head"),
    }
    assert team_supervision(Organisation()) == {}


@pytest.mark.parametrize(
    ("actor", "team", "may"),
    [
        ("xu.sup", "bench", True),  # the team's own supervisor
        ("XU.SUP ", "bench", True),  # ids compare as people do
        ("he.sup", "bench", True),  # the department's supervisor, above the team
        ("gao.head", "bench", True),  # the department head
        ("wu.sup", "bench", False),  # another team of the same department
        ("chen.sup", "bench", False),  # another department
        ("zhou.director", "bench", False),  # a director is no supervisor of the team
        ("wu.sup", "field", True),
        ("xu.sup", "field", False),
        ("xu.sup", None, False),  # in no team: the department's supervisors and head
        ("he.sup", None, True),
        ("gao.head", None, True),
        ("xu.sup", "night", False),  # a team the chart does not list: as no team
        ("he.sup", "night", True),
    ],
)
def test_team_supervisor_is_a_supervisor_of_the_holders_team(
    actor: str, team: str | None, may: bool
) -> None:
    assert _may(actor, team=team) is may


def test_terms_from_before_the_team_decide_department_wide() -> None:
    """Without the map by team (terms recorded before it, or a replay from before patch
    `ownership-by-team`), every supervisor the department's chart names counts."""
    for actor in ("xu.sup", "wu.sup", "he.sup", "gao.head"):
        assert _may(actor, team="bench", by_team=False)
    assert not _may("chen.sup", team="bench", by_team=False)


def test_without_an_organisation_any_supervisor_counts() -> None:
    for command in ("post_progress", "resolve", "request_compensation"):
        for team in ("bench", None):
            got = ownership.allowed(
                RULES,
                command,
                assignee="li.na",
                department="repair",
                team=team,
                actor_id="anyone.sup",
                role=Role.SUPERVISOR,
                supervision=supervision(Organisation()),
                team_supervision=team_supervision(Organisation()),
            )
            assert got is None


def test_only_a_supervisor_role_is_a_team_supervisor() -> None:
    assert not _may("xu.sup", team="bench", role=Role.AGENT)
    assert _may("li.na", team="bench", role=Role.ENGINEER)  # the assignee
    assert _may("root", team="bench", role=Role.ADMIN)


def test_any_supervisor_is_kept_as_it_was() -> None:
    rules = policy_from_mapping({"ownership": {"post_progress": ["any_supervisor"]}}).ownership
    got = ownership.allowed(
        rules,
        "post_progress",
        assignee="li.na",
        department="repair",
        team="bench",
        actor_id="chen.sup",
        role=Role.SUPERVISOR,
        supervision=supervision(CHART),
        team_supervision=team_supervision(CHART),
    )
    assert got is None


def test_a_refusal_names_the_relations_that_would_have_allowed_it() -> None:
    got = ownership.allowed(
        RULES,
        "request_compensation",
        assignee="li.na",
        department="repair",
        team="bench",
        actor_id="wu.sup",
        role=Role.SUPERVISOR,
        supervision=supervision(CHART),
        team_supervision=team_supervision(CHART),
    )
    assert got == ("assignee", "team_supervisor", "admin")
