from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from csflow.domain.codes import Priority, SlaState
from csflow.domain.sla import DEFAULT_TERMS, ClockView, colour, next_change, next_deadline, worst

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_default_terms_are_the_spec_table() -> None:
    p1, p2, p3 = (DEFAULT_TERMS[p] for p in Priority)
    assert (p1.first_response, p1.plan, p1.resolution, p1.progress_cadence) == (
        timedelta(minutes=15), timedelta(hours=1), timedelta(hours=2), timedelta(hours=6))
    assert (p2.first_response, p2.plan, p2.resolution, p2.progress_cadence) == (
        timedelta(minutes=30), timedelta(hours=1), timedelta(hours=4), timedelta(hours=6))
    assert (p3.first_response, p3.plan, p3.resolution, p3.progress_cadence) == (
        timedelta(hours=2), timedelta(hours=2), timedelta(hours=24), timedelta(hours=24))


def test_colours_over_a_clock_life() -> None:
    c = ClockView(T0, T0 + timedelta(minutes=40), None)
    assert colour(c, T0 + timedelta(minutes=29)) is SlaState.GREEN
    assert colour(c, T0 + timedelta(minutes=30)) is SlaState.YELLOW
    assert colour(c, T0 + timedelta(minutes=40)) is SlaState.YELLOW
    assert colour(c, T0 + timedelta(minutes=40, seconds=1)) is SlaState.RED
    late = ClockView(T0, T0 + timedelta(minutes=40), T0 + timedelta(minutes=41))
    assert colour(late, T0 + timedelta(days=9)) is SlaState.RED, "a late answer stays red"
    on_time = ClockView(T0, T0 + timedelta(minutes=40), T0 + timedelta(minutes=39))
    assert colour(on_time, T0 + timedelta(days=9)) is SlaState.GREEN


@given(st.integers(1, 10**6), st.integers(0, 2 * 10**6))
def test_next_change_is_the_next_colour_boundary(duration_s: int, elapsed_s: int) -> None:
    c = ClockView(T0, T0 + timedelta(seconds=duration_s), None)
    now = T0 + timedelta(seconds=elapsed_s)
    at = next_change(c, now)
    if at is None:
        assert colour(c, now) is SlaState.RED or now >= c.due_at
    else:
        assert at > now
        assert colour(c, at - timedelta(microseconds=1)) is colour(c, now)


def test_worst_and_next_deadline() -> None:
    assert worst([SlaState.GREEN, SlaState.RED, SlaState.YELLOW]) is SlaState.RED
    assert worst([]) is SlaState.NONE
    a = ClockView(T0, T0 + timedelta(hours=2), None)
    b = ClockView(T0, T0 + timedelta(hours=1), T0)
    assert next_deadline([a, b]) == a.due_at
    assert next_deadline([b]) is None
