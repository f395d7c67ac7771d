"""Triage and assignment: who gets a request, and what intake should flag (SPEC §3.1–3.2).

`triage` runs once at intake: emotion keywords, repeat-complaint lookup, then a
capacity-safe pick from the staff directory (or the queue). `release_assignment` frees
the holder's capacity and drains the queue, telling each waiting request who it got —
through an Update, so a request that ended meanwhile simply gives its place back.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import Any

import asyncpg
from temporalio import activity
from temporalio.client import Client

from csflow.activity_io import ReleaseInput, TransferInput, TransferResult, Triage, TriageInput
from csflow.domain.policy import IntakePolicy
from csflow.domain.routing import requirement
from csflow.services.assignment import drain_and_notify
from csflow.store import requests, staff


def emotion_hits(text: str, keywords: tuple[str, ...]) -> list[str]:
    """Keywords found in the customer's words; full-width and case differences ignored."""
    norm = unicodedata.normalize("NFKC", text).casefold()
    return [k for k in keywords if unicodedata.normalize("NFKC", k).casefold() in norm]


class AssignmentActivities:
    def __init__(self, pool: asyncpg.Pool[Any], intake: IntakePolicy,
                 client: Client | None = None) -> None:
        self._pool = pool
        self._intake = intake
        self._client = client

    @activity.defn(name="triage")
    async def triage(self, inp: TriageInput) -> Triage:
        emotion = emotion_hits(inp.description, self._intake.emotion_keywords)
        repeat_of: list[str] = []
        if inp.category in self._intake.repeat_categories:
            window = self._intake.repeat_window.duration
            repeat_of = await requests.earlier_requests(
                self._pool, inp.customer_id, inp.category.value, inp.received_at - window,
                inp.received_at, inp.number)
        priority = inp.priority.raised() if repeat_of else inp.priority
        need = requirement(inp.category, inp.sub_type, priority, inp.tier, bool(repeat_of))
        pick = await staff.assign(self._pool, inp.number, need, priority.value, _now())
        return Triage(emotion=emotion, repeat_of=repeat_of, assignee=pick.staff_id,
                      department=pick.department, rule=pick.rule)

    @activity.defn(name="transfer_assignment")
    async def transfer(self, inp: TransferInput) -> TransferResult:
        if inp.to_staff:
            pick = await staff.transfer(self._pool, inp.number, inp.to_staff, _now())
        else:
            assert inp.to_department
            pick = await staff.transfer_to_department(self._pool, inp.number,
                                                      inp.to_department, _now())
        if pick.staff_id is not None:
            await drain_and_notify(self._pool, self._client)  # the previous holder has room
        return TransferResult(assignee=pick.staff_id, department=pick.department,
                              rule=pick.rule)

    @activity.defn(name="release_assignment")
    async def release(self, inp: ReleaseInput) -> list[str]:
        """Free the request's holder, then give queued requests to whoever has room."""
        await staff.release(self._pool, inp.number, _now())
        return await drain_and_notify(self._pool, self._client)


def _now() -> datetime:
    return datetime.now(UTC)


