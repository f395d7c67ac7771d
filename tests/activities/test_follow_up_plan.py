"""The follow-up plan: an owner among the specialists, and a link in the customer's language."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.testing import ActivityEnvironment

from activities.followup import FOLLOW_UP_DESK, FollowUpActivities
from csflow.activity_io import PlanFollowUpInput
from csflow.config.terms import TermsProvider
from csflow.domain.policy import DEFAULT_POLICY
from csflow.links import read_survey_token

SECRET = "a-test-secret-of-enough-length"


async def plan(pool: Any, language: str) -> tuple[str, str | None]:
    acts = FollowUpActivities(
        pool,
        None,
        TermsProvider(DEFAULT_POLICY),
        public_url="https://cs.example.com",
        survey_secret=SECRET.encode(),
    )
    now = datetime.now(UTC)
    got = await ActivityEnvironment().run(
        acts.plan_follow_up,
        PlanFollowUpInput(
            number="CS20261123-WEB-0007",
            cycle=2,
            due_at=now + timedelta(days=1),
            expires_at=now + timedelta(days=7),
            language=language,
        ),
    )
    return got.owner, got.survey_url


async def test_the_link_opens_in_the_customers_language(pool: Any) -> None:
    owner, zh = await plan(pool, "zh-CN")
    _, en = await plan(pool, "en")
    assert owner == FOLLOW_UP_DESK  # nobody in the directory yet
    assert zh is not None and en is not None
    assert "?" not in zh and en.endswith("?lang=en")
    token = en.removeprefix("https://cs.example.com/survey/").removesuffix("?lang=en")
    claim = read_survey_token(token, SECRET.encode(), datetime.now(UTC))
    assert (claim.number, claim.cycle) == ("CS20261123-WEB-0007", 2)
