"""The organisation chart (docs/policy.md "Organisation"): departments and their teams, each
with a head and supervisors; the directors, in duty order; who covers whom.

Escalations used to reach "the alphabetically first on-duty supervisor of the company" and a
single global head and director. Here every recipient of a ladder step is resolved relative
to the request — its department, the team of whoever holds it — and when that person is off
duty the chain falls back: their cover, then the next level up, finally the on-duty
director. Pure: who is on duty comes in as a function, so the same rules run in the
activity (against the staff directory) and in tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, model_validator

StaffId = str
OnDuty = Callable[[StaffId], bool]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Team(_Model):
    """A team inside a department; `members` are the people its supervisors look after."""

    supervisors: tuple[StaffId, ...] = ()
    members: tuple[StaffId, ...] = ()


class Department(_Model):
    head: StaffId | None = None
    supervisors: tuple[StaffId, ...] = ()
    teams: dict[str, Team] = Field(default_factory=dict)


class Organisation(_Model):
    """`covers[x]` lists, in order, who stands in for x while x is off duty."""

    departments: dict[str, Department] = Field(default_factory=dict)
    directors: tuple[StaffId, ...] = ()  # duty order: the first on duty is "on duty"
    covers: dict[StaffId, tuple[StaffId, ...]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Organisation:
        seen: dict[str, str] = {}
        for dname, dept in self.departments.items():
            for tname, team in dept.teams.items():
                for m in team.members:
                    where = f"{dname}/{tname}"
                    if m in seen and seen[m] != where:
                        raise ValueError(
                            f"organisation: {m} is a member of both {seen[m]} and {where}"
                        )
                    seen[m] = where
        for person, backups in self.covers.items():
            if person in backups:
                raise ValueError(f"organisation.covers: {person} cannot cover themself")
        return self

    @property
    def configured(self) -> bool:
        return bool(self.departments or self.directors)

    def team_of(self, staff_id: str | None) -> tuple[str, str] | None:
        """(department, team) the person is a member of, if any."""
        if staff_id is None:
            return None
        for dname, dept in self.departments.items():
            for tname, team in dept.teams.items():
                if staff_id in team.members:
                    return dname, tname
        return None

    def supervisors_of(self, department: str) -> tuple[StaffId, ...]:
        """Who answers for the people of `department`: its head, its supervisors and its
        teams' supervisors — the `team_supervisor` of the policy's `[ownership]`."""
        dept = self.departments.get(department)
        if dept is None:
            return ()
        out = [*([dept.head] if dept.head else []), *dept.supervisors]
        for team in dept.teams.values():
            out += team.supervisors
        return tuple(dict.fromkeys(out))

    def people(self) -> set[StaffId]:
        """Everyone the chart names — `csflow policy check` can compare with the directory."""
        out: set[str] = set(self.directors)
        for dept in self.departments.values():
            out |= set(dept.supervisors) | ({dept.head} if dept.head else set())
            for team in dept.teams.values():
                out |= set(team.supervisors) | set(team.members)
        for person, backups in self.covers.items():
            out |= {person, *backups}
        return out


@dataclass(frozen=True)
class Resolved:
    """Who gets a ladder step meant for `role`; `staff_id` None: nobody on duty anywhere in
    the chain (the role's contact from the notification config is used)."""

    role: str
    staff_id: StaffId | None
    via: str


def resolve(
    org: Organisation, role: str, *, department: str | None, assignee: str | None, on_duty: OnDuty
) -> Resolved:
    """The person a step's `role` reaches for this request, with the fallback chain."""
    if role == "owner":
        return Resolved(role, assignee, "holder") if assignee else Resolved(role, None, "none")
    dept_name = department
    team = org.team_of(assignee)
    if team is not None and dept_name is None:
        dept_name = team[0]
    dept = org.departments.get(dept_name) if dept_name else None
    chain: list[tuple[str, Iterable[str]]] = []
    if role == "supervisor":
        if dept is not None and team is not None and team[0] == dept_name:
            chain.append((f"team {team[1]} supervisor", dept.teams[team[1]].supervisors))
        if dept is not None:
            chain.append((f"{dept_name} supervisor", dept.supervisors))
    if role in ("supervisor", "department_head") and dept is not None and dept.head:
        chain.append((f"{dept_name} head", (dept.head,)))
    chain.append(("director on duty", org.directors))
    for via, candidates in chain:
        found = _first_on_duty(org, candidates, on_duty)
        if found is not None:
            person, covering = found
            return Resolved(role, person, via + (f" (covering {covering})" if covering else ""))
    return Resolved(role, None, "nobody on duty")


def _first_on_duty(
    org: Organisation, candidates: Iterable[str], on_duty: OnDuty
) -> tuple[str, str | None] | None:
    """The first candidate on duty; else the first on-duty cover of a candidate, in order."""
    candidates = tuple(candidates)
    for c in candidates:
        if on_duty(c):
            return c, None
    for c in candidates:
        for backup in org.covers.get(c, ()):
            if on_duty(backup):
                return backup, c
    return None


def recipients(
    org: Organisation,
    roles: Iterable[str],
    *,
    department: str | None,
    assignee: str | None,
    on_duty: OnDuty,
) -> list[Resolved]:
    """One entry per person (the first role that reached them), so a person who is both
    the supervisor and, by fallback, the head is paged once for the step."""
    out: list[Resolved] = []
    people: set[str] = set()
    unresolved: set[str] = set()
    for role in roles:
        r = resolve(org, role, department=department, assignee=assignee, on_duty=on_duty)
        if r.staff_id is None:
            if role not in unresolved:
                unresolved.add(role)
                out.append(r)
        elif r.staff_id not in people:
            people.add(r.staff_id)
            out.append(r)
    return out


def ladder_gaps(org: Organisation, named: set[str]) -> list[str]:
    """What a configured chart lacks for the ladder's recipients (`named`): a department
    without a head when a step pages `department_head`, no director when one pages or
    hands over to `director`. Without a chart nothing is checked (the notification
    config's role contacts are used)."""
    if not org.configured:
        return []
    gaps = []
    if "department_head" in named:
        gaps += [
            f"organisation.departments.{d}: no `head`, but the ladder pages department_head"
            for d, dept in org.departments.items()
            if not dept.head
        ]
    if "director" in named and not org.directors:
        gaps.append("organisation.directors: empty, but the ladder pages the director")
    return gaps
