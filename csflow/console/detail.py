"""What the request page shows besides the view itself: each clock with its time left and
its escalation ladder, and the request's improvement tasks.

The ladder drawn is the current policy's for the request's priority; `steps_fired` on the
clock says how far the request has climbed it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from csflow.contracts import ImprovementRow, RequestView
from csflow.domain.clocks import Clock
from csflow.domain.escalation import EscalationStep
from csflow.domain.policy import Policy
from csflow.store import improvements


@dataclass(frozen=True)
class ClockLine:
    clock: Clock
    state: str  # running | paused | breached | met | stopped
    seconds_left: float | None
    ladder: tuple[tuple[EscalationStep, bool], ...]  # (step, already fired)


def clock_lines(view: RequestView, policy: Policy, now: datetime) -> list[ClockLine]:
    """Open clocks first (soonest due first), then the finished ones, newest first."""
    steps = policy.escalation.of(view.priority)
    lines: list[ClockLine] = []
    for c in view.clocks:
        if c.satisfied_at is not None:
            state = "met"
        elif c.stopped_at is not None:
            state = "stopped"
        elif c.running_since is None:
            state = "paused"
        elif c.breached_at is not None:
            state = "breached"
        else:
            state = "running"
        left = (c.due_at - now).total_seconds() if c.open and c.due_at else None
        ladder = tuple((s, i < c.steps_fired) for i, s in enumerate(steps)) if c.ladder else ()
        lines.append(ClockLine(c, state, left, ladder))
    return sorted(
        lines,
        key=lambda line: (
            not line.clock.open,
            line.clock.due_at.timestamp() if line.clock.open and line.clock.due_at else 0,
            -line.clock.started_at.timestamp(),
        ),
    )


async def improvements_of(pool: Any, number: str) -> list[ImprovementRow]:
    rows = await pool.fetch(
        "SELECT * FROM improvement_tasks WHERE number = $1 ORDER BY opened_at", number
    )
    return [improvements.as_row(r) for r in rows]
