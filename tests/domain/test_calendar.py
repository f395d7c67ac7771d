from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from csflow.domain.calendar import (
    BusinessCalendar,
    CalendarOverrides,
    NoWorkingTime,
    WorkingPeriod,
)
from csflow.domain.clockspec import ClockBasis, due_at, elapsed, share_at

SH = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
US = timedelta(microseconds=1)
H = timedelta(hours=1)


def days(first: date, last: date) -> frozenset[date]:
    return frozenset(first + timedelta(n) for n in range((last - first).days + 1))


# China 2026 as the State Council's notice has it (Spring Festival and National Day).
CHINA_2026 = BusinessCalendar(
    holidays=days(date(2026, 2, 15), date(2026, 2, 23))
    | days(date(2026, 10, 1), date(2026, 10, 7)),
    makeup_workdays=frozenset(
        {date(2026, 2, 14), date(2026, 2, 28), date(2026, 9, 20), date(2026, 10, 10)}
    ),
)
# A week made for the acceptance case: holiday Monday–Wednesday, make-up Sunday before it.
HOLIDAY_WEEK = BusinessCalendar(
    holidays=days(date(2026, 11, 30), date(2026, 12, 2)),
    makeup_workdays=frozenset({date(2026, 11, 29)}),
)
BERLIN_OFFICE = BusinessCalendar(time_zone="Europe/Berlin")
NEW_YORK_24_7 = BusinessCalendar(
    time_zone="America/New_York",
    working_hours=(WorkingPeriod(start="00:00", end="24:00"),),
    weekend=frozenset(),
)
# Working hours in the small hours, with a boundary (02:30) that does not exist on the
# night clocks go forward and exists twice on the night they go back.
BERLIN_NIGHTS = BusinessCalendar(
    time_zone="Europe/Berlin",
    working_hours=(
        WorkingPeriod(start="01:00", end="02:30"),
        WorkingPeriod(start="02:45", end="04:00"),
        WorkingPeriod(start="22:00", end="24:00"),
    ),
    weekend=frozenset(),
)
# A lunch break and half-day holidays (the eves of May Day and National Day open in the
# morning only), and a make-up Saturday that works a short day of its own.
SPLIT_SHIFTS = BusinessCalendar(
    working_hours=(
        WorkingPeriod(start="09:00", end="12:00"),
        WorkingPeriod(start="13:30", end="18:00"),
    ),
    holidays=days(date(2026, 5, 1), date(2026, 5, 5)) | days(date(2026, 10, 1), date(2026, 10, 7)),
    short_days={
        date(2026, 4, 30): (WorkingPeriod(start="09:00", end="12:00"),),
        date(2026, 9, 30): (WorkingPeriod(start="09:00", end="12:00"),),
        date(2026, 6, 13): (
            WorkingPeriod(start="10:00", end="11:00"),
            WorkingPeriod(start="15:00", end="16:30"),
        ),
    },
)
# Open on Tuesdays and Fridays only.
TUESDAY_FRIDAY = BusinessCalendar(weekend=frozenset({1, 3, 4, 6, 7}))
CALENDARS = [
    CHINA_2026,
    HOLIDAY_WEEK,
    BERLIN_OFFICE,
    NEW_YORK_24_7,
    BERLIN_NIGHTS,
    SPLIT_SHIFTS,
    TUESDAY_FRIDAY,
]


def at(
    zone: tzinfo, year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=zone)


# ---- examples ----


def test_working_days_weekends_holidays_and_makeup_days() -> None:
    assert CHINA_2026.is_working_day(date(2026, 2, 13))  # Friday
    assert not CHINA_2026.is_working_day(date(2026, 2, 7))  # Saturday
    assert not CHINA_2026.is_working_day(date(2026, 2, 16))  # Spring Festival, a Monday
    assert CHINA_2026.is_working_day(date(2026, 2, 14))  # make-up Saturday


