"""Resolving a request's SLA terms at the edge, where reading the policy is allowed.

The API, the CLI and the starter call this when a request is created; the workflow only
ever sees the result. Calendars are built once per year window and cached, since the
holiday library's lists do not change while a process runs.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cache

from csflow.config.calendar import build_calendar
from csflow.config.horizon import calendar_horizon
from csflow.contracts import RequestIntake
from csflow.domain.calendar import BusinessCalendar
from csflow.domain.codes import Category, Channel, Tier
from csflow.domain.policy import Policy
from csflow.domain.terms import CompactTerms, RequestTerms, resolve_terms


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
        return self.for_request(
            intake.channel,
            intake.category,
            intake.sub_type,
            intake.customer.tier,
            intake.amount_in_dispute,
            received_at,
        )

    def for_request(
        self,
        channel: Channel,
        category: Category,
        sub_type: str | None,
        tier: Tier,
        amount: Decimal | None,
        received_at: datetime,
    ) -> RequestTerms:
        """The policy narrowed to a request: of its intake, only what the policy reads."""
        team = self.policy.calendar.team_for(channel, category)
        local_day = received_at.astimezone(self.calendar(received_at.date(), team).zone).date()
        terms = resolve_terms(
            self.policy,
            self.calendar(local_day, team),
            channel,
            category,
            sub_type,
            tier,
            amount,
        )
        end = calendar_horizon(self.policy.calendar, local_day)
        return terms.model_copy(update={"calendar_horizon": end})


def compact_terms(terms: RequestTerms, received_at: datetime, language: str) -> RequestTerms:
    """The same terms with only what this request can reach — what the `resolve_terms`
    activity answers since the workflow patch `compact-terms-and-messages`, since every
    byte of it stays in the request's history.

    - The calendar's dated entries (holidays, make-up days, short days) from the day
      before the receipt on: every clock of a request starts at its receipt or later and
      counts forward, so earlier days are never read. The calendar keeps its recorded
      `version` (an `update_calendar` push is still compared by it).
    - The soothing openings of the customer's language only (`openings(language)` reads
      back the same): the intake's language is the only one the workflow asks for.

    What the terms decide is unchanged for this request. The result is a `CompactTerms`,
    written smaller still (csflow/domain/terms.py) and read back by the workflow as the
    `RequestTerms` it equals."""
    cal = terms.calendar
    first = received_at.astimezone(cal.zone).date() - timedelta(days=1)
    calendar = cal.model_copy(
        update={
            "holidays": frozenset(d for d in cal.holidays if d >= first),
            "makeup_workdays": frozenset(d for d in cal.makeup_workdays if d >= first),
            "short_days": {d: p for d, p in cal.short_days.items() if d >= first},
        }
    )
    openings = terms.openings(language)
    fields = dict(terms) | {
        "calendar": calendar,
        "soothing_openings": {language: openings} if openings else {},
    }
    return CompactTerms.model_construct(**fields)
