"""The SLA clocks of one request and what is due on them (docs/requirements.md §3.2–3.3, §4).

Each clock counts one promise — first response, plan, resolution, the progress cadence —
independently: satisfying one never touches another. A clock runs in segments (it pauses
while the request waits on the customer), so it keeps `used` (time consumed in closed
segments) and `running_since` (start of the open one) rather than a fixed deadline.

What falls due on a clock, in order: a warning at each configured share of its time
(yellow), the breach at its deadline (red), then each step of the escalation ladder,
counted from the breach. `next_firing` says when the next of these is; `fire_due` moves a
clock past everything due by `now` and returns the firings, each stamped with the exact
instant it was due — so the audit trail reads "breached at 09:30:00", not "noticed at
09:30:00.140". Pure: the workflow passes `workflow.now()` and the resolved terms.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from csflow.domain.calendar import BusinessCalendar
from csflow.domain.clockspec import ClockSpec
from csflow.domain.codes import Priority, SlaState
from csflow.domain.escalation import EscalationStep
from csflow.domain.terms import ClockName, DeadlineName, RequestTerms

_ZERO = timedelta(0)


class Clock(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str  # unique within the request, e.g. "resolution#2"
    name: DeadlineName
    cycle: int  # SLA cycle: 1, then +1 per re-handling
    spec: ClockSpec
    started_at: datetime
    used: timedelta = _ZERO
    running_since: datetime | None = None  # None while paused
    due_at: datetime | None = None  # None while paused
    satisfied_at: datetime | None = None
    stopped_at: datetime | None = None  # ended unsatisfied: request closed, superseded
    warnings_fired: int = 0
    breached_at: datetime | None = None
    steps_fired: int = 0
    # Where the ladder counts from when not the breach: moved on by a pause after the
    # breach, or set to the re-counted deadline by a priority change (None: `breached_at`).
    ladder_from: datetime | None = None
    paused_at: datetime | None = None  # the open pause's start
    warn: bool = True  # warnings (or reminders) at the policy's shares
    ladder: bool = True  # the priority's escalation ladder after the breach

    @property
    def open(self) -> bool:
        return self.satisfied_at is None and self.stopped_at is None

    @property
    def paused(self) -> bool:
        return self.open and self.running_since is None

    @property
    def ladder_base(self) -> datetime | None:
        return self.ladder_from or self.breached_at


class FiringKind(StrEnum):
    WARNING = "sla_warning"
    BREACH = "sla_breached"
    STEP = "escalation_step"


@dataclass(frozen=True)
class Firing:
    clock: Clock
    kind: FiringKind
    at: datetime
    share: float | None = None
    step: EscalationStep | None = None
    step_index: int | None = None


def start(
    name: ClockName, cycle: int, terms: RequestTerms, priority: Priority, at: datetime
) -> Clock:
    spec = terms.spec(name, priority, at)
    suffix = "" if cycle == 1 else f"#{cycle}"
    if name == "progress_cadence":
        suffix = f"#{cycle}.1"
    return Clock(
        id=f"{name}{suffix}",
        name=name,
        cycle=cycle,
        spec=spec,
        started_at=at,
        running_since=at,
        due_at=spec.due(terms.calendar, at),
    )


def start_deadline(
    name: DeadlineName,
    cycle: int,
    spec: ClockSpec,
    terms: RequestTerms,
    at: datetime,
    *,
    warn: bool,
    ladder: bool = False,
) -> Clock:
    """A deadline after resolution (confirmation, follow-up, silence) on the same engine."""
    return Clock(
        id=f"{name}#{cycle}",
        name=name,
        cycle=cycle,
        spec=spec,
        started_at=at,
        running_since=at,
        due_at=spec.due(terms.calendar, at),
        warn=warn,
        ladder=ladder,
    )


def used_by(clock: Clock, calendar: BusinessCalendar, now: datetime) -> timedelta:
    """Time consumed so far, in the unit the clock's basis counts."""
    if clock.running_since is None:
        return clock.used
    return clock.used + max(clock.spec.elapsed(calendar, clock.running_since, now), _ZERO)


def _when_used(clock: Clock, calendar: BusinessCalendar, target: timedelta) -> datetime:
    """The instant the running clock will have consumed `target` (its past if already)."""
    assert clock.running_since is not None
    remaining = target - clock.used
    if remaining <= _ZERO:
        return clock.running_since
    if clock.spec.basis == "wall":
        return clock.running_since + remaining
    return calendar.add_working_time(clock.running_since, remaining)


def next_firing(clock: Clock, terms: RequestTerms, priority: Priority) -> Firing | None:
    if not clock.open or clock.running_since is None:
        return None
    cal = terms.calendar
    shares = terms.warning_shares
    if not clock.warn:
        shares = ()
    if clock.breached_at is None:
        if clock.warnings_fired < len(shares):
            share = shares[clock.warnings_fired]
            budget = clock.spec.budget(cal, clock.started_at)
            at = _when_used(clock, cal, budget * share)
            assert clock.due_at is not None
            return Firing(clock, FiringKind.WARNING, min(at, clock.due_at), share=share)
        assert clock.due_at is not None
        return Firing(clock, FiringKind.BREACH, clock.due_at)
    ladder = terms.ladder(priority) if clock.ladder else ()
    if clock.steps_fired < len(ladder):
        step = ladder[clock.steps_fired]
        base = clock.ladder_base
        assert base is not None
        return Firing(
            clock,
            FiringKind.STEP,
            terms.step_due(step, base),
            step=step,
            step_index=clock.steps_fired,
        )
    return None


