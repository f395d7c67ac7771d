"""Follow-up effects: who visits, the signed questionnaire link, linked requests, and the
improvement-task rows people list and close (docs/requirements.md §3.5–3.7)."""

from __future__ import annotations

from typing import Any

import asyncpg
from temporalio import activity
from temporalio.client import Client

from csflow.activity_io import FollowUpPlan, LinkedRequestInput, PlanFollowUpInput
from csflow.config.terms import TermsProvider
from csflow.contracts import Customer, ImprovementRow, RequestIntake
from csflow.links import survey_token, survey_url
from csflow.store import improvements

FOLLOW_UP_DESK = "follow-up-desk"


class FollowUpActivities:
    def __init__(
        self,
        pool: asyncpg.Pool[Any],
        client: Client | None,
        terms: TermsProvider,
        *,
        public_url: str,
        survey_secret: bytes,
    ) -> None:
        """`survey_secret` is the key resolved once at start-up (Settings.survey_secret):
        the API verifies links with the same key."""
        self._pool = pool
        self._client = client
        self._terms = terms
        self._public_url = public_url
        self._survey_secret = survey_secret

    @activity.defn(name="plan_follow_up")
    async def plan_follow_up(self, inp: PlanFollowUpInput) -> FollowUpPlan:
        """The on-duty follow-up specialist with the fewest open follow-ups, and the link."""
        owner = await self._pool.fetchval(
            """SELECT s.id FROM staff s
               WHERE s.on_duty AND s.role = 'follow_up'
               ORDER BY (SELECT count(*) FROM requests r
                         WHERE r.status = 'follow_up_scheduled'
                           AND r.follow_up ->> 'owner' = s.id), s.id
               LIMIT 1"""
        )
        return FollowUpPlan(owner=owner or FOLLOW_UP_DESK, survey_url=self._survey_url(inp))

    def _survey_url(self, inp: PlanFollowUpInput) -> str:
        token = survey_token(inp.number, inp.cycle, inp.expires_at, self._survey_secret)
        return survey_url(self._public_url, token, lang=inp.language)

    @activity.defn(name="open_linked_request")
    async def open_linked_request(self, inp: LinkedRequestInput) -> str:
        """A new need from the follow-up becomes its own request, linked to the parent.

        Idempotent through the external id, so a retried activity opens one request.
        """
        from starter.client import CsflowClient

        assert self._client is not None
        parent = inp.intake
        intake = RequestIntake(
            customer=Customer.model_validate(parent.customer.model_dump()),
            channel=parent.channel,
            category=inp.need.category,
            sub_type=inp.need.sub_type,
            description=inp.need.description,
            external_id=f"{inp.parent}.need{inp.index}",
            related_to=[inp.parent],
        )
        csflow = CsflowClient(
            self._client, self._pool, self._terms, task_queue=activity.info().task_queue
        )
        created = await csflow.create(intake)
        return created.number

    @activity.defn(name="save_improvement")
    async def save_improvement(self, row: ImprovementRow) -> None:
        await improvements.save(self._pool, row)
