"""The edge: holiday data from chinese-calendar, checked against the State Council notices."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from csflow.config.calendar import (
    LIBRARY_YEARS,
    CalendarDataMissing,
    build_calendar,
    china_calendar,
    china_days,
    uncovered_years,
)
from csflow.domain.calendar import CalendarOverrides
from csflow.domain.policy import CalendarPolicy

SH = ZoneInfo("Asia/Shanghai")


def span(first: date, last: date) -> set[date]:
    return {first + timedelta(n) for n in range((last - first).days + 1)}


def test_library_coverage() -> None:
    assert LIBRARY_YEARS.start <= 2025 and LIBRARY_YEARS.stop - 1 >= 2026
    assert uncovered_years([2003, 2025, 2999]) == [2003, 2999]


def test_2025_matches_the_notice() -> None:
    holidays, makeup = china_days([2025])
    assert span(date(2025, 1, 28), date(2025, 2, 4)) <= holidays  # Spring Festival
    assert span(date(2025, 10, 1), date(2025, 10, 8)) <= holidays  # National Day + Mid-autumn
    assert makeup == {
        date(2025, 1, 26),
        date(2025, 2, 8),
        date(2025, 4, 27),
        date(2025, 9, 28),
        date(2025, 10, 11),
    }


def test_2026_matches_the_notice() -> None:
    holidays, makeup = china_days([2026])
    assert span(date(2026, 2, 15), date(2026, 2, 23)) <= holidays  # Spring Festival, 9 days
    assert span(date(2026, 10, 1), date(2026, 10, 7)) <= holidays  # National Day
    assert span(date(2026, 1, 1), date(2026, 1, 3)) <= holidays
    assert makeup == {
        date(2026, 1, 4),
        date(2026, 2, 14),
        date(2026, 2, 28),
        date(2026, 5, 9),
        date(2026, 9, 20),
        date(2026, 10, 10),
    }
    assert all(d.year == 2026 for d in holidays | makeup)


def test_friday_before_spring_festival_2026_with_library_data() -> None:
    cal = china_calendar(range(2026, 2027))
    assert cal.add_working_days(datetime(2026, 2, 13, 17, 30, tzinfo=SH), 3) == datetime(
        2026, 2, 25, 18, 0, tzinfo=SH
    )


def test_overrides_and_uncovered_years() -> None:
    year_after = LIBRARY_YEARS.stop
    new_year = date(year_after, 1, 1)
    cal = china_calendar([year_after], CalendarOverrides(add_holidays=frozenset({new_year})))
    assert cal.holidays == {new_year} and not cal.makeup_workdays
    with pytest.raises(CalendarDataMissing, match=str(year_after)):
        china_days([year_after], strict=True)
    removed = china_calendar(
        [2026],
        CalendarOverrides(
            remove_holidays=frozenset({date(2026, 10, 7)}),
            add_makeup_workdays=frozenset({date(2026, 10, 3)}),
        ),
    )
    assert removed.is_working_day(date(2026, 10, 7)) and removed.is_working_day(date(2026, 10, 3))


def test_build_calendar_from_policy_settings() -> None:
    cal = build_calendar(CalendarPolicy(), date(2026, 6, 1))
    assert {d.year for d in cal.holidays} == {2025, 2026, 2027} & set(LIBRARY_YEARS)
    assert build_calendar(CalendarPolicy(holidays_from="none"), date(2026, 6, 1)).holidays == set()
    pinned = build_calendar(CalendarPolicy(first_year=2026, last_year=2026), date(2030, 1, 1))
    assert {d.year for d in pinned.holidays} == {2026}
