"""Case 17 of docs/sla.md: two submits of one questionnaire at the same moment, through
the real API, worker, PostgreSQL and Temporal."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import pytest

from tests.api.conftest import Api, api  # noqa: F401  (the fixture, reused as is)
from tests.helpers import intake

pytestmark = pytest.mark.integration

AGENT = {"id": "agent-7", "role": "agent"}
CUSTOMER = {"id": "C-1001", "role": "customer"}


async def test_17_glpi_5180_two_submits_at_once_record_one_and_refuse_the_other(
    api: Api,  # noqa: F811
) -> None:
    """GLPI PR #5180: a satisfaction survey answered twice in parallel was stored twice.
    In csflow the workflow's `record_follow_up` is the one authority on "once": of two
    questionnaire submits sent at the same moment, one is recorded (200) and the other is
    told the survey was already answered (409) — not "please try again shortly" (503),
    which invites a customer to answer a third time."""
    r = await api.http.post(
        "/requests", json=intake(priority="P3").model_dump(mode="json", exclude_none=True)
    )
    n = r.json()["number"]
    await api.http.post(f"/requests/{n}/resolve", json={"actor": AGENT, "summary": "fixed"})
    r = await api.http.post(f"/requests/{n}/confirm", json={"actor": CUSTOMER, "satisfied": True})
    assert r.json()["status"] == "follow_up_scheduled", r.text
    path = urlsplit(r.json()["follow_up"]["survey_url"]).path

    async def submit(score: int) -> int:
        response = await api.http.post(path, data={"score": str(score), "nps": "9"})
        return response.status_code

    # The race made certain: the request's row is locked, so whichever submit the workflow
    # records first waits for its write to PostgreSQL, and the other is answered meanwhile.
    async with api.pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT 1 FROM requests WHERE number = $1 FOR UPDATE", n)
        both = [asyncio.create_task(submit(5)), asyncio.create_task(submit(4))]
        finished, _ = await asyncio.wait(both, timeout=30, return_when=asyncio.FIRST_COMPLETED)
        assert finished, "neither submit was answered while the first one's write waited"
        loser = finished.pop().result()
    statuses = sorted(await asyncio.gather(*both))
    assert loser == 409, f"the second submit got {loser}"
    assert statuses == [200, 409], statuses
    recorded = await api.pool.fetch(
        "SELECT data FROM request_events WHERE number = $1 AND kind = 'follow_up_recorded'", n
    )
    assert len(recorded) == 1
