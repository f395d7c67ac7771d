"""The calendar's horizon: the last date its holiday data covers (docs/policy.md
`[calendar]`, "Horizon").

Holidays in mainland China are announced year by year. A calendar built for a year nobody
has announced yet treats its holidays as working days — 2027-01-01 silently counted as a
working day. So the horizon is known: `csflow up`, the worker and the board warn from
`WARN_BEFORE` ahead, and a request whose deadline falls past it is flagged, so a
supervisor checks that deadline by hand. Pure: the library's years come in as data.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

WARN_BEFORE = timedelta(days=60)
PAST_HORIZON_FLAG = "deadline_past_calendar_horizon"


def horizon(known_years: Iterable[int], *, today: date) -> date | None:
    """Dec 31 of the last year in the unbroken run of known years that reaches `today`'s
    year (a gap means the data stops there); None when not even this year is known."""
    years = set(known_years)
    if today.year not in years:
        return None
    last = today.year
    while last + 1 in years:
        last += 1
    return date(last, 12, 31)


def warning(end: date | None, today: date, within: timedelta = WARN_BEFORE) -> str | None:
    """The operator's warning, or None while the horizon is far enough away."""
    if end is None:
        return (
            f"the business calendar has no holiday data for {today.year}: public "
            "holidays count as working days; add the year's notice under "
            "[calendar.overrides] and list the year in [calendar] notice_years"
        )
    if today + within < end:
        return None
    left = (end - today).days
    when = f"in {left} days" if left >= 0 else f"{-left} days ago"
    return (
        f"the business calendar's holiday data ends {end.isoformat()} ({when}): after "
        "it, public holidays count as working days; add next year's notice under "
        "[calendar.overrides] and list the year in [calendar] notice_years"
    )


def past(deadlines: Iterable[datetime | None], end: date | None, time_zone: str) -> bool:
    """A deadline whose local date lies after the horizon."""
    if end is None:
        return False
    zone = ZoneInfo(time_zone)
    return any(d is not None and d.astimezone(zone).date() > end for d in deadlines)
