"""The calendar horizon from what the process actually has: the holiday library's years
plus the years whose notice the policy carries (`[calendar] notice_years`)."""

from __future__ import annotations

from datetime import date

from csflow.config.calendar import LIBRARY_YEARS
from csflow.domain import horizon as h
from csflow.domain.policy import CalendarPolicy


def calendar_horizon(policy: CalendarPolicy, today: date) -> date | None:
    """None also when the policy takes no holidays at all (`holidays_from = "none"` with
    no notice years): then there is nothing to run out — see `horizon_warning`."""
    library = LIBRARY_YEARS if policy.holidays_from == "china" else range(0)
    return h.horizon([*library, *policy.notice_years], today=today)


def horizon_warning(policy: CalendarPolicy, today: date) -> str | None:
    if policy.holidays_from == "none" and not policy.notice_years:
        return None  # weekends only, by choice
    return h.warning(calendar_horizon(policy, today), today)