def test_working_time_is_half_open_and_lunch_is_not_work() -> None:
    c = CHINA_2026
    assert c.is_working_time(at(SH, 2026, 3, 2, 9, 0))
    assert not c.is_working_time(at(SH, 2026, 3, 2, 12, 0))
    assert not c.is_working_time(at(SH, 2026, 3, 2, 12, 30))
    assert c.is_working_time(at(SH, 2026, 3, 2, 17, 59, 59))
    assert not c.is_working_time(at(SH, 2026, 3, 2, 18, 0))
    assert c.is_working_time(at(UTC, 2026, 3, 2, 1, 0)), "09:00 Shanghai is 01:00 UTC"


def test_across_a_weekend() -> None:
    friday = at(SH, 2026, 3, 6, 17, 0)
    assert CHINA_2026.add_working_time(friday, 2 * H) == at(SH, 2026, 3, 9, 10, 0)
    assert CHINA_2026.working_time_between(friday, at(SH, 2026, 3, 9, 10, 0)) == 2 * H


def test_across_a_public_holiday() -> None:
    before = at(SH, 2026, 9, 30, 17, 0)  # Wednesday before National Day
    assert CHINA_2026.add_working_time(before, 2 * H) == at(SH, 2026, 10, 8, 10, 0)


def test_a_makeup_working_saturday_counts() -> None:
    friday = at(SH, 2026, 2, 13, 17, 0)
    assert CHINA_2026.add_working_time(friday, 2 * H) == at(SH, 2026, 2, 14, 10, 0)
    assert CHINA_2026.add_working_days(friday, 1) == at(SH, 2026, 2, 14, 18, 0)


def test_lunch_break_and_start_outside_working_time() -> None:
    c = CHINA_2026
    assert c.add_working_time(at(SH, 2026, 3, 2, 11, 30), H) == at(SH, 2026, 3, 2, 13, 30)
    assert c.add_working_time(at(SH, 2026, 3, 2, 7, 0), H) == at(SH, 2026, 3, 2, 10, 0)
    assert c.add_working_time(at(SH, 2026, 3, 2, 11, 0), H) == at(SH, 2026, 3, 2, 12, 0), (
        "ends at the end of the morning period, not at 13:00"
    )
    assert c.next_working_instant(at(SH, 2026, 3, 2, 12, 0)) == at(SH, 2026, 3, 2, 13, 0)
    assert c.add_working_time(at(SH, 2026, 3, 7, 10, 0), timedelta(0)) == at(SH, 2026, 3, 9, 9)


def test_friday_1730_plus_three_working_days_over_a_holiday_and_makeup_sunday() -> None:
    """Issue 3's acceptance case: Sunday (make-up) is day 1, Thursday 2, Friday 3."""
    friday = at(SH, 2026, 11, 27, 17, 30)
    due = HOLIDAY_WEEK.add_working_days(friday, 3)
    assert due == at(SH, 2026, 12, 4, 18, 0)
    assert due.tzinfo is UTC
    assert due_at(HOLIDAY_WEEK, friday, timedelta(days=3), "working_days") == due


def test_friday_1730_before_spring_festival_2026() -> None:
    """The real 2026 notice: Sat 14 Feb works, 15–23 Feb rest → Wednesday 25 Feb."""
    assert CHINA_2026.add_working_days(at(SH, 2026, 2, 13, 17, 30), 3) == at(SH, 2026, 2, 25, 18, 0)


def test_the_start_day_never_counts_towards_working_days() -> None:
    early = CHINA_2026.add_working_days(at(SH, 2026, 3, 2, 8, 0), 1)
    late = CHINA_2026.add_working_days(at(SH, 2026, 3, 2, 23, 0), 1)
    assert early == late == at(SH, 2026, 3, 3, 18, 0)
    with pytest.raises(ValueError, match="at least 1"):
        CHINA_2026.add_working_days(early, 0)


