"""The pure clock engine (csflow/domain/clocks.py, clockspec.py): warnings, breach and
ladder in order; pauses that keep what was used; re-counting; the request's colour.

Plain functions on a hand-made calendar and policy — no Temporal, no database — with
every expected instant worked out by hand in the comments.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from csflow.domain import clocks
from csflow.domain.calendar import BusinessCalendar
from csflow.domain.clocks import FiringKind
from csflow.domain.clockspec import ClockSpec
from csflow.domain.codes import Category, Channel, Priority, SlaState, Tier
from csflow.domain.policy import policy_from_mapping
from csflow.domain.terms import RequestTerms, resolve_terms

H = timedelta(hours=1)
M = timedelta(minutes=1)
# UTC office, 09:00–12:00 + 13:00–18:00, Saturday and Sunday off, no holidays — so
# working-time sums can be checked by hand. 2026-03-09 is a Monday.
OFFICE = BusinessCalendar(time_zone="UTC")
MONDAY_9 = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)

POLICY = policy_from_mapping(
    {
        "sla": {
            "warning_shares": [0.5, 0.75],
            "P2": {
                "first_response": "30m",
                "plan": "1h",
                "resolution": {"duration": "8h", "basis": "working"},
                "progress_cadence": "6h",
            },
            "P1": {
                "first_response": "10m",
                "plan": "30m",
                "resolution": "2h",
                "progress_cadence": "6h",
            },
        },
        "escalation": {
            "P2": [
                {"after": "1h", "notify": ["department_head"], "channels": ["email"]},
                {
                    "after": "2h",
                    "notify": ["director"],
                    "channels": ["sms"],
                    "action": "director_takeover",
                },
            ],
        },
    }
)


def terms() -> RequestTerms:
    return resolve_terms(
        POLICY, OFFICE, Channel.WEB, Category.CONSULTATION, None, Tier.REGULAR, None
    )


# ---- ClockSpec: budget and resuming after a pause ----


def test_a_working_days_budget_is_the_working_time_to_its_close_of_business() -> None:
    spec = ClockSpec(duration=timedelta(days=1), basis="working_days")
    # Monday 09:00 + 1 working day → due Tuesday 18:00; Monday and Tuesday are 8 h each.
    assert spec.due(OFFICE, MONDAY_9) == datetime(2026, 3, 10, 18, 0, tzinfo=UTC)
    assert spec.budget(OFFICE, MONDAY_9) == 16 * H


def test_resume_due_counts_only_what_is_left() -> None:
    wall = ClockSpec(duration=2 * H)
    resumed = MONDAY_9 + 5 * H
    assert wall.resume_due(OFFICE, MONDAY_9, 30 * M, resumed) == resumed + 90 * M
    working = ClockSpec(duration=8 * H, basis="working")
    # 6 h used; 2 h left from Monday 17:00 → 1 h Monday, 1 h Tuesday → Tuesday 10:00.
    assert working.resume_due(OFFICE, MONDAY_9, 6 * H, MONDAY_9 + 8 * H) == datetime(
        2026, 3, 10, 10, 0, tzinfo=UTC
    )


def test_a_clock_that_used_its_whole_allowance_is_due_when_it_resumes() -> None:
    spec = ClockSpec(duration=H)
    resumed = MONDAY_9 + 4 * H
    assert spec.resume_due(OFFICE, MONDAY_9, 3 * H, resumed) == resumed


# ---- start, warnings, breach, ladder ----


def test_clock_ids_say_the_cycle() -> None:
    t = terms()
    assert clocks.start("resolution", 1, t, Priority.P2, MONDAY_9).id == "resolution"
    assert clocks.start("resolution", 2, t, Priority.P2, MONDAY_9).id == "resolution#2"
    assert (
        clocks.start("progress_cadence", 1, t, Priority.P2, MONDAY_9).id == "progress_cadence#1.1"
    )


def test_warnings_then_breach_then_each_ladder_step_from_the_breach() -> None:
    t = terms()
    clock = clocks.start("first_response", 1, t, Priority.P2, MONDAY_9)
    assert clock.due_at == MONDAY_9 + 30 * M
    fired = clocks.fire_due([clock], t, Priority.P2, MONDAY_9 + 4 * H)
    assert [(f.kind, f.at, f.share) for f in fired] == [
        (FiringKind.WARNING, MONDAY_9 + 15 * M, 0.5),
        (FiringKind.WARNING, MONDAY_9 + 22 * M + timedelta(seconds=30), 0.75),
        (FiringKind.BREACH, MONDAY_9 + 30 * M, None),
        (FiringKind.STEP, MONDAY_9 + 90 * M, None),  # breach + 1 h
        (FiringKind.STEP, MONDAY_9 + 150 * M, None),  # breach + 2 h, not step 1 + 2 h
    ]
    assert [f.step_index for f in fired[3:]] == [0, 1]
    assert clock.breached_at == MONDAY_9 + 30 * M
    assert clocks.next_firing(clock, t, Priority.P2) is None, "the ladder is exhausted"


def test_fire_due_fires_each_thing_once_and_only_when_due() -> None:
    t = terms()
    clock = clocks.start("first_response", 1, t, Priority.P2, MONDAY_9)
    assert clocks.fire_due([clock], t, Priority.P2, MONDAY_9 + 14 * M) == []
    first = clocks.fire_due([clock], t, Priority.P2, MONDAY_9 + 15 * M)
    assert [f.kind for f in first] == [FiringKind.WARNING]
    assert clocks.fire_due([clock], t, Priority.P2, MONDAY_9 + 15 * M) == []
    assert clocks.next_wake([clock], t, Priority.P2) == MONDAY_9 + 22 * M + timedelta(seconds=30)


def test_firings_of_several_clocks_come_back_in_time_order() -> None:
    t = terms()
    response = clocks.start("first_response", 1, t, Priority.P2, MONDAY_9)
    plan = clocks.start("plan", 1, t, Priority.P2, MONDAY_9)
    fired = clocks.fire_due([plan, response], t, Priority.P2, MONDAY_9 + 60 * M)
    assert [f.at for f in fired] == sorted(f.at for f in fired)
    assert {f.clock.name for f in fired} == {"first_response", "plan"}


def test_a_clock_without_warnings_or_ladder_only_breaches() -> None:
    t = terms()
    deadline = clocks.start_deadline(
        "confirmation", 1, ClockSpec(duration=H), t, MONDAY_9, warn=False
    )
    fired = clocks.fire_due([deadline], t, Priority.P2, MONDAY_9 + 10 * H)
    assert [(f.kind, f.at) for f in fired] == [(FiringKind.BREACH, MONDAY_9 + H)]


def test_the_ladder_follows_the_priority_given_when_it_fires() -> None:
    t = terms()
    clock = clocks.start("first_response", 1, t, Priority.P2, MONDAY_9)
    clocks.fire_due([clock], t, Priority.P2, MONDAY_9 + 30 * M)  # warnings + breach
    step = clocks.next_firing(clock, t, Priority.P2)
    assert step is not None and step.step == t.ladder(Priority.P2)[0]


# ---- satisfy, stop, pause, resume ----


def test_a_satisfied_clock_fires_nothing_more_and_keeps_what_it_used() -> None:
    t = terms()
    clock = clocks.start("first_response", 1, t, Priority.P2, MONDAY_9)
    assert clocks.satisfy(clock, OFFICE, MONDAY_9 + 20 * M)
    assert clock.used == 20 * M and not clock.open
    assert clocks.fire_due([clock], t, Priority.P2, MONDAY_9 + 10 * H) == []
    assert not clocks.satisfy(clock, OFFICE, MONDAY_9 + 21 * M), "only once"
    assert not clocks.stop(clock, OFFICE, MONDAY_9 + 21 * M)


def test_a_stopped_clock_is_closed_without_being_satisfied() -> None:
    t = terms()
    clock = clocks.start("plan", 1, t, Priority.P2, MONDAY_9)
    assert clocks.stop(clock, OFFICE, MONDAY_9 + 10 * M)
    assert clock.stopped_at == MONDAY_9 + 10 * M and clock.satisfied_at is None
    assert clocks.next_firing(clock, t, Priority.P2) is None


def test_a_pause_keeps_the_time_used_and_resuming_pushes_the_deadline() -> None:
    t = terms()
    clock = clocks.start("plan", 1, t, Priority.P2, MONDAY_9)  # 1 h, wall
    assert clocks.pause(clock, OFFICE, MONDAY_9 + 20 * M)
    assert clock.paused and clock.due_at is None and clock.used == 20 * M
    assert clocks.next_firing(clock, t, Priority.P2) is None, "a paused clock never fires"
    assert not clocks.pause(clock, OFFICE, MONDAY_9 + 30 * M), "already paused"
    assert clocks.used_by(clock, OFFICE, MONDAY_9 + 5 * H) == 20 * M
    assert clocks.resume(clock, OFFICE, MONDAY_9 + 3 * H)
    # 40 min were left: due 40 min after resuming.
    assert clock.due_at == MONDAY_9 + 3 * H + 40 * M
    assert not clocks.resume(clock, OFFICE, MONDAY_9 + 4 * H), "already running"
    assert clocks.used_by(clock, OFFICE, MONDAY_9 + 3 * H + 10 * M) == 30 * M


def test_warnings_after_a_pause_fall_at_the_share_of_time_used() -> None:
    t = terms()
    clock = clocks.start("plan", 1, t, Priority.P2, MONDAY_9)  # 1 h: warnings at 30, 45 min
    clocks.pause(clock, OFFICE, MONDAY_9 + 20 * M)
    clocks.resume(clock, OFFICE, MONDAY_9 + 2 * H)
    first = clocks.next_firing(clock, t, Priority.P2)
    # 10 more minutes of use reach the 30-minute mark.
    assert first is not None and first.kind is FiringKind.WARNING
    assert first.at == MONDAY_9 + 2 * H + 10 * M


def test_a_working_time_clock_does_not_count_the_night() -> None:
    t = terms()
    evening = MONDAY_9 + 8 * H  # Monday 17:00
    clock = clocks.start("resolution", 1, t, Priority.P2, evening)  # 8 working hours
    # 1 h on Monday, 7 h on Tuesday (09:00–12:00, 13:00–17:00) → Tuesday 17:00.
    assert clock.due_at == datetime(2026, 3, 10, 17, 0, tzinfo=UTC)
    tuesday_9 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    assert clocks.used_by(clock, OFFICE, tuesday_9) == H


# ---- re-counting under new terms ----


def test_a_priority_change_recounts_from_the_time_already_used() -> None:
    t = terms()
    clock = clocks.start("resolution", 1, t, Priority.P2, MONDAY_9)  # 8 working hours
    now = MONDAY_9 + 2 * H
    clocks.respec(clock, t.spec("resolution", Priority.P1, now), OFFICE, now)
    # P1 resolution is 2 h of wall time and 2 h are used: due at once.
    assert clock.used == 2 * H and clock.running_since == now and clock.due_at == now


def test_a_new_calendar_recounts_what_is_left_on_it() -> None:
    t = terms()
    clock = clocks.start("resolution", 1, t, Priority.P2, MONDAY_9 + 4 * H)  # Monday 13:00
    # 8 working hours from Monday 13:00: 5 h on Monday, 3 h on Tuesday → Tuesday 12:00.
    assert clock.due_at == datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    holiday = BusinessCalendar(time_zone="UTC", holidays=frozenset({date(2026, 3, 10)}))
    now = MONDAY_9 + 5 * H  # Monday 14:00: 1 h used under the old calendar
    assert clocks.recount(clock, clock.spec, OFFICE, holiday, now)
    assert clock.used == H and clock.running_since == now
    # 7 h left: 4 h on Monday, Tuesday is now a holiday, 3 h on Wednesday → 12:00.
    assert clock.due_at == datetime(2026, 3, 11, 12, 0, tzinfo=UTC)


def test_recounting_never_moves_a_clock_that_has_not_begun_earlier() -> None:
    t = terms()
    future = MONDAY_9 + 3 * H
    clock = clocks.start("plan", 1, t, Priority.P2, future)
    clocks.recount(clock, clock.spec, OFFICE, OFFICE, MONDAY_9)
    assert clock.running_since == future and clock.due_at == future + H


def test_a_closed_clock_is_not_recounted() -> None:
    t = terms()
    clock = clocks.start("plan", 1, t, Priority.P2, MONDAY_9)
    clocks.satisfy(clock, OFFICE, MONDAY_9 + M)
    assert not clocks.recount(clock, ClockSpec(duration=H), OFFICE, OFFICE, MONDAY_9 + 2 * M)


# ---- the request's colour and next deadline ----


def test_colour_is_green_then_yellow_then_red_and_only_open_clocks_count() -> None:
    t = terms()
    clock = clocks.start("first_response", 1, t, Priority.P2, MONDAY_9)
    assert clocks.colour([clock], MONDAY_9 + M) is SlaState.GREEN
    clocks.fire_due([clock], t, Priority.P2, MONDAY_9 + 16 * M)
    assert clocks.colour([clock], MONDAY_9 + 16 * M) is SlaState.YELLOW
    # Past due but not yet fired is already red: the colour never lags the timer.
    assert clocks.colour([clock], MONDAY_9 + 31 * M) is SlaState.RED
    clocks.satisfy(clock, OFFICE, MONDAY_9 + 40 * M)
    assert clocks.colour([clock], MONDAY_9 + 41 * M) is SlaState.GREEN


def test_next_deadline_is_the_earliest_open_running_clock() -> None:
    t = terms()
    response = clocks.start("first_response", 1, t, Priority.P2, MONDAY_9)
    plan = clocks.start("plan", 1, t, Priority.P2, MONDAY_9)
    assert clocks.next_deadline([plan, response]) == MONDAY_9 + 30 * M
    clocks.satisfy(response, OFFICE, MONDAY_9 + 5 * M)
    assert clocks.next_deadline([plan, response]) == MONDAY_9 + H
    clocks.pause(plan, OFFICE, MONDAY_9 + 10 * M)
    assert clocks.next_deadline([plan, response]) is None


@pytest.mark.parametrize("share", [-0.1, 1.5])
def test_a_share_outside_zero_to_one_is_refused(share: float) -> None:
    with pytest.raises(ValueError, match="share"):
        ClockSpec(duration=H).share_at(OFFICE, MONDAY_9, share)