def fire_due(
    clocks: list[Clock], terms: RequestTerms, priority: Priority, now: datetime
) -> list[Firing]:
    """Advance every clock past what is due by `now`; the firings in time order."""
    fired: list[Firing] = []
    for clock in clocks:
        while (f := next_firing(clock, terms, priority)) is not None and f.at <= now:
            if f.kind is FiringKind.WARNING:
                clock.warnings_fired += 1
            elif f.kind is FiringKind.BREACH:
                clock.breached_at = f.at
                clock.warnings_fired = len(terms.warning_shares) if clock.warn else 0
            else:
                clock.steps_fired += 1
            fired.append(f)
    return sorted(fired, key=lambda f: f.at)


def next_wake(clocks: list[Clock], terms: RequestTerms, priority: Priority) -> datetime | None:
    times = [f.at for c in clocks if (f := next_firing(c, terms, priority)) is not None]
    return min(times, default=None)


def satisfy(clock: Clock, calendar: BusinessCalendar, at: datetime) -> bool:
    """The awaited event happened: no more warnings, breach or ladder steps on this clock."""
    if not clock.open:
        return False
    clock.used = used_by(clock, calendar, at)
    clock.satisfied_at = at
    return True


def stop(clock: Clock, calendar: BusinessCalendar, at: datetime) -> bool:
    """Ended without the awaited event (request closed, cycle superseded); nothing fires."""
    if not clock.open:
        return False
    clock.used = used_by(clock, calendar, at)
    clock.stopped_at = at
    return True


def pause(clock: Clock, calendar: BusinessCalendar, at: datetime) -> bool:
    """Nothing falls due on a paused clock: no warning, breach or ladder step."""
    if not clock.open or clock.running_since is None:
        return False
    clock.used = used_by(clock, calendar, at)
    clock.running_since = None
    clock.due_at = None
    clock.paused_at = at
    return True


def resume(
    clock: Clock, calendar: BusinessCalendar, at: datetime, *, shift_ladder: bool = True
) -> bool:
    """Count again with the time left. A clock breached before the pause keeps its breach;
    its remaining ladder steps move on by the pause's length, so none of them is stamped
    at an instant when the request was waiting on the customer.

    `shift_ladder=False` is the behaviour before that rule, for a workflow replaying a
    history recorded without it (the workflow decides with `workflow.patched`)."""
    if not clock.paused:
        return False
    base = clock.ladder_base
    if shift_ladder and base is not None and clock.paused_at is not None:
        clock.ladder_from = base + max(at - clock.paused_at, _ZERO)
    clock.paused_at = None
    clock.running_since = at
    clock.due_at = clock.spec.resume_due(calendar, clock.started_at, clock.used, at)
    return True


def respec(
    clock: Clock, spec: ClockSpec, calendar: BusinessCalendar, at: datetime, *, rearm: bool = True
) -> None:
    """A new length (priority change) or a new calendar: re-count from what is used.

    The time already used — paused time excluded — is kept, measured under the old terms
    up to `at`; the rest is counted under the new ones. See `recount` for a breach: a new
    priority brings a new ladder even where the clock's length stays the same.
    """
    recount(clock, spec, calendar, calendar, at, new_ladder=True, rearm=rearm)


def recount(
    clock: Clock,
    spec: ClockSpec,
    old: BusinessCalendar,
    new: BusinessCalendar,
    at: datetime,
    *,
    new_ladder: bool = False,
    rearm: bool = True,
) -> bool:
    """Close the running segment at `at` under the old terms, open one under the new.

    A segment that has not begun yet (its start lies after `at`, as for a request recorded
    with a future receipt time) keeps its start: re-counting never moves a clock earlier.

    A breached clock that the new terms give time again (a P1 lowered to P3 before P3's
    deadline) is no longer overdue: the old breach stays in the timeline, the clock is
    re-armed and breaches — and climbs its ladder — from the new deadline, if it comes.
    One still overdue under a new priority or length climbs the whole new ladder from its
    re-counted deadline (the re-count itself); a new calendar alone leaves the ladder
    where it was. `rearm=False` keeps a breach and its ladder exactly as they were — the
    behaviour before these rules, for a workflow replaying a history recorded without them.
    """
    if not clock.open:
        return False
    clock.used = used_by(clock, old, at)
    new_ladder = new_ladder or spec != clock.spec
    clock.spec = spec
    left = spec.budget(new, clock.started_at) - clock.used
    if rearm and clock.breached_at is not None and left > _ZERO:
        clock.breached_at = clock.ladder_from = None
        clock.steps_fired = 0
    if clock.running_since is not None:
        clock.running_since = max(clock.running_since, at)
        clock.due_at = spec.resume_due(new, clock.started_at, clock.used, clock.running_since)
        if rearm and clock.breached_at is not None and new_ladder:
            clock.ladder_from, clock.steps_fired = clock.due_at, 0
    return True


def colour(clocks: list[Clock], now: datetime) -> SlaState:
    """Red while an open clock is breached, yellow once one has warned, else green.

    Only open clocks count: a late first response is on record as a breach, but the
    request is not "breached right now" once it has been answered.
    """
    open_clocks = [c for c in clocks if c.open]
    if any(
        c.breached_at is not None or (c.due_at is not None and c.due_at < now) for c in open_clocks
    ):
        return SlaState.RED
    if any(c.warnings_fired for c in open_clocks):
        return SlaState.YELLOW
    return SlaState.GREEN


def next_deadline(clocks: list[Clock]) -> datetime | None:
    return min((c.due_at for c in clocks if c.open and c.due_at is not None), default=None)
