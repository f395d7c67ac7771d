"""Handing out request numbers from the worker's PostgreSQL (docs/architecture.md).

Callers reach csflow through Temporal alone, so the counter lives behind the numbering
workflow (`workflows/numbering.py`), which runs this as a *local* activity: one short
database round trip inside the workflow task that answers the Update, with no activity
task through the server (docs/performance.md measures what that costs per create).
"""

from __future__ import annotations

from typing import Any

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError

from csflow.config.terms import TermsProvider
from csflow.domain.numbering import IssuedNumber, NumberRequest, business_day
from csflow.refusals import Refusal
from csflow.store import requests as store

NUMBERING_REFUSED = Refusal.NUMBERING_REFUSED


class NumberingActivities:
    def __init__(self, pool: asyncpg.Pool[Any], terms: TermsProvider) -> None:
        self._pool = pool
        self._tz = terms.policy.calendar.time_zone

    @activity.defn(name="allocate_number")
    async def allocate_number(self, req: NumberRequest) -> IssuedNumber:
        """The next serial for the request's business day and channel, or the number its
        external id was given before.

        The day is taken in the organisation's time zone (the worker's policy), so a
        caller needs no calendar of its own. Safe to re-run: an external id is bound
        once; without one a re-run only leaves a gap in the serials. Connection trouble is
        retried; data the database refuses is not.
        """
        day = business_day(req.received_at, self._tz)
        try:
            number, existing = await store.issue_number(
                self._pool, day, req.channel, req.external_id
            )
        except (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError) as err:
            raise ApplicationError(
                f"no number for this request: {err}", type=NUMBERING_REFUSED, non_retryable=True
            ) from err
        return IssuedNumber(number=number, existing=existing)