def test_dst_spring_forward_in_berlin() -> None:
    # Clocks go 02:00 → 03:00 on Sunday 29 March 2026; Friday 17:30 + 1 h → Monday 09:30.
    got = BERLIN_OFFICE.add_working_time(at(BERLIN, 2026, 3, 27, 17, 30), H)
    assert got == at(BERLIN, 2026, 3, 30, 9, 30)
    assert got.astimezone(BERLIN).time() == time(9, 30)
    # 01:00–02:30 that night ends when the wall clock jumps past 02:30, i.e. at 02:00 CET;
    # 02:45–04:00 starts at the same instant (03:00 CEST): two real hours in all.
    n = BERLIN_NIGHTS
    assert n.working_periods(date(2026, 3, 29))[:2] == [
        (at(UTC, 2026, 3, 29, 0), at(UTC, 2026, 3, 29, 1)),
        (at(UTC, 2026, 3, 29, 1), at(UTC, 2026, 3, 29, 2)),
    ]
    assert n.working_time_between(at(BERLIN, 2026, 3, 29, 0), at(BERLIN, 2026, 3, 29, 5)) == 2 * H
    assert n.add_working_time(at(BERLIN, 2026, 3, 29, 1, 30), H) == at(BERLIN, 2026, 3, 29, 3, 30)


def test_dst_fall_back_in_berlin() -> None:
    # 25 October 2026: 02:00–03:00 happens twice; an ambiguous reading is its first pass, so
    # 01:00–02:30 is 1.5 h and 02:45 (first pass) – 04:00 is 2.25 h.
    n = BERLIN_NIGHTS
    assert n.working_time_between(at(BERLIN, 2026, 10, 25, 0), at(BERLIN, 2026, 10, 25, 5)) == (
        timedelta(hours=3, minutes=45)
    )


def test_a_24_hour_day_is_23_or_25_hours_on_dst_days() -> None:
    c = NEW_YORK_24_7
    assert c.working_time_between(at(NEW_YORK, 2026, 3, 8), at(NEW_YORK, 2026, 3, 9)) == 23 * H
    assert c.working_time_between(at(NEW_YORK, 2026, 11, 1), at(NEW_YORK, 2026, 11, 2)) == 25 * H
    assert c.add_working_time(at(NEW_YORK, 2026, 3, 8, 1, 0), 2 * H) == at(NEW_YORK, 2026, 3, 8, 4)


def test_wall_clock_basis_is_elapsed_time_even_across_dst() -> None:
    start = at(BERLIN, 2026, 3, 28, 12, 0)
    due = due_at(BERLIN_OFFICE, start, 24 * H, "wall")
    assert due - start == 24 * H
    assert due.astimezone(BERLIN).hour == 13, "elapsed, not Python's wall-clock arithmetic"


def test_share_at_warns_in_working_time() -> None:
    start = at(SH, 2026, 3, 6, 17, 0)  # Friday: 8 working hours run to Monday 16:00
    assert share_at(CHINA_2026, start, 8 * H, "working", 0.5) == at(SH, 2026, 3, 9, 12, 0)
    assert share_at(CHINA_2026, start, 8 * H, "wall", 0.5) == start + 4 * H
    # three working days from Friday 17:30 = 1 h Friday + 3 × 8 h; half is 12.5 h in
    half = share_at(CHINA_2026, at(SH, 2026, 3, 6, 17, 0), timedelta(days=3), "working_days", 0.5)
    assert CHINA_2026.working_time_between(at(SH, 2026, 3, 6, 17, 0), half) == timedelta(
        hours=12, minutes=30
    )


# ---- the model ----


def test_round_trips_as_json_with_a_stable_version() -> None:
    raw = CHINA_2026.model_dump_json()
    back = BusinessCalendar.model_validate_json(raw)
    assert back == CHINA_2026 and back.version == CHINA_2026.version
    assert '"2026-02-14"' in raw
    moved = BusinessCalendar(
        holidays=CHINA_2026.holidays | {date(2026, 3, 2)},
        makeup_workdays=CHINA_2026.makeup_workdays,
    )
    assert moved.version != CHINA_2026.version
    assert len(CHINA_2026.version) == 12


