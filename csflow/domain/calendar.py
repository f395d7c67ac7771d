"""The business calendar: when the organisation is at work (docs/requirements.md §4).

A `BusinessCalendar` is plain data — time zone, local working hours, weekend, and explicit
lists of public holidays and make-up working days (China's 调休) — so it can travel inside
a workflow's input and every deadline computed from it replays identically forever. The
lists come from a holiday library at the edge (`csflow.config.calendar`); nothing here may ever
call one, because a library upgrade would then change a replay.

Working hours may hold several periods a day (a lunch break is the gap between two), and
short days have hours of their own (a half-day holiday works 09:00–12:00 only).

Conventions every function shares:
- inputs are aware datetimes in any zone; every datetime returned is in UTC, so that a
  caller's `+ timedelta` is elapsed time (Python adds wall-clock time to a datetime
  carrying a DST zone, which is off by an hour across a transition);
- working hours are local wall-clock hours of the calendar's zone, so a 09:00–18:00 day
  is nine real hours on a DST transition day too, and a 00:00–24:00 day is 23 or 25;
- a working period is half-open, [start, end): 12:00 is not working time in a 09:00–12:00
  period, but a duration can end exactly at 12:00;
- nothing loops per minute: the functions step by periods and days.

Clocks that may count either wall or working time go through `csflow.domain.clockspec`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from itertools import pairwise
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)

from csflow.domain.zones import aware, local_to_utc

_DAY = timedelta(days=1)
_LATER_FIELDS = ("short_days", "team")
_HHMM = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$")


class NoWorkingTime(ValueError):
    """The calendar has no working time left to count in — a configuration error."""


def _clock_time(value: object) -> object:
    """Accept TOML local times (09:00:00) and 'HH:MM' strings; '24:00' closes the day."""
    if isinstance(value, time):
        if value.second or value.microsecond or value.tzinfo is not None:
            raise ValueError("working hours are whole minutes of local time, e.g. '09:00'")
        return f"{value.hour:02d}:{value.minute:02d}"
    if isinstance(value, str) and _HHMM.match(value.strip()):
        return value.strip()
    raise ValueError("a local time of day as 'HH:MM', from '00:00' to '24:00'")


ClockTime = Annotated[str, BeforeValidator(_clock_time)]


def _sorted(values: frozenset[Any]) -> list[Any]:
    return sorted(values)


DateSet = Annotated[frozenset[date], PlainSerializer(_sorted)]
"""Serialised sorted, so a calendar's JSON — and its version hash — is canonical."""
Weekdays = Annotated[frozenset[Annotated[int, Field(ge=1, le=7)]], PlainSerializer(_sorted)]
"""ISO weekdays, Monday = 1 … Sunday = 7."""


class CalendarModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WorkingPeriod(CalendarModel):
    """One stretch of local working hours in a working day, e.g. 09:00–12:00."""

    start: ClockTime
    end: ClockTime

    @model_validator(mode="before")
    @classmethod
    def _pair(cls, data: Any) -> Any:
        if isinstance(data, list | tuple) and len(data) == 2:
            return {"start": data[0], "end": data[1]}
        return data

    @model_validator(mode="after")
    def _ordered(self) -> WorkingPeriod:
        if self.start_offset >= self.end_offset:
            raise ValueError(f"a working period must end after it starts: {self.start}–{self.end}")
        return self

    @property
    def start_offset(self) -> timedelta:
        return _offset(self.start)

    @property
    def end_offset(self) -> timedelta:
        return _offset(self.end)


def _offset(hhmm: str) -> timedelta:
    hours, minutes = hhmm.split(":")
    return timedelta(hours=int(hours), minutes=int(minutes))


DEFAULT_WORKING_HOURS = (
    WorkingPeriod(start="09:00", end="12:00"),
    WorkingPeriod(start="13:00", end="18:00"),
)
"""China's usual office day: 09:00–18:00 with a lunch hour, eight working hours."""


