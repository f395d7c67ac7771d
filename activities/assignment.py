"""Triage and assignment: who gets a request, and what intake should flag
(docs/requirements.md §3.1–3.2).

`triage` runs once at intake: emotion keywords, repeat-complaint lookup, then a
capacity-safe pick from the staff directory (or the queue). `release_assignment` frees
the holder's capacity and drains the queue, telling each waiting request who it got —
through an Update, so a request that ended meanwhile simply gives its place back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import asyncpg
from temporalio import activity
from temporalio.client import Client

from csflow.activity_io import ReleaseInput, TransferInput, TransferResult, Triage, TriageInput
from csflow.crypto import at_rest
from csflow.domain.emotion import matcher
from csflow.domain.org import Organisation, recipients, resolve
from csflow.domain.org_routes import EscalationRoute, EscalationRouteInput, RoutedRecipient
from csflow.domain.policy import IntakePolicy
from csflow.domain.routing import DESK_NAMES, requirement
from csflow.domain.taxonomy import Taxonomy
from csflow.services.assignment import drain_and_notify, holder_team
from csflow.store import requests, staff


def emotion_hits(text: str, keywords: tuple[str, ...]) -> list[str]:
    """Keywords found in the customer's words, by the lexicon's rules (whole words,
    segmented Chinese); full-width and case differences ignored."""
    return matcher((), (), keywords).hits(text)


def upset(text: str, intake: IntakePolicy) -> list[str]:
    """The policy's lexicon terms in the customer's words."""
    return matcher(intake.emotion.zh_CN, intake.emotion.en, intake.emotion_keywords).hits(text)


class AssignmentActivities:
    def __init__(
        self,
        pool: asyncpg.Pool[Any],
        intake: IntakePolicy,
        client: Client | None = None,
        org: Organisation | None = None,
        taxonomy: Taxonomy | None = None,
    ) -> None:
        self._pool = pool
        self._intake = intake
        self._client = client
        self._org = org or Organisation()
        self._taxonomy = taxonomy or Taxonomy()

    @activity.defn(name="triage")
    async def triage(self, inp: TriageInput) -> Triage:
        # Sealed with the customer's key at the edge: opened here, the one place triage
        # needs the words ("(erased)" matches no emotion).
        emotion = upset(await at_rest.opened(self._pool, inp.description), self._intake)
        repeat_of: list[str] = []
        if inp.category in self._intake.repeat_categories:
            window = self._intake.repeat_window.duration
            repeat_of = await requests.earlier_requests(
                self._pool,
                inp.customer_id,
                inp.category.value,
                inp.received_at - window,
                inp.received_at,
                inp.number,
            )
        priority = inp.priority.raised() if repeat_of else inp.priority
        need = requirement(
            inp.category, inp.sub_type, priority, inp.tier, bool(repeat_of), upset=bool(emotion)
        )
        if extra := self._taxonomy.skills(inp.category, inp.sub_type):  # `[taxonomy]` skills
            need = replace(need, skills=tuple(dict.fromkeys((*extra, *need.skills))))
        pick = await staff.assign(self._pool, inp.number, need, priority.value, _now())
        return Triage(
            emotion=emotion,
            repeat_of=repeat_of,
            assignee=pick.staff_id,
            department=pick.department,
            team=await holder_team(self._pool, self._org, pick.staff_id),
            rule=pick.rule,
        )

    @activity.defn(name="transfer_assignment")
    async def transfer(self, inp: TransferInput) -> TransferResult:
        if inp.to_staff:
            pick = await staff.transfer(self._pool, inp.number, inp.to_staff, _now())
        else:
            assert inp.to_department
            pick = await staff.transfer_to_department(
                self._pool, inp.number, inp.to_department, _now()
            )
        if pick.staff_id is not None:
            await drain_and_notify(
                self._pool, self._client, self._org
            )  # the previous holder has room
        return TransferResult(
            assignee=pick.staff_id,
            department=pick.department,
            team=await holder_team(self._pool, self._org, pick.staff_id),
            rule=pick.rule,
        )

    @activity.defn(name="release_assignment")
    async def release(self, inp: ReleaseInput) -> list[str]:
        """Free the request's holder, then give queued requests to whoever has room."""
        await staff.release(self._pool, inp.number, _now())
        return await drain_and_notify(self._pool, self._client, self._org)

    @activity.defn(name="route_escalation")
    async def route_escalation(self, inp: EscalationRouteInput) -> EscalationRoute:
        """A ladder step's people, resolved relative to the request (its department, its
        holder's team) with the organisation's fallback chain; and for `reassign` /
        `director_takeover`, the move itself (a repeat finds the request already moved)."""
        roster = await staff.duty_roster(self._pool)
        holder = None if inp.assignee in DESK_NAMES else inp.assignee
        department = inp.department or (roster[holder][1] if holder in roster else None)

        def on_duty(staff_id: str) -> bool:
            return staff_id in roster and roster[staff_id][0]

        found = recipients(
            self._org, inp.roles, department=department, assignee=holder, on_duty=on_duty
        )
        out = [
            RoutedRecipient(
                role=r.role,
                staff_id=r.staff_id or _directory_pick(roster, r.role, department),
                via=r.via,
            )
            for r in found
        ]
        route = EscalationRoute(recipients=_once_each(out))
        if inp.action == "reassign":
            return await self._reassign(inp, route, department, holder, on_duty)
        if inp.action == "director_takeover":
            director = resolve(
                self._org, "director", department=department, assignee=holder, on_duty=on_duty
            )
            target = director.staff_id or _directory_pick(roster, "director", department)
            if target is None:
                route.rule = "director takeover: no director on duty"
                return route
            pick = await staff.take_over(self._pool, inp.number, target, _now())
            route.assignee, route.department = pick.staff_id, pick.department
            route.team = await holder_team(self._pool, self._org, pick.staff_id)
            route.rule = f"director takeover → {target} ({director.via})"
        return route

    async def _reassign(
        self,
        inp: EscalationRouteInput,
        route: EscalationRoute,
        department: str | None,
        holder: str | None,
        on_duty: Callable[[str], bool],
    ) -> EscalationRoute:
        """The next senior person: a more senior handler of the department with room,
        else the supervisor the chain reaches (who takes it whatever their load)."""
        for candidate in await staff.seniors_above(self._pool, department, holder):
            pick = await staff.transfer(self._pool, inp.number, candidate, _now())
            if pick.staff_id is not None:
                route.assignee, route.department = pick.staff_id, pick.department
                route.team = await holder_team(self._pool, self._org, pick.staff_id)
                route.rule = f"ladder reassign → {candidate} (more senior, has room)"
                return route
        sup = resolve(
            self._org, "supervisor", department=department, assignee=holder, on_duty=on_duty
        )
        if sup.staff_id is not None and sup.staff_id != holder:
            pick = await staff.take_over(self._pool, inp.number, sup.staff_id, _now())
            route.assignee, route.department = pick.staff_id, pick.department
            route.team = await holder_team(self._pool, self._org, pick.staff_id)
            route.rule = f"ladder reassign → {sup.staff_id} ({sup.via})"
        else:
            route.rule = "ladder reassign: nobody more senior on duty"
        return route


def _directory_pick(
    roster: dict[str, tuple[bool, str, str]], role: str, department: str | None
) -> str | None:
    """Without an organisation chart: an on-duty supervisor of the request's department,
    else of any department (heads and directors then come from the notify config)."""
    if role != "supervisor":
        return None
    on = sorted(i for i, (duty, _, r) in roster.items() if duty and r == "supervisor")
    same = [i for i in on if roster[i][1] == department]
    return (same or on)[0] if (same or on) else None


def _once_each(found: list[RoutedRecipient]) -> list[RoutedRecipient]:
    seen: set[str] = set()
    out = []
    for r in found:
        key = r.staff_id or f"role:{r.role}"
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def _now() -> datetime:
    return datetime.now(UTC)
