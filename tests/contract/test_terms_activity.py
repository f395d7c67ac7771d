"""The `resolve_terms` activity: the terms csflow's starter would have sent, or one clear,
non-retryable failure — a retry cannot fix an intake the policy cannot be applied to."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.terms import TERMS_UNAVAILABLE, TermsActivities
from csflow.activity_io import ResolveTermsInput
from csflow.config.terms import TermsProvider
from csflow.contracts import RequestIntake
from csflow.domain.policy import DEFAULT_POLICY
from csflow.domain.terms import RequestTerms
from tests.helpers import intake

AT = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


async def test_it_resolves_what_the_starter_would_have_sent() -> None:
    provider = TermsProvider(DEFAULT_POLICY)
    terms = await ActivityEnvironment().run(
        TermsActivities(provider).resolve_terms, ResolveTermsInput(intake=intake(), received_at=AT)
    )
    assert terms == provider.for_intake(intake(), AT)


class _Uncovered(TermsProvider):
    def for_intake(self, intake: RequestIntake, received_at: datetime) -> RequestTerms:
        raise ValueError(f"no working time in the calendar around {received_at:%Y}")


async def test_an_intake_the_policy_cannot_serve_fails_once_not_forever() -> None:
    with pytest.raises(ApplicationError) as failed:
        await ActivityEnvironment().run(
            TermsActivities(_Uncovered(DEFAULT_POLICY)).resolve_terms,
            ResolveTermsInput(intake=intake(), received_at=AT),
        )
    assert failed.value.type == TERMS_UNAVAILABLE
    assert failed.value.non_retryable
    assert "no working time in the calendar around 2026" in failed.value.message