def test_default_working_hours() -> None:
    c = BusinessCalendar()
    assert [(p.start, p.end) for p in c.working_hours] == [("09:00", "12:00"), ("13:00", "18:00")]
    assert c.weekend == {6, 7} and c.time_zone == "Asia/Shanghai"
    assert (
        BusinessCalendar.model_validate({"working_hours": [["08:30", "17:30"]]})
        .working_hours[0]
        .end
        == "17:30"
    )
    assert (
        BusinessCalendar.model_validate({"working_hours": [{"start": time(8), "end": "24:00"}]})
        .working_hours[0]
        .start
        == "08:00"
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"time_zone": "Mars/Olympus"}, "unknown time zone"),
        ({"working_hours": [["09:00", "08:00"]]}, "must end after it starts"),
        ({"working_hours": [["09:00", "13:00"], ["12:00", "18:00"]]}, "must not overlap"),
        ({"working_hours": []}, "at least one period"),
        ({"working_hours": [["9", "18:00"]]}, "HH:MM"),
        ({"weekend": [1, 2, 3, 4, 5, 6, 7]}, "every day"),
        ({"weekend": [0]}, "greater than or equal to 1"),
        ({"holidays": ["2026-10-10"], "makeup_workdays": ["2026-10-10"]}, "2026-10-10"),
        ({"holiday": []}, "Extra inputs are not permitted"),
        ({"short_days": {"2026-12-31": []}}, "at least one period"),
        (
            {"short_days": {"2026-12-31": [["11:00", "12:00"], ["09:00", "10:00"]]}},
            "must not overlap",
        ),
        (
            {"holidays": ["2026-12-31"], "short_days": {"2026-12-31": [["09:00", "12:00"]]}},
            "both a holiday and a short day",
        ),
    ],
)
def test_invalid_calendars_are_refused(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        BusinessCalendar.model_validate(data)


def test_a_calendar_without_working_time_fails_instead_of_looping() -> None:
    never = BusinessCalendar.model_construct(
        time_zone="UTC",
        working_hours=(WorkingPeriod(start="09:00", end="17:00"),),
        weekend=frozenset(range(1, 8)),
        holidays=frozenset(),
        makeup_workdays=frozenset(),
        version="x",
    )
    with pytest.raises(NoWorkingTime):
        never.add_working_time(at(UTC, 2026, 1, 1), H)
    with pytest.raises(NoWorkingTime):
        never.add_working_days(at(UTC, 2026, 1, 1), 1)


def test_overrides_win_over_the_library() -> None:
    lib_hol = frozenset({date(2027, 1, 1), date(2027, 1, 2)})
    lib_work = frozenset({date(2027, 1, 9)})
    o = CalendarOverrides(
        add_holidays=frozenset({date(2027, 1, 9)}),
        remove_holidays=frozenset({date(2027, 1, 2)}),
        add_makeup_workdays=frozenset({date(2027, 1, 3)}),
    )
    assert o.apply(lib_hol, lib_work) == (
        frozenset({date(2027, 1, 1), date(2027, 1, 9)}),
        frozenset({date(2027, 1, 3)}),
    )
    with pytest.raises(ValidationError, match="both added to and removed from holidays"):
        CalendarOverrides(
            add_holidays=frozenset({date(2027, 1, 1)}),
            remove_holidays=frozenset({date(2027, 1, 1)}),
        )


# ---- properties ----

calendars = st.sampled_from(CALENDARS)
# Uniform over about a year, or within days of a DST change (Europe and the US).
_DST_DAYS = [date(2026, 3, 8), date(2026, 3, 29), date(2026, 10, 25), date(2026, 11, 1)]
instants = st.one_of(
    st.datetimes(datetime(2025, 12, 20), datetime(2026, 12, 20), timezones=st.just(UTC)),
    st.builds(
        lambda d, s: datetime.combine(d, time(), UTC) + timedelta(seconds=s),
        st.sampled_from(_DST_DAYS),
        st.integers(-3 * 86400, 3 * 86400),
    ),
)
durations = st.timedeltas(timedelta(0), timedelta(hours=120))


@given(calendars, instants, instants, durations, durations)
def test_monotonic(
    c: BusinessCalendar, s1: datetime, s2: datetime, d1: timedelta, d2: timedelta
) -> None:
    (s1, s2), (d1, d2) = sorted((s1, s2)), sorted((d1, d2))
    assert c.add_working_time(s1, d1) <= c.add_working_time(s2, d2)


def test_a_shift_across_the_clocks_going_back_works_the_repeated_hour() -> None:
    """Found by the property below: on the night Berlin goes back (2026-10-25, 03:00
    CEST -> 02:00 CET) the 02:45-04:00 period starts at the first 02:45 and works on
    through the repeated hour, so 75 minutes from 02:00 CEST end in it, the wall clock
    reading 02:15 for the second time."""
    start = datetime(2026, 10, 25, 0, 0, tzinfo=UTC)  # 02:00 CEST, inside 01:00-02:30
    end = BERLIN_NIGHTS.add_working_time(start, timedelta(minutes=75))
    # 30 min to 02:30 CEST (00:30 UTC), then from 02:45 CEST (00:45 UTC) 45 minutes more
    assert end == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    local = end.astimezone(BERLIN_NIGHTS.zone)
    assert (local.hour, local.minute, local.fold) == (2, 30, 1), "the second 02:30"
    (s, e), *_ = (
        p for p in BERLIN_NIGHTS.working_periods(date(2026, 10, 25)) if p[0] <= end < p[1]
    )
    assert (s, e) == (
        datetime(2026, 10, 25, 0, 45, tzinfo=UTC),
        datetime(2026, 10, 25, 3, 0, tzinfo=UTC),
    )
    assert e - s == timedelta(hours=2, minutes=15), "the repeated hour is worked"


@given(calendars, instants, durations.filter(bool))
def test_a_positive_duration_ends_inside_or_at_the_end_of_a_working_period(
    c: BusinessCalendar, s: datetime, d: timedelta
) -> None:
    end = c.add_working_time(s, d)
    assert end > s
    assert c.is_working_time(end - US)
    instant = end - US
    if instant.astimezone(c.zone).replace(fold=0).astimezone(UTC) != instant:
        # The second pass of an hour the clocks went back over: only a period that spans
        # the change holds it (02:45-04:00 across 03:00 -> 02:00 works 2 h 15 min), and
        # the wall clock then reads earlier than the period's start. `is_working_time`
        # above is the check for it.
        assert c.is_working_time(instant)
        return
    local = instant.astimezone(c.zone).time()
    assert any(
        time.fromisoformat(p.start) <= local
        and (p.end == "24:00" or local < time.fromisoformat(p.end))
        for p in c.working_hours
    ), "inside the local wall-clock working hours"


@given(calendars, instants, durations)
def test_add_then_measure_round_trips(c: BusinessCalendar, s: datetime, d: timedelta) -> None:
    assert c.working_time_between(s, c.add_working_time(s, d)) == d


@given(calendars, instants)
def test_zero_from_a_working_instant_is_identity(c: BusinessCalendar, s: datetime) -> None:
    nxt = c.add_working_time(s, timedelta(0))
    assert nxt == c.next_working_instant(s) >= s
    assert c.is_working_time(nxt)
    assert (nxt == s) is c.is_working_time(s)


@settings(deadline=None)  # walks up to a year day by day; slow on a busy shared machine
@given(calendars, instants, instants, instants)
def test_measuring_is_additive(c: BusinessCalendar, a: datetime, b: datetime, x: datetime) -> None:
    a, b, x = sorted((a, b, x))
    between = c.working_time_between
    assert between(a, b) + between(b, x) == between(a, x)
    assert c.working_time_between(x, a) == -c.working_time_between(a, x)
    assert timedelta(0) <= c.working_time_between(a, x) <= x - a


@given(calendars, instants, st.integers(1, 15))
def test_working_days_end_at_close_of_business_of_the_nth_working_day(
    c: BusinessCalendar, s: datetime, n: int
) -> None:
    due = c.add_working_days(s, n)
    start_day, due_day = c.local_date(s), c.local_date(due - US)
    between = [start_day + timedelta(k) for k in range(1, (due_day - start_day).days + 1)]
    assert sum(map(c.is_working_day, between)) == n
    assert c.is_working_day(due_day) and due == c.close_of_business(due_day)
    assert due > s and c.add_working_days(s, n + 1) > due


@given(calendars, instants, durations, st.sampled_from(["wall", "working"]))
def test_due_and_elapsed_agree(
    c: BusinessCalendar, s: datetime, d: timedelta, basis: ClockBasis
) -> None:
    due = due_at(c, s, d, basis)
    assert elapsed(c, s, due, basis) == d
    if basis == "wall":
        assert due == s + d, "wall basis is plain addition (of elapsed time)"
        assert due_at(c, s.astimezone(BERLIN), d, "wall") == due


@given(calendars, instants, durations, st.floats(0, 1), st.floats(0, 1))
def test_warning_points_are_ordered_and_within_the_clock(
    c: BusinessCalendar, s: datetime, d: timedelta, a: float, b: float
) -> None:
    lo, hi = sorted((a, b))
    assert share_at(c, s, d, "working", lo) <= share_at(c, s, d, "working", hi)
    assert share_at(c, s, d, "working", 1.0) == due_at(c, s, d, "working")


# ---- several windows a day, half-day holidays, sparse schedules ----


def test_a_short_day_works_only_its_own_hours() -> None:
    c = SPLIT_SHIFTS
    assert c.working_time_between(at(SH, 2026, 4, 30), at(SH, 2026, 5, 1)) == 3 * H
    assert c.working_time_between(at(SH, 2026, 4, 29), at(SH, 2026, 4, 30)) == 7.5 * H
    assert not c.is_working_time(at(SH, 2026, 4, 30, 14))
    assert c.is_working_day(date(2026, 6, 13)), "a short day works even on a Saturday"
    assert c.working_time_between(at(SH, 2026, 6, 13), at(SH, 2026, 6, 14)) == 2.5 * H


def test_an_unset_short_day_list_keeps_the_version_it_always_had() -> None:
    """Calendars recorded before short days and teams existed hash as they did."""
    assert BusinessCalendar().version == "491dbfe9e05f"
    assert (
        BusinessCalendar(
            short_days={date(2026, 12, 31): (WorkingPeriod(start="09:00", end="12:00"),)}
        ).version
        != BusinessCalendar().version
    )
    assert BusinessCalendar(team="hotline").version != BusinessCalendar().version
    # Still hashable, as before short days (a dict) existed: terms may be set members.
    assert (
        len(
            {
                SPLIT_SHIFTS,
                BusinessCalendar.model_validate_json(SPLIT_SHIFTS.model_dump_json()),
                BusinessCalendar(),
            }
        )
        == 2
    )


short_days = st.dictionaries(
    st.dates(date(2026, 1, 1), date(2026, 3, 31)),
    st.lists(st.integers(0, 95), min_size=2, max_size=6, unique=True).map(
        lambda qs: tuple(
            WorkingPeriod(
                start=f"{a // 4:02d}:{a % 4 * 15:02d}", end=f"{b // 4:02d}:{b % 4 * 15:02d}"
            )
            for a, b in zip(sorted(qs)[::2], sorted(qs)[1::2], strict=False)
        )
    ),
    max_size=12,
)


@settings(deadline=None)
@given(
    short_days,
    st.frozensets(st.integers(1, 7), max_size=6),
    st.datetimes(datetime(2026, 1, 1), datetime(2026, 3, 31), timezones=st.just(UTC)),
    durations,
)
def test_generated_short_days_and_weekends_round_trip(
    short: dict[date, tuple[WorkingPeriod, ...]],
    weekend: frozenset[int],
    s: datetime,
    d: timedelta,
) -> None:
    """Any half days on any weekly schedule: adding then measuring gives the duration
    back, and each short day holds exactly its own periods' working time."""
    c = BusinessCalendar(weekend=weekend, short_days=short)
    assert c.working_time_between(s, c.add_working_time(s, d)) == d
    for day, periods in short.items():
        start = datetime.combine(day, time(), SH)
        length = sum((p.end_offset - p.start_offset for p in periods), timedelta(0))
        assert c.working_time_between(start, start + timedelta(days=1)) == length


# ---- the policy's calendar keys ----


def test_team_calendars_take_the_organisations_keys_they_leave_out() -> None:
    from csflow.domain.codes import Category, Channel
    from csflow.domain.policy import policy_from_mapping

    policy = policy_from_mapping(
        {
            "calendar": {
                "holidays_from": "none",
                "overrides": {"add_holidays": ["2026-12-25"]},
                "short_days": {"2026-12-31": [["09:00", "12:00"]]},
                "teams": {
                    "hotline": {
                        "channels": ["phone"],
                        "working_hours": [["00:00", "24:00"]],
                        "weekend": [],
                        "holidays_from": "none",
                    },
                    "repairs": {"channels": ["web"], "categories": ["after_sales"], "weekend": [7]},
                },
            }
        }
    )
    cal = policy.calendar
    assert cal.team_for(Channel.PHONE, Category.COMPLAINT) == "hotline"
    assert cal.team_for(Channel.WEB, Category.AFTER_SALES) == "repairs"
    assert cal.team_for(Channel.WEB, Category.COMPLAINT) is None, "both lists must match"
    hotline = cal.calendar(frozenset(), frozenset(), team="hotline")
    assert hotline.team == "hotline" and not hotline.holidays and hotline.weekend == set()
    assert hotline.short_days == {date(2026, 12, 31): (WorkingPeriod(start="09:00", end="12:00"),)}
    repairs = cal.calendar(frozenset(), frozenset(), team="repairs")
    assert repairs.holidays == {date(2026, 12, 25)}, "the organisation's holidays apply"
    assert repairs.working_hours == cal.working_hours and repairs.weekend == {7}
    assert repairs.version != cal.calendar(frozenset(), frozenset()).version


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"teams": {"night": {"working_hours": [["00:00", "24:00"]]}}},
            "names the channels and/or categories",
        ),
        ({"teams": {"Night Desk": {"channels": ["phone"]}}}, "pattern"),
        ({"teams": {"night": {"channels": ["fax"]}}}, "phone"),
        (
            {"teams": {"night": {"channels": ["phone"], "weekend": [1, 2, 3, 4, 5, 6, 7]}}},
            "every day",
        ),
        ({"short_days": {"2026-12-31": [["12:00", "09:00"]]}}, "must end after it starts"),
        (
            {
                "short_days": {"2026-12-31": [["09:00", "12:00"]]},
                "overrides": {"add_holidays": ["2026-12-31"]},
            },
            "both a holiday and a short day",
        ),
    ],
)
def test_bad_calendar_policies_are_refused(data: dict[str, object], message: str) -> None:
    from csflow.domain.policy import policy_from_mapping

    with pytest.raises(ValidationError, match=message):
        policy_from_mapping({"calendar": data})


def test_a_policy_without_short_days_or_teams_keeps_its_version() -> None:
    """Requests record the policy's version: adding these keys must not change it."""
    from csflow.domain.policy import DEFAULT_POLICY, policy_from_mapping

    # The built-in policy's hash (it moved once, when [ownership], [taxonomy] and the
    # emotion lexicon joined the policy). Calendar keys added later and left unset must
    # not move it.
    assert DEFAULT_POLICY.effective_version == "sha-3a2ebfe658c8"
    assert (
        policy_from_mapping(
            {"calendar": {"short_days": {"2026-12-31": [["09:00", "12:00"]]}}}
        ).effective_version
        != DEFAULT_POLICY.effective_version
    )
