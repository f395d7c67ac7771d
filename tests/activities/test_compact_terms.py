"""The compact terms (workflow patch `compact-terms-and-messages`): `resolve_terms` asked
with only what the policy reads answers terms that are smaller in history and decide
everything for the request as the whole terms do, read back by the workflow as the
`RequestTerms` they equal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import TypeAdapter
from pydantic_core import to_json
from temporalio.testing import ActivityEnvironment

from activities.terms import TermsActivities
from csflow.activity_io import ResolveTermsInput
from csflow.config.terms import TermsProvider
from csflow.domain.codes import Priority
from csflow.domain.policy import DEFAULT_POLICY
from csflow.domain.terms import CompactTerms, RequestTerms
from tests.helpers import intake

PROVIDER = TermsProvider(DEFAULT_POLICY)
READ_BACK = TypeAdapter(RequestTerms)
CLOCKS = ("first_response", "plan", "resolution", "progress_cadence")


async def _compact(received_at: datetime, **overrides: object) -> RequestTerms:
    given = intake(**overrides)
    terms = await ActivityEnvironment().run(
        TermsActivities(PROVIDER).resolve_terms, ResolveTermsInput.of(given, received_at)
    )
    assert isinstance(terms, CompactTerms)
    # What the workflow reads: the JSON in history, as `RequestTerms`.
    back = READ_BACK.validate_json(to_json(terms))
    assert type(back) is RequestTerms
    return back


@pytest.mark.parametrize(
    "received_at",
    [
        datetime(2026, 11, 23, 9, 30, tzinfo=UTC),  # an ordinary Monday
        datetime(2026, 9, 30, 9, 30, tzinfo=UTC),  # the eve of the National Day week
        datetime(2026, 2, 13, 15, 0, tzinfo=UTC),  # Friday evening before Spring Festival
        datetime(2026, 1, 1, 2, 0, tzinfo=UTC),  # on a holiday itself
    ],
)
async def test_compact_terms_decide_as_the_whole_terms_do(received_at: datetime) -> None:
    given = intake(amount_in_dispute="800")
    whole = PROVIDER.for_intake(given, received_at)
    compact = await _compact(received_at, amount_in_dispute="800")
    assert len(to_json(compact)) < len(to_json(whole))
    assert compact.calendar.version == whole.calendar.version
    assert compact.calendar.holidays <= whole.calendar.holidays
    for f in set(RequestTerms.model_fields) - {"calendar", "soothing_openings"}:
        assert getattr(compact, f) == getattr(whole, f), f
    language = given.customer.language
    assert compact.openings(language) == whole.openings(language)
    # Every deadline from the receipt on, for every priority a request can move to, over
    # the weeks a request lives: the same instants.
    for hours in range(0, 24 * 40, 7):
        start = received_at + timedelta(hours=hours)
        for p in Priority:
            for name in CLOCKS:
                assert compact.due(name, p, start) == whole.due(name, p, start)
                assert compact.warnings_at(name, p, start) == whole.warnings_at(name, p, start)
            for step in compact.ladder(p):
                assert compact.step_due(step, start) == whole.step_due(step, start)
        assert compact.follow_up_due(start) == whole.follow_up_due(start)
        assert compact.confirmation_due(start) == whole.confirmation_due(start)


async def test_the_compact_input_carries_no_personal_data() -> None:
    given = intake()
    wire = ResolveTermsInput.of(given, datetime(2026, 11, 23, 9, 30, tzinfo=UTC)).model_dump_json()
    assert "null" not in wire
    for personal in (given.customer.id, given.customer.name, given.description, "li.lei"):
        assert str(personal) not in wire


async def test_the_whole_intake_still_gets_the_whole_terms() -> None:
    """An activity scheduled by a history from before the patch, retried by a new worker."""
    at = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    terms = await ActivityEnvironment().run(
        TermsActivities(PROVIDER).resolve_terms, ResolveTermsInput(intake=intake(), received_at=at)
    )
    assert type(terms) is RequestTerms
    assert terms == PROVIDER.for_intake(intake(), at)


def test_an_input_without_the_intake_or_its_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="needs the intake"):
        ResolveTermsInput(received_at=datetime(2026, 11, 23, tzinfo=UTC))
