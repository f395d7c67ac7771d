"""The calendar horizon (issue 18, "The holiday data runs out silently"): known, warned
about 60 days ahead, extendable by the policy, and a deadline past it is flagged."""

from __future__ import annotations

from datetime import UTC, date, datetime

from csflow.config.calendar import LIBRARY_YEARS
from csflow.config.horizon import calendar_horizon, horizon_warning
from csflow.config.terms import TermsProvider
from csflow.domain import horizon
from csflow.domain.policy import DEFAULT_POLICY, policy_from_mapping
from tests.helpers import intake

LAST = LIBRARY_YEARS.stop - 1  # the library's last announced year


def test_the_horizon_is_the_end_of_the_last_unbroken_known_year() -> None:
    assert horizon.horizon(range(2004, 2027), today=date(2026, 11, 30)) == date(2026, 12, 31)
    assert horizon.horizon([2025, 2026, 2028], today=date(2026, 3, 1)) == date(2026, 12, 31)
    assert horizon.horizon([2025], today=date(2026, 3, 1)) is None


def test_the_warning_starts_60_days_before_and_names_the_date() -> None:
    end = date(2026, 12, 31)
    assert horizon.warning(end, date(2026, 10, 31)) is None  # 61 days left: not yet
    soon = horizon.warning(end, date(2026, 11, 1))
    assert soon is not None and "2026-12-31 (in 60 days)" in soon
    assert "notice_years" in soon
    late = horizon.warning(end, date(2027, 1, 2))
    assert late is not None and "2 days ago" in late
    none = horizon.warning(None, date(2027, 1, 2))
    assert none is not None and "no holiday data for 2027" in none


def test_the_policy_extends_the_horizon_with_next_years_notice() -> None:
    today = date(LAST, 11, 30)
    assert calendar_horizon(DEFAULT_POLICY.calendar, today) == date(LAST, 12, 31)
    assert horizon_warning(DEFAULT_POLICY.calendar, today) is not None
    nxt = LAST + 1
    policy = policy_from_mapping(
        {
            "calendar": {
                "notice_years": [nxt],
                "overrides": {
                    "add_holidays": [f"{nxt}-01-01"],
                    "add_makeup_workdays": [f"{nxt}-02-07"],
                },
            }
        }
    )
    assert calendar_horizon(policy.calendar, today) == date(nxt, 12, 31)
    assert horizon_warning(policy.calendar, today) is None
    cal = TermsProvider(policy).calendar(date(nxt, 1, 1))
    assert not cal.is_working_day(date(nxt, 1, 1))
    # Weekends only, by choice: nothing runs out.
    none = policy_from_mapping({"calendar": {"holidays_from": "none"}})
    assert horizon_warning(none.calendar, today) is None


def test_terms_carry_the_horizon_and_a_deadline_past_it_is_detected() -> None:
    received = datetime(LAST, 12, 31, 9, 0, tzinfo=UTC)
    terms = TermsProvider(DEFAULT_POLICY).for_intake(intake(), received)
    assert terms.calendar_horizon == date(LAST, 12, 31)
    tz = terms.calendar.time_zone
    assert horizon.past([datetime(LAST + 1, 1, 4, 2, 0, tzinfo=UTC)], terms.calendar_horizon, tz)
    assert not horizon.past(
        [datetime(LAST, 12, 31, 8, 0, tzinfo=UTC), None], terms.calendar_horizon, tz
    )
