"""Who stands in which relation to a request: the rule behind `[ownership]` in the policy.

Pure, so the workflow's guard (which decides) and the console (which only offers the forms
a person may use) apply the very same rule to a request's holder, department and team.
"""

from __future__ import annotations

from collections.abc import Mapping

from csflow.domain.codes import Role
from csflow.domain.policy import OwnershipPolicy, Relation
from csflow.domain.routing import DESK_NAMES

# Holders that are no person: a fresh install's desks (before anyone is in the staff
# directory) and the ladder's director takeover, which names the office, not someone.
SHARED_HOLDERS = DESK_NAMES | {"director"}
_HANDLERS = (Role.AGENT, Role.ENGINEER, Role.SUPERVISOR)

Supervision = Mapping[str, tuple[str, ...]]  # department -> who supervises its people
# "department/team" -> who answers for that team's people (its supervisors, then the
# department's supervisors and head above it); "department" -> who answers for a holder in
# no team of the chart (the department's supervisors and head). RequestTerms.team_supervision.
TeamSupervision = Mapping[str, tuple[str, ...]]


def team_key(department: str | None, team: str | None) -> str:
    """The key of `TeamSupervision` for a holder of `department`, in `team` (or none)."""
    return f"{department or ''}/{team}" if team else department or ""


def same_person(a: str | None, b: str | None) -> bool:
    """Actor ids name people; a service relaying someone records that person's id, so a
    relayed command compares as the person who gave it."""
    return a is not None and b is not None and a.strip().casefold() == b.strip().casefold()


def holds(assignee: str | None, actor_id: str, role: Role) -> bool:
    """The actor holds the request. A shared holder (a desk, the director's office) is
    held by whoever of the handler roles works the request."""
    if assignee is None or assignee in SHARED_HOLDERS:
        return role in _HANDLERS
    return same_person(actor_id, assignee)


def related(
    relation: Relation,
    *,
    assignee: str | None,
    department: str | None,
    actor_id: str,
    role: Role,
    supervision: Supervision,
    team: str | None = None,
    team_supervision: TeamSupervision | None = None,
) -> bool:
    if relation == "assignee":
        return holds(assignee, actor_id, role)
    if relation == "admin":
        return role is Role.ADMIN
    if role is not Role.SUPERVISOR:
        return False
    if relation == "any_supervisor" or not supervision:
        return True  # no organisation configured: any supervisor answers for every team
    return any(
        same_person(actor_id, sup)
        for sup in team_supervisors(department, team, supervision, team_supervision)
    )


def team_supervisors(
    department: str | None,
    team: str | None,
    supervision: Supervision,
    team_supervision: TeamSupervision | None,
) -> tuple[str, ...]:
    """Who counts as `team_supervisor` for a holder of `department` in `team`.

    With the chart by team (terms since patch `ownership-by-team`): the team's own
    supervisors, then its department's supervisors and head — not another team's
    supervisors. A team the chart does not list, or no team, leaves the department's
    supervisors and head. Without it (terms from before), the department as a whole: its
    head, its supervisors and every one of its teams' supervisors."""
    if team_supervision:
        key = team_key(department, team)
        if key in team_supervision:
            return team_supervision[key]
        return team_supervision.get(team_key(department, None), ())
    return supervision.get(department or "", ())


def allowed(
    rules: OwnershipPolicy,
    command: str,
    *,
    assignee: str | None,
    department: str | None,
    actor_id: str,
    role: Role,
    supervision: Supervision,
    team: str | None = None,
    team_supervision: TeamSupervision | None = None,
) -> tuple[Relation, ...] | None:
    """None when the actor may give `command` on this request as far as ownership goes;
    otherwise the relations that would have allowed it (for the refusal's wording)."""
    relations = rules.of(command)
    if relations is None:
        return None
    for relation in relations:
        if related(
            relation,
            assignee=assignee,
            department=department,
            actor_id=actor_id,
            role=role,
            supervision=supervision,
            team=team,
            team_supervision=team_supervision,
        ):
            return None
    return relations
