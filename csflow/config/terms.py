"""Resolving a request's SLA terms at the edge, where reading the policy is allowed.

The API, the CLI and the starter call this when a request is created; the workflow only
ever sees the result. Calendars are built once per year window and cached, since the
holiday library's lists do not change while a process runs.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache

from csflow.config.calendar import build_calendar
from csflow.config.horizon import calendar_horizon
from csflow.contracts import RequestIntake
from csflow.domain.calendar import BusinessCalendar
from csflow.domain.policy import Policy
from csflow.domain.terms import RequestTerms, resolve_terms


class TermsProvider:
    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._calendar = cache(self._build)

    def _build(self, years: range, team: str | None) -> BusinessCalendar:
        return build_calendar(self.policy.calendar, date(years.start + 1, 1, 1), team=team)

    def calendar(self, on: date, team: str | None = None) -> BusinessCalendar:
        """The calendar covering `on`'s year and its neighbours (imports can be old); a
        team's own when `team` names one of the policy's `[calendar.teams]`."""
        return self._calendar(self.policy.calendar.years(on), team)

    def for_intake(self, intake: RequestIntake, received_at: datetime) -> RequestTerms:
        team = self.policy.calendar.team_for(intake.channel, intake.category)
        local_day = received_at.astimezone(self.calendar(received_at.date(), team).zone).date()
        terms = resolve_terms(
            self.policy,
            self.calendar(local_day, team),
            intake.channel,
            intake.category,
            intake.sub_type,
            intake.customer.tier,
            intake.amount_in_dispute,
        )
        end = calendar_horizon(self.policy.calendar, local_day)
        return terms.model_copy(update={"calendar_horizon": end})
