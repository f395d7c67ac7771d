"""SLA bugs other helpdesks shipped, as pure cases on csflow's calendar and clock engine.

Each test is written from the peer's bug report (the scenario, not their code) and names
its source. Expected instants are worked out by hand in the comments, never computed with
the code under test. The cases that need a running request are in
`test_request_cases.py`; docs/sla.md lists all seventeen as guarantees.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from csflow.config.calendar import build_calendar
from csflow.config.terms import TermsProvider
from csflow.domain import clocks
from csflow.domain.calendar import BusinessCalendar, WorkingPeriod
from csflow.domain.clocks import FiringKind
from csflow.domain.clockspec import ClockSpec
from csflow.domain.codes import Category, Channel, Priority, Tier
from csflow.domain.policy import Policy, policy_from_mapping
from csflow.domain.terms import RequestTerms, resolve_terms
from tests.helpers import intake

SH = ZoneInfo("Asia/Shanghai")
H, M = timedelta(hours=1), timedelta(minutes=1)
ROUND_THE_CLOCK = {"working_hours": [["00:00", "24:00"]], "weekend": []}


def local(text: str, zone: ZoneInfo = SH) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone)


def terms_of(policy: Policy, calendar: BusinessCalendar) -> RequestTerms:
    return resolve_terms(
        policy, calendar, Channel.WEB, Category.COMPLAINT, None, Tier.REGULAR, None
    )


def working_sla(**calendar: object) -> Policy:
    """Every P1 and P3 clock counted in working time on the given calendar."""

    def table(first: str, plan: str, resolution: str, cadence: str) -> dict[str, object]:
        return {
            k: {"duration": v, "basis": "working"}
            for k, v in (
                ("first_response", first),
                ("plan", plan),
                ("resolution", resolution),
                ("progress_cadence", cadence),
            )
        }

    return policy_from_mapping(
        {
            "sla": {"P1": table("15m", "1h", "2h", "6h"), "P3": table("2h", "4h", "16h", "8h")},
            "calendar": {"holidays_from": "none", **calendar},
        }
    )


def firings(
    clock: clocks.Clock, terms: RequestTerms, priority: Priority, until: datetime
) -> list[tuple[FiringKind, datetime]]:
    return [(f.kind, f.at) for f in clocks.fire_due([clock], terms, priority, until)]


# ---- 1 ----


def test_01_zammad_3180_a_24_7_calendar_is_never_closed_at_midnight() -> None:
    """Zammad #3180: a 24/7 calendar treated midnight as closing time, so tickets created
    just before it escalated hours late. A P1 received at 23:59:30 breaches exactly 15
    minutes later, at 00:14:30 — also across a year end, and across a DST night."""
    for zone, received in (
        (SH, "2026-11-30T23:59:30"),
        (SH, "2026-12-31T23:59:30"),
        (ZoneInfo("Europe/Berlin"), "2026-03-28T23:59:30"),
    ):
        policy = working_sla(time_zone=zone.key, **ROUND_THE_CLOCK)
        terms = terms_of(policy, policy.calendar.calendar(frozenset(), frozenset()))
        t0 = local(received, zone)
        clock = clocks.start("first_response", 1, terms, Priority.P1, t0)
        assert clock.due_at == t0 + 15 * M
        assert terms.calendar.is_working_time(t0 + 30 * M / 60), "midnight is working time"
        assert firings(clock, terms, Priority.P1, t0 + 15 * M - timedelta(microseconds=1)) == [
            (FiringKind.WARNING, t0 + 7 * M + 30 * M / 60),
            (FiringKind.WARNING, t0 + 11 * M + 15 * M / 60),
        ]
        assert firings(clock, terms, Priority.P1, t0 + 15 * M) == [(FiringKind.BREACH, t0 + 15 * M)]


# ---- 2 ----


def test_02_zammad_3706_2229_holidays_are_local_days_not_utc_days() -> None:
    """Zammad #3706 / #2229: holidays entered as dates were applied to the UTC day, a day
    early (or eight hours off) for an organisation east of Greenwich. Received 2026-09-30
    23:30 in Shanghai (15:30 UTC, still 30 September there too), on a round-the-clock desk,
    with one hour to answer: half an hour on the 30th, nothing on 1–7 October (National
    Day, as chinese-calendar has it), the rest from 00:00 local on the 8th."""
    policy = policy_from_mapping(
        {
            "sla": {"P1": {"first_response": {"duration": "1h", "basis": "working"}}},
            "calendar": {"holidays_from": "china", **ROUND_THE_CLOCK},
        }
    )
    calendar = build_calendar(policy.calendar, date(2026, 9, 30))
    terms = terms_of(policy, calendar)
    received = local("2026-09-30T23:30:00")
    assert terms.due("first_response", Priority.P1, received) == local("2026-10-08T00:30:00")
    # The local day is closed from its local midnight to the next, not from 08:00.
    assert not calendar.is_working_time(local("2026-10-01T00:00:00"))
    assert not calendar.is_working_time(local("2026-10-07T23:59:59"))
    assert calendar.is_working_time(local("2026-09-30T23:59:59"))
    assert calendar.is_working_time(local("2026-10-08T00:00:00"))
    # A holiday written by hand as an override lands on the same local day.
    one_day = BusinessCalendar(holidays=frozenset({date(2026, 10, 1)}), **ROUND_THE_CLOCK)
    assert one_day.add_working_time(received, H) == local("2026-10-02T00:30:00")


# ---- 7 ----


def test_07_glpi_10594_a_pause_over_a_weekend_subtracts_only_working_time() -> None:
    """GLPI #10594: a ticket put on hold on Friday and taken back on Monday had the whole
    weekend added to its deadline. Received Friday 2026-11-27 10:00, 16 working hours to
    resolve (due Tuesday 10:00: Fri 7 h, Mon 8 h, Tue 1 h); paused Friday 17:00 and
    resumed Monday 10:00 — the working time that passed while paused is Friday 17:00–18:00
    and Monday 09:00–10:00, two hours, so the deadline moves to Tuesday 12:00. A
    three-working-day clock on the same request moves from Wednesday 18:00 by the same
    two hours, to Thursday 11:00."""
    policy = working_sla()
    cal = policy.calendar.calendar(frozenset(), frozenset())
    terms = terms_of(policy, cal)
    received = local("2026-11-27T10:00:00")
    resolution = clocks.start("resolution", 1, terms, Priority.P3, received)
    days = clocks.Clock(
        id="days",
        name="resolution",
        cycle=1,
        started_at=received,
        spec=ClockSpec(duration=timedelta(days=3), basis="working_days"),
        running_since=received,
        due_at=local("2026-12-02T18:00:00"),
    )
    assert resolution.due_at == local("2026-12-01T10:00:00")
    for c in (resolution, days):
        clocks.pause(c, cal, local("2026-11-27T17:00:00"))
        assert c.used == 6 * H  # 10:00–12:00 and 13:00–17:00
        assert clocks.used_by(c, cal, local("2026-11-30T09:59:00")) == 6 * H
        clocks.resume(c, cal, local("2026-11-30T10:00:00"))
    assert resolution.due_at == local("2026-12-01T12:00:00")
    assert days.due_at == local("2026-12-03T11:00:00")


# ---- 11 ----


def test_11_glpi_6835_frappe_2212_1528_lunch_breaks_and_half_day_holidays() -> None:
    """GLPI #6835, Frappe #2212 / #1528: working hours could not have a lunch break, and a
    half-day closure could only be a whole-day holiday. The policy says 09:00–12:00 and
    13:30–18:00, with New Year's Eve 2026 open 09:00–12:00 only and New Year's Day off.

    - 11:30 plus one working hour: 11:30–12:00, lunch, 13:30–14:00 → 14:00.
    - New Year's Eve 11:00 plus four: 11:00–12:00 (half day), 1 January off, weekend,
      Monday 4 January 09:00–12:00 → 12:00.
    """
    policy = policy_from_mapping(
        {
            "calendar": {
                "holidays_from": "none",
                "working_hours": [["09:00", "12:00"], ["13:30", "18:00"]],
                "short_days": {"2026-12-31": [["09:00", "12:00"]]},
                "overrides": {"add_holidays": ["2027-01-01"]},
            }
        }
    )
    cal = policy.calendar.calendar(frozenset(), frozenset())
    assert cal.add_working_time(local("2026-12-29T11:30:00"), H) == local("2026-12-29T14:00:00")
    assert not cal.is_working_time(local("2026-12-29T13:00:00"))
    assert cal.add_working_time(local("2026-12-31T11:00:00"), 4 * H) == local("2027-01-04T12:00:00")
    assert not cal.is_working_time(local("2026-12-31T14:00:00")), "the afternoon is off"
    assert (
        cal.working_time_between(local("2026-12-31T00:00:00"), local("2027-01-01T00:00:00"))
        == 3 * H
    )
    # A library holiday the organisation opens for half a day is a short day, not a holiday.
    china = policy_from_mapping({"calendar": {"short_days": {"2026-10-01": [["09:00", "12:00"]]}}})
    cal = build_calendar(china.calendar, date(2026, 9, 30))
    assert date(2026, 10, 1) not in cal.holidays
    assert (
        cal.working_time_between(local("2026-10-01T00:00:00"), local("2026-10-02T00:00:00"))
        == 3 * H
    )


# ---- 12 ----


def test_12_frappe_2075_a_request_received_on_a_day_off_starts_at_the_next_opening() -> None:
    """Frappe #2075: a ticket created on a Sunday had its SLA counted from creation. One
    received Saturday 2026-11-28 10:00 (and one at 03:00 on the holiday Monday after) has
    used nothing until Tuesday 09:00, warns and breaches counted from then: P3 first
    response (2 working hours) warns at 10:00 and 10:30 and breaches at 11:00."""
    policy = working_sla(overrides={"add_holidays": ["2026-11-30"]})
    cal = policy.calendar.calendar(frozenset(), frozenset())
    terms = terms_of(policy, cal)
    opening = local("2026-12-01T09:00:00")
    for received in (local("2026-11-28T10:00:00"), local("2026-11-30T03:00:00")):
        clock = clocks.start("first_response", 1, terms, Priority.P3, received)
        assert clocks.used_by(clock, cal, opening) == timedelta(0)
        assert firings(clock, terms, Priority.P3, opening) == []
        assert firings(clock, terms, Priority.P3, opening + 2 * H) == [
            (FiringKind.WARNING, opening + H),
            (FiringKind.WARNING, opening + 90 * M),
            (FiringKind.BREACH, opening + 2 * H),
        ]


# ---- 14 ----


def test_14_chatwoot_14009_one_team_on_split_shifts_another_round_the_clock() -> None:
    """Chatwoot #14009: one business-hours setting per account, so a 24/7 team and a
    split-shift team could not share an inbox's SLA. csflow's policy names team calendars
    by the channels and categories they serve; a request counts on its team's calendar.

    At 20:00 on Monday 2026-11-30, a P3 first response (2 working hours) is due:
    - on the phone hotline (24/7): 22:00 the same evening;
    - at the repair desk (08:00–12:00 and 14:00–18:00): Tuesday 10:00;
    - anywhere else (the organisation's 09:00–12:00, 13:00–18:00): Tuesday 11:00.
    """
    policy = policy_from_mapping(
        {
            "sla": {"P3": {"first_response": {"duration": "2h", "basis": "working"}}},
            "calendar": {
                "holidays_from": "none",
                "teams": {
                    "hotline": {"channels": ["phone"], "holidays_from": "none", **ROUND_THE_CLOCK},
                    "repairs": {
                        "categories": ["after_sales"],
                        "working_hours": [["08:00", "12:00"], ["14:00", "18:00"]],
                    },
                },
            },
        }
    )
    provider = TermsProvider(policy)
    received = local("2026-11-30T20:00:00")
    cases = {
        (Channel.PHONE, Category.AFTER_SALES): ("hotline", local("2026-11-30T22:00:00")),
        (Channel.WEB, Category.AFTER_SALES): ("repairs", local("2026-12-01T10:00:00")),
        (Channel.WEB, Category.COMPLAINT): ("", local("2026-12-01T11:00:00")),
    }
    for (channel, category), (team, due) in cases.items():
        terms = provider.for_intake(
            intake(channel=channel, category=category, priority=Priority.P3), received
        )
        assert terms.calendar.team == team
        assert terms.due("first_response", Priority.P3, received) == due, (channel, category)
    assert provider.calendar(received.date(), "hotline").is_working_time(
        local("2026-12-05T03:00:00")
    ), "Saturday night is working time on the hotline"


# ---- 15 ----


def test_15_osticket_6739_a_tuesday_and_friday_schedule_never_overdue_at_once() -> None:
    """osTicket #6739: with a schedule open only a couple of days a week, new tickets came
    out overdue the moment they were created. Open Tuesdays and Fridays, 09:00–12:00 and
    13:00–18:00: a P3 first response (2 working hours) received Wednesday 2026-12-02 10:00
    is due Friday 11:00, and its clock has used nothing until Friday 09:00."""
    policy = working_sla(weekend=[1, 3, 4, 6, 7])
    cal = policy.calendar.calendar(frozenset(), frozenset())
    terms = terms_of(policy, cal)
    received = local("2026-12-02T10:00:00")
    clock = clocks.start("first_response", 1, terms, Priority.P3, received)
    assert clock.due_at == local("2026-12-04T11:00:00")
    assert clocks.colour([clock], received) == clocks.SlaState.GREEN
    assert firings(clock, terms, Priority.P3, local("2026-12-04T09:00:00")) == []
    # Resolution (16 working hours = two open days): Friday 8 h, Tuesday 8 h → 18:00.
    assert terms.due("resolution", Priority.P3, received) == local("2026-12-08T18:00:00")


TUE_FRI = BusinessCalendar(
    weekend=frozenset({1, 3, 4, 6, 7}),
    working_hours=(
        WorkingPeriod(start="09:00", end="12:00"),
        WorkingPeriod(start="13:00", end="18:00"),
    ),
)


@given(
    st.datetimes(datetime(2026, 1, 1), datetime(2027, 12, 31), timezones=st.just(UTC)),
    st.timedeltas(timedelta(seconds=1), timedelta(hours=40)),
)
def test_15_osticket_6739_no_positive_clock_is_due_at_or_before_its_start(
    received: datetime,
    duration: timedelta,
) -> None:
    """osTicket #6739, as a property: whenever a request arrives on the Tuesday/Friday
    schedule, a clock with any time at all falls due strictly later, inside an open day."""
    due = TUE_FRI.add_working_time(received, duration)
    assert due > received
    assert due.astimezone(SH).isoweekday() in (2, 5)
    assert TUE_FRI.working_time_between(received, due) == duration


# ---- 10 and 16 on the clock engine itself ----

DEFAULT_TERMS = terms_of(Policy(), Policy().calendar.calendar(frozenset(), frozenset()))
DAY_ = timedelta(days=1)


@given(st.timedeltas(timedelta(0), 45 * M), st.timedeltas(timedelta(seconds=1), 3 * 24 * H))
def test_10_glpi_7946_no_firing_is_ever_stamped_inside_a_wait(
    into: timedelta,
    wait: timedelta,
) -> None:
    """GLPI #7946, as a property of the engine: a P1 first response (breach +15 min,
    ladder +15 and +30 min after it) paused at any moment after its breach, for any
    length: nothing falls due while paused, nothing is ever stamped inside the pause, and
    both ladder steps still come, once each."""
    t0 = local("2026-12-01T10:00:00")
    clock = clocks.start("first_response", 1, DEFAULT_TERMS, Priority.P1, t0)
    paused_at = t0 + 15 * M + into
    fired = clocks.fire_due([clock], DEFAULT_TERMS, Priority.P1, paused_at)
    clocks.pause(clock, DEFAULT_TERMS.calendar, paused_at)
    assert clocks.fire_due([clock], DEFAULT_TERMS, Priority.P1, paused_at + wait) == []
    resumed_at = paused_at + wait
    clocks.resume(clock, DEFAULT_TERMS.calendar, resumed_at)
    fired += clocks.fire_due([clock], DEFAULT_TERMS, Priority.P1, resumed_at + DAY_)
    assert not [f for f in fired if paused_at < f.at < resumed_at]
    steps = [f.at for f in fired if f.kind is FiringKind.STEP]
    assert len(steps) == 2
    assert steps == sorted(steps) and all(s - t0 - 15 * M >= 15 * M for s in steps)


def test_16_zammad_4353_the_engine_rearms_a_breach_the_new_priority_forgives() -> None:
    """Zammad #4353 on the engine: P1 first response breached at +15 min, lowered to P3
    at +20 min — not red, next due at +2 h, then the P3 ladder from there (+6 h, +10 h).
    Lowered only to P2 at +40 min instead (30 min: still overdue), the whole P2 ladder
    counts from the re-count, its re-counted deadline: +1 h 40 and +2 h 40."""
    t0 = local("2026-12-01T10:00:00")
    cal = DEFAULT_TERMS.calendar
    clock = clocks.start("first_response", 1, DEFAULT_TERMS, Priority.P1, t0)
    clocks.fire_due([clock], DEFAULT_TERMS, Priority.P1, t0 + 20 * M)
    assert clock.breached_at == t0 + 15 * M
    clocks.respec(clock, DEFAULT_TERMS.spec("first_response", Priority.P3, t0), cal, t0 + 20 * M)
    assert clocks.colour([clock], t0 + 20 * M) is not clocks.SlaState.RED
    assert firings(clock, DEFAULT_TERMS, Priority.P3, t0 + 11 * H) == [
        (FiringKind.BREACH, t0 + 2 * H),
        (FiringKind.STEP, t0 + 6 * H),
        (FiringKind.STEP, t0 + 10 * H),
    ]

    clock = clocks.start("first_response", 1, DEFAULT_TERMS, Priority.P1, t0)
    clocks.fire_due([clock], DEFAULT_TERMS, Priority.P1, t0 + 40 * M)
    assert clock.steps_fired == 1  # the P1 ladder's +15 min step, at +30 min
    clocks.respec(clock, DEFAULT_TERMS.spec("first_response", Priority.P2, t0), cal, t0 + 40 * M)
    assert clock.breached_at == t0 + 15 * M, "still overdue: the breach stands"
    assert clocks.colour([clock], t0 + 40 * M) is clocks.SlaState.RED
    assert firings(clock, DEFAULT_TERMS, Priority.P2, t0 + 3 * H) == [
        (FiringKind.STEP, t0 + H + 40 * M),
        (FiringKind.STEP, t0 + 2 * H + 40 * M),
    ]


def test_10_16_histories_recorded_before_these_rules_replay_unchanged() -> None:
    """The workflow passes `rearm=False` / `shift_ladder=False` while replaying a history
    recorded before cases 10 and 16 were fixed (behind `workflow.patched`): those flags
    give back the old instants exactly — the P1 lowered to P3 stays breached with its P3
    steps at +4 h 15 and +8 h 15, and a ladder interrupted by a wait fires on the resume,
    stamped at its old instant."""
    t0 = local("2026-12-01T10:00:00")
    cal = DEFAULT_TERMS.calendar
    clock = clocks.start("first_response", 1, DEFAULT_TERMS, Priority.P1, t0)
    clocks.fire_due([clock], DEFAULT_TERMS, Priority.P1, t0 + 20 * M)
    clocks.respec(
        clock, DEFAULT_TERMS.spec("first_response", Priority.P3, t0), cal, t0 + 20 * M, rearm=False
    )
    assert clocks.colour([clock], t0 + 20 * M) is clocks.SlaState.RED
    assert firings(clock, DEFAULT_TERMS, Priority.P3, t0 + 11 * H) == [
        (FiringKind.STEP, t0 + 4 * H + 15 * M),
        (FiringKind.STEP, t0 + 8 * H + 15 * M),
    ]

    clock = clocks.start("first_response", 1, DEFAULT_TERMS, Priority.P1, t0)
    clocks.fire_due([clock], DEFAULT_TERMS, Priority.P1, t0 + 20 * M)
    clocks.pause(clock, cal, t0 + 20 * M)
    clocks.resume(clock, cal, t0 + DAY_, shift_ladder=False)
    assert firings(clock, DEFAULT_TERMS, Priority.P1, t0 + DAY_) == [
        (FiringKind.STEP, t0 + 30 * M),
        (FiringKind.STEP, t0 + 45 * M),
    ]
