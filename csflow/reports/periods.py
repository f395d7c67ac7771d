"""Report periods: local days and ISO weeks of the organisation's time zone.

A report is about local days (a supervisor's "Monday" is Monday in Shanghai, not in UTC),
so every period is a run of whole local days, turned into UTC instants only at the edge
where SQL compares timestamps. Pure: the workflow resolves periods with these functions
from its scheduled time, so a replay gets the same period.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

PeriodKind = Literal["daily", "weekly"]
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


@dataclass(frozen=True)
class Period:
    kind: PeriodKind
    first_day: date

    @property
    def length(self) -> int:
        return 7 if self.kind == "weekly" else 1

    @property
    def label(self) -> str:
        if self.kind == "daily":
            return self.first_day.isoformat()
        year, week, _ = self.first_day.isocalendar()
        return f"{year}-W{week:02d}"

    @property
    def days(self) -> list[date]:
        return [self.first_day + timedelta(days=i) for i in range(self.length)]

    @property
    def last_day(self) -> date:
        return self.first_day + timedelta(days=self.length - 1)

    def bounds(self, tz: str) -> tuple[datetime, datetime]:
        """[start, end) in UTC; a DST day is 23 or 25 hours long, as it should be."""
        return day_start(self.first_day, tz), day_start(self.last_day + timedelta(days=1), tz)


def day_start(day: date, tz: str) -> datetime:
    return datetime.combine(day, time(0), ZoneInfo(tz)).astimezone(UTC)


def local_day(at: datetime, tz: str) -> date:
    return at.astimezone(ZoneInfo(tz)).date()


def parse(kind: PeriodKind, label: str) -> Period:
    """`2026-11-23` for a day, `2026-W47` for an ISO week; ValueError names the format."""
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
    """The last complete period before the local day of `at`: yesterday, or last week."""
    today = local_day(at, tz)
    if kind == "daily":
        return Period("daily", today - timedelta(days=1))
    monday = today - timedelta(days=today.weekday())
    return Period("weekly", monday - timedelta(days=7))
