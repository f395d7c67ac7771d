"""A clock's length and how it is counted — the unit every SLA, follow-up and ladder
delay in the policy is written in — and `due_at` / `elapsed` / `share_at`, the one entry
point for clock maths whatever the basis, so the workflow never branches on it.

Durations are written the way people say them — "15m", "2h", "1h30m", "3d", "10s" — or as
ISO 8601 ("PT15M"); they serialise back to the short form, so a policy and a workflow
input read the same. A bare string is a wall-clock duration: `first_response = "15m"`
means `{ duration = "15m", basis = "wall" }`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    TypeAdapter,
    ValidationError,
    field_serializer,
    model_validator,
)

from csflow.domain.calendar import BusinessCalendar
from csflow.domain.zones import aware

ClockBasis = Literal["wall", "working", "working_days"]
"""How a duration is counted: elapsed time; working time; or whole working days, due at
the close of business of the Nth working day after the start day (`add_working_days`)."""

_DAY = timedelta(days=1)
_COMPACT = re.compile(
    r"^(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+(?:\.\d{1,6})?)s)?$"
)
_TIMEDELTA: TypeAdapter[timedelta] = TypeAdapter(timedelta)
_HINT = 'write e.g. "15m", "2h", "1h30m", "3d", "10s" or ISO 8601 "PT15M"'


def parse_duration(value: object) -> timedelta:
    """The policy's duration syntax; numbers are refused because "15" has no unit."""
    if isinstance(value, timedelta):
        result = value
    elif isinstance(value, str):
        text = value.replace(" ", "")
        match = _COMPACT.match(text)
        if text and match:
            parts = match.groupdict(default="0")
            result = timedelta(
                days=int(parts["d"]),
                hours=int(parts["h"]),
                minutes=int(parts["m"]),
                microseconds=int(Decimal(parts["s"]) * 1_000_000),
            )
        else:
            try:
                result = _TIMEDELTA.validate_python(text)
            except ValidationError:
                raise ValueError(f"{value!r} is not a duration: {_HINT}") from None
    else:
        raise ValueError(f"a duration must be a string with a unit: {_HINT}")
    if result < timedelta(0):
        raise ValueError("a duration cannot be negative")
    return result


def format_duration(value: timedelta) -> str:
    """Hours, minutes, seconds — never days, so "24h" of wall time is not read as a day."""
    micros = value // timedelta(microseconds=1)
    seconds, micro = divmod(micros, 1_000_000)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    out = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")
    if micro:
        out += f"{Decimal(secs) + Decimal(micro) / 1_000_000}s"
    elif secs or not out:
        out += f"{secs}s"
    return out


# ---- clocks: one entry point whatever the basis ----


def due_at(
    calendar: BusinessCalendar, start: datetime, duration: timedelta, basis: ClockBasis
) -> datetime:
    """When a clock started at `start` falls due, in UTC. Wall time is elapsed time."""
    if basis == "wall":
        return aware(start).astimezone(UTC) + duration
    if basis == "working":
        return calendar.add_working_time(start, duration)
    if duration % _DAY:
        raise ValueError("a working_days duration must be whole days")
    return calendar.add_working_days(start, duration // _DAY)


def elapsed(
    calendar: BusinessCalendar, start: datetime, end: datetime, basis: ClockBasis
) -> timedelta:
    """Time used on a clock; working-days clocks are measured in working time."""
    if basis == "wall":
        return aware(end) - aware(start)
    return calendar.working_time_between(start, end)


def share_at(
    calendar: BusinessCalendar,
    start: datetime,
    duration: timedelta,
    basis: ClockBasis,
    share: float,
) -> datetime:
    """When `share` of a clock's time is used — the instant to warn (e.g. yellow at 0.75)."""
    if not 0 <= share <= 1:
        raise ValueError("share must be between 0 and 1")
    if basis == "wall":
        return aware(start).astimezone(UTC) + duration * share
    total = duration
    if basis == "working_days":
        total = calendar.working_time_between(start, due_at(calendar, start, duration, basis))
    return calendar.add_working_time(start, total * share)


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]


class ClockSpec(BaseModel):
    """How long a clock runs and how it counts: see `csflow.domain.calendar.ClockBasis`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    duration: Duration
    basis: ClockBasis = "wall"

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, str | timedelta):
            return {"duration": data}
        if not isinstance(data, dict | ClockSpec):
            raise ValueError(
                'a clock is a duration such as "2h", or a table such as '
                '{ duration = "8h", basis = "working" }'
            )
        return data

    @model_validator(mode="after")
    def _whole_days(self) -> ClockSpec:
        if self.basis == "working_days" and (
            self.duration % timedelta(days=1) or not self.duration
        ):
            raise ValueError('working_days needs a whole number of days, e.g. "3d"')
        return self

    @field_serializer("duration", when_used="json")
    def _short(self, value: timedelta) -> str:
        if self.basis == "working_days":
            return f"{value.days}d"
        return format_duration(value)

    def due(self, calendar: BusinessCalendar, start: datetime) -> datetime:
        return due_at(calendar, start, self.duration, self.basis)

    def elapsed(self, calendar: BusinessCalendar, start: datetime, end: datetime) -> timedelta:
        return elapsed(calendar, start, end, self.basis)

    def share_at(self, calendar: BusinessCalendar, start: datetime, share: float) -> datetime:
        return share_at(calendar, start, self.duration, self.basis, share)

    def budget(self, calendar: BusinessCalendar, start: datetime) -> timedelta:
        """The clock's whole allowance in the unit `elapsed` measures; a working-days clock
        started on a given day is worth the working time up to its close of business."""
        if self.basis != "working_days":
            return self.duration
        return calendar.working_time_between(start, self.due(calendar, start))

    def resume_due(
        self, calendar: BusinessCalendar, start: datetime, used: timedelta, resumed_at: datetime
    ) -> datetime:
        """The new deadline of a clock that was paused (awaiting the customer) after using
        `used` (as `elapsed` measures it) and counts again from `resumed_at`. A clock that
        had used its whole allowance is due the moment it resumes."""
        remaining = max(self.budget(calendar, start) - used, timedelta(0))
        if self.basis == "wall":
            return due_at(calendar, resumed_at, remaining, "wall")
        return calendar.add_working_time(resumed_at, remaining)
