"""Which days of a forecast's history and horizon are holidays, make-up working days or
campaign days: the policy's calendar (chinese-calendar plus its overrides) and the
reports config's campaigns, looked up once per forecast."""

from __future__ import annotations

from datetime import date

from csflow.config.calendar import china_days
from csflow.domain.policy import CalendarPolicy
from csflow.reports.calendar_model import DayMarks, Marks
from csflow.reports.config import ReportsConfig


def calendar_marks(first: date, last: date, spec: CalendarPolicy, config: ReportsConfig) -> Marks:
    """Years the library does not cover get only the overrides' days (as the SLA
    calendar does), so a missing notice shows as "no holiday", never as an error."""
    years = range(first.year, last.year + 1)
    found: tuple[frozenset[date], frozenset[date]] = (
        china_days(years) if spec.holidays_from == "china" else (frozenset(), frozenset())
    )
    holidays, makeup = spec.overrides.apply(*found)
    campaigns = config.campaign_days(first, last)

    def marks(d: date) -> DayMarks:
        return DayMarks(holiday=d in holidays, makeup=d in makeup, campaign=campaigns.get(d))

    return marks
