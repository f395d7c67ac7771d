"""Report periods: local days, ISO weeks, calendar months and day ranges of the
organisation's time zone.

A report is about local days (a supervisor's "Monday" is Monday in Shanghai, not in UTC),
so every period is a run of whole local days, turned into UTC instants only at the edge
where SQL compares timestamps. Pure: the workflow resolves periods with these functions
from its scheduled time, so a replay gets the same period.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

PeriodKind = Literal["daily", "weekly", "monthly"]
# Scorecards take any run of days as well ("range": 2026-11-01..2026-11-15).
SpanKind = Literal["daily", "weekly", "monthly", "range"]
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
MAX_RANGE_DAYS = 366


@dataclass(frozen=True)
class Period:
    kind: SpanKind
    first_day: date
    span: int = 0  # the number of days of a "range"; derived for the other kinds

    @property
    def length(self) -> int:
        if self.kind == "weekly":
            return 7
        if self.kind == "monthly":
            return calendar.monthrange(self.first_day.year, self.first_day.month)[1]
        if self.kind == "range":
            return self.span
        return 1

    @property
    def label(self) -> str:
        if self.kind == "daily":
            return self.first_day.isoformat()
        if self.kind == "monthly":
            return f"{self.first_day:%Y-%m}"
        if self.kind == "range":
            return f"{self.first_day.isoformat()}..{self.last_day.isoformat()}"
        year, week, _ = self.first_day.isocalendar()
        return f"{year}-W{week:02d}"

    @property
    def days(self) -> list[date]:
        return [self.first_day + timedelta(days=i) for i in range(self.length)]

    @property
    def last_day(self) -> date:
        return self.first_day + timedelta(days=self.length - 1)

    def shifted(self, step: int) -> Period:
        """The period `step` periods later (earlier when negative), of the same kind."""
        if self.kind == "monthly":
            months = self.first_day.year * 12 + self.first_day.month - 1 + step
            return Period("monthly", date(months // 12, months % 12 + 1, 1))
        return Period(self.kind, self.first_day + timedelta(days=self.length * step), self.span)

    def bounds(self, tz: str) -> tuple[datetime, datetime]:
        """[start, end) in UTC; a DST day is 23 or 25 hours long, as it should be."""
        return day_start(self.first_day, tz), day_start(self.last_day + timedelta(days=1), tz)


def day_start(day: date, tz: str) -> datetime:
    return datetime.combine(day, time(0), ZoneInfo(tz)).astimezone(UTC)


def local_day(at: datetime, tz: str) -> date:
    return at.astimezone(ZoneInfo(tz)).date()


def parse(kind: SpanKind, label: str) -> Period:
    """`2026-11-23` for a day, `2026-W47` for an ISO week, `2026-11` for a month,
    `2026-11-01..2026-11-15` for a range of days; ValueError names the format."""
    if kind == "monthly":
        mm = _MONTH.match(label)
        if mm is None or not 1 <= int(mm[2]) <= 12:
            raise ValueError(f"a month is written YYYY-MM, not {label!r}")
        return Period("monthly", date(int(mm[1]), int(mm[2]), 1))
    if kind == "range":
        first, sep, last = label.partition("..")
        try:
            if not sep:
                raise ValueError(label)
            a, b = date.fromisoformat(first), date.fromisoformat(last)
        except ValueError:
            raise ValueError(f"a range is written YYYY-MM-DD..YYYY-MM-DD, not {label!r}") from None
        if b < a or (b - a).days >= MAX_RANGE_DAYS:
            raise ValueError(
                f"a range runs forward and spans at most {MAX_RANGE_DAYS} days: {label!r}"
            )
        return Period("range", a, (b - a).days + 1)
    if kind == "daily":
        try:
            return Period("daily", date.fromisoformat(label))
        except ValueError:
            raise ValueError(f"a day is written YYYY-MM-DD, not {label!r}") from None
    m = _WEEK.match(label)
    if m is None:
        raise ValueError(f"a week is written YYYY-Www (ISO week), not {label!r}")
    try:
        return Period("weekly", date.fromisocalendar(int(m[1]), int(m[2]), 1))
    except ValueError as err:
        raise ValueError(f"no such ISO week {label!r}: {err}") from None


def previous(kind: PeriodKind, at: datetime, tz: str) -> Period:
    """The last complete period before the local day of `at`: yesterday, last week, or
    last month."""
    today = local_day(at, tz)
    if kind == "daily":
        return Period("daily", today - timedelta(days=1))
    if kind == "monthly":
        last = today.replace(day=1) - timedelta(days=1)
        return Period("monthly", last.replace(day=1))
    monday = today - timedelta(days=today.weekday())
    return Period("weekly", monday - timedelta(days=7))
