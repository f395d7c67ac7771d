"""SLA clocks: which deadlines a request has and what colour it is (SPEC §4).

A clock starts when its cycle starts, is due after the policy's duration, and is satisfied
by one kind of event. Clocks never override each other: the request's next deadline is the
earliest unsatisfied one, and its colour is the worst clock's colour.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from csflow.domain.codes import Priority, SlaState


class ClockKind(StrEnum):
    FIRST_RESPONSE = "first_response"
    PLAN = "plan"
    RESOLUTION = "resolution"


@dataclass(frozen=True)
class Terms:
    """How long each clock runs for one priority."""

    first_response: timedelta
    plan: timedelta
    resolution: timedelta
    progress_cadence: timedelta

    def duration(self, kind: ClockKind) -> timedelta:
        return {
            ClockKind.FIRST_RESPONSE: self.first_response,
            ClockKind.PLAN: self.plan,
            ClockKind.RESOLUTION: self.resolution,
        }[kind]


_MIN, _H = timedelta(minutes=1), timedelta(hours=1)

# SPEC §4: first response, plan ready, resolution, progress cadence.
DEFAULT_TERMS: dict[Priority, Terms] = {
    Priority.P1: Terms(15 * _MIN, 1 * _H, 2 * _H, 6 * _H),
    Priority.P2: Terms(30 * _MIN, 1 * _H, 4 * _H, 6 * _H),
    Priority.P3: Terms(2 * _H, 2 * _H, 24 * _H, 24 * _H),
}

YELLOW_SHARE = 0.75


@dataclass(frozen=True)
class ClockView:
    """What the colour function needs to know about one clock."""

    started_at: datetime
    due_at: datetime
    satisfied_at: datetime | None


def colour(clock: ClockView, now: datetime, yellow_share: float = YELLOW_SHARE) -> SlaState:
    """Red once past due (and it stays red if satisfied late), yellow past the warning share."""
    end = clock.satisfied_at or now
    if end > clock.due_at:
        return SlaState.RED
    if clock.satisfied_at is not None:
        return SlaState.GREEN
    total = (clock.due_at - clock.started_at).total_seconds()
    used = (now - clock.started_at).total_seconds()
    if total > 0 and used / total >= yellow_share:
        return SlaState.YELLOW
    return SlaState.GREEN


_RANK = {SlaState.NONE: 0, SlaState.GREEN: 1, SlaState.YELLOW: 2, SlaState.RED: 3}


def worst(states: Iterable[SlaState]) -> SlaState:
    return max(states, key=_RANK.__getitem__, default=SlaState.NONE)


def next_deadline(clocks: Iterable[ClockView]) -> datetime | None:
    pending = [c.due_at for c in clocks if c.satisfied_at is None]
    return min(pending, default=None)


def next_change(
    clock: ClockView, now: datetime, yellow_share: float = YELLOW_SHARE
) -> datetime | None:
    """When this clock's colour will next change if nothing happens — the timer to arm."""
    if clock.satisfied_at is not None:
        return None
    warn_at = clock.started_at + (clock.due_at - clock.started_at) * yellow_share
    for at in (warn_at, clock.due_at):
        if at > now:
            return at
    return None