class CalendarOverrides(CalendarModel):
    """An organisation's corrections to the library's lists, applied last."""

    add_holidays: DateSet = frozenset()
    remove_holidays: DateSet = frozenset()
    add_makeup_workdays: DateSet = frozenset()
    remove_makeup_workdays: DateSet = frozenset()

    @model_validator(mode="after")
    def _consistent(self) -> CalendarOverrides:
        for added, removed, what in (
            (self.add_holidays, self.remove_holidays, "holidays"),
            (self.add_makeup_workdays, self.remove_makeup_workdays, "makeup_workdays"),
        ):
            if both := added & removed:
                raise ValueError(f"both added to and removed from {what}: {_dates(both)}")
        if both := self.add_holidays & self.add_makeup_workdays:
            raise ValueError(f"both a holiday and a make-up working day: {_dates(both)}")
        return self

    def apply(
        self, holidays: frozenset[date], makeup_workdays: frozenset[date]
    ) -> tuple[frozenset[date], frozenset[date]]:
        """An added day wins over the library's opposite classification of the same day."""
        hol = (holidays - self.remove_holidays - self.add_makeup_workdays) | self.add_holidays
        work = makeup_workdays - self.remove_makeup_workdays - self.add_holidays
        return hol, work | self.add_makeup_workdays


def _sorted_days(value: Mapping[date, tuple[WorkingPeriod, ...]]) -> dict[str, Any]:
    return {d.isoformat(): [p.model_dump() for p in value[d]] for d in sorted(value)}


ShortDays = Annotated[dict[date, tuple[WorkingPeriod, ...]], PlainSerializer(_sorted_days)]
"""Dates with their own working hours (a half-day holiday: 09:00–12:00 only), serialised
sorted by date so the calendar's hash is canonical."""


def _check_periods(periods: tuple[WorkingPeriod, ...], what: str) -> None:
    if not periods:
        raise ValueError(f"{what} needs at least one period")
    for before, after in pairwise(periods):
        if after.start_offset < before.end_offset:
            raise ValueError(f"{what}: working periods must be in order and must not overlap")


def _dates(days: frozenset[date] | set[date]) -> str:
    return ", ".join(d.isoformat() for d in sorted(days))


class BusinessCalendar(CalendarModel):
    """Working time of one organisation, as data; see the module docstring for conventions."""

    time_zone: str = "Asia/Shanghai"
    working_hours: tuple[WorkingPeriod, ...] = DEFAULT_WORKING_HOURS
    weekend: Weekdays = frozenset({6, 7})
    holidays: DateSet = frozenset()
    makeup_workdays: DateSet = frozenset()
    short_days: ShortDays = Field(
        default_factory=dict,
        description="Working days with their own hours, e.g. a half-day holiday open "
        "09:00–12:00; they work even on a weekend, like a make-up day.",
    )
    team: str = Field(
        default="",
        description="The team whose hours these are; empty for the organisation's own.",
    )
    version: str = Field(
        default="",
        description="Content hash; computed when empty, kept as recorded otherwise so a "
        "replayed workflow input reads back exactly as it was written.",
    )

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(f"unknown time zone {value!r}, e.g. 'Asia/Shanghai'") from e
        return value

    @model_validator(mode="after")
    def _sane(self) -> BusinessCalendar:
        _check_periods(self.working_hours, "working_hours")
        for d, periods in self.short_days.items():
            _check_periods(periods, f"short day {d.isoformat()}")
        if len(self.weekend) == 7:
            raise ValueError("weekend cannot be every day of the week")
        if both := self.holidays & self.makeup_workdays:
            raise ValueError(f"both a holiday and a make-up working day: {_dates(both)}")
        if both := self.holidays & set(self.short_days):
            raise ValueError(f"both a holiday and a short day: {_dates(both)}")
        if not self.version:
            object.__setattr__(self, "version", self.content_hash())
        return self

    def __hash__(self) -> int:
        """Hashable like any frozen model, short days (a dict) included: equal calendars
        have equal versions."""
        return hash(self.version)

    def content_hash(self) -> str:
        """12 hex digits of SHA-256 over the data that changes a computation.

        Fields added later are left out while empty, so a calendar without them keeps the
        version it always had and a push of an unchanged calendar stays a no-op.
        """
        exclude = {"version"} | {f for f in _LATER_FIELDS if not getattr(self, f)}
        data = self.model_dump_json(exclude=exclude)
        return hashlib.sha256(data.encode()).hexdigest()[:12]

    @property
    def zone(self) -> tzinfo:
        return ZoneInfo(self.time_zone)

    # ---- days ----

    def is_working_day(self, d: date) -> bool:
        """Make-up and short days work even on a weekend; holidays rest even on a weekday."""
        if d in self.makeup_workdays or d in self.short_days:
            return True
        return d.isoweekday() not in self.weekend and d not in self.holidays

    def local_date(self, dt: datetime) -> date:
        return aware(dt).astimezone(self.zone).date()

    def working_periods(self, d: date) -> list[tuple[datetime, datetime]]:
        """The day's working periods as UTC instants; empty on a day off."""
        if not self.is_working_day(d):
            return []
        out: list[tuple[datetime, datetime]] = []
        floor: datetime | None = None
        midnight = datetime.combine(d, time())
        for p in self.short_days.get(d, self.working_hours):
            s = local_to_utc(midnight + p.start_offset, self.zone)
            e = local_to_utc(midnight + p.end_offset, self.zone)
            if floor is not None:
                s = max(s, floor)
            e = max(e, s)
            if e > s:
                out.append((s, e))
            floor = e
        return out

    def _periods_from(self, dt: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working periods that end after `dt`, in order; raises rather than loop forever.

        Validation leaves a working weekday in every week, so a run of days off is at most
        the holidays plus a weekend long; anything longer means there is no working time.
        """
        d, idle, limit = self.local_date(dt), 0, len(self.holidays) + 14
        while True:
            periods = self.working_periods(d)
            idle = 0 if periods else idle + 1
            if idle > limit:
                raise NoWorkingTime(f"no working time after {d.isoformat()} in this calendar")
            for s, e in periods:
                if e > dt:
                    yield s, e
            d += _DAY

    # ---- instants and durations ----

    def is_working_time(self, dt: datetime) -> bool:
        at = aware(dt).astimezone(UTC)
        return any(s <= at < e for s, e in self.working_periods(self.local_date(at)))

    def next_working_instant(self, dt: datetime) -> datetime:
        """`dt` itself when it is working time, else the start of the next working period."""
        at = aware(dt).astimezone(UTC)
        s, _ = next(self._periods_from(at))
        return max(s, at)

    def add_working_time(self, start: datetime, duration: timedelta) -> datetime:
        """The instant `duration` of working time after `start` (counting from the next
        working period if `start` is outside one); a positive duration ends inside or at
        the very end of a working period, never at the start of the next one."""
        if duration < timedelta(0):
            raise ValueError("duration must not be negative")
        at = aware(start).astimezone(UTC)
        remaining = duration
        for s, e in self._periods_from(at):
            s = max(s, at)
            if remaining <= e - s:
                return s + remaining
            remaining -= e - s
        raise AssertionError("unreachable: _periods_from never ends")  # pragma: no cover

    def working_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Working time in [a, b); negative when b is before a."""
        lo, hi = aware(a).astimezone(UTC), aware(b).astimezone(UTC)
        if hi < lo:
            return -self.working_time_between(hi, lo)
        total = timedelta(0)
        d, last = self.local_date(lo), self.local_date(hi)
        while d <= last:
            for s, e in self.working_periods(d):
                overlap = min(e, hi) - max(s, lo)
                if overlap > timedelta(0):
                    total += overlap
            d += _DAY
        return total

    def close_of_business(self, d: date) -> datetime:
        """The end of the day's last working period; the day must be a working day."""
        periods = self.working_periods(d)
        if not periods:
            raise ValueError(f"{d.isoformat()} is not a working day")
        return periods[-1][1]

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """ "Within N working days": the close of business of the Nth working day after the
        start's local date. The start day never counts, whatever the hour, so a request
        resolved at 09:00 or at 17:30 on a Friday gets the same deadline — the rule people
        apply when they promise "within 3 working days"."""
        if days < 1:
            raise ValueError("days must be at least 1")
        d, counted, idle, limit = self.local_date(start), 0, 0, len(self.holidays) + 14
        while True:
            d += _DAY
            if self.working_periods(d):
                counted, idle = counted + 1, 0
                if counted == days:
                    return self.close_of_business(d)
            else:
                idle += 1
                if idle > limit:
                    raise NoWorkingTime(f"no working day after {d.isoformat()} in this calendar")
