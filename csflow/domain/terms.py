"""The SLA terms of ONE request: what its workflow receives instead of the policy.

Resolved once at the edge (API or worker) when the request starts and carried in the
workflow's input, so a replay never reads a file and a later policy never changes a
running request. It holds the clocks of every priority (a priority can change mid-flight,
and re-handling raises it), the calendar's data, and the already-chosen follow-up window.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field, SerializationInfo, SerializerFunctionWrapHandler, model_serializer

from csflow.domain.calendar import BusinessCalendar
from csflow.domain.clockspec import ClockSpec
from csflow.domain.codes import Category, Channel, Priority, Role, Tier
from csflow.domain.escalation import EscalationPolicy, EscalationStep
from csflow.domain.org import Organisation
from csflow.domain.ownership import team_key
from csflow.domain.policy import (
    DEFAULT_BANNED,
    DEFAULT_SKIP_ROLES,
    ClockTable,
    CompensationPolicy,
    OwnershipPolicy,
    Policy,
    PolicyModel,
    ServiceClass,
)

ClockName = Literal["first_response", "plan", "resolution", "progress_cadence"]
# Deadlines after resolution run on the same engine, with their own specs and no ladder.
DeadlineName = Literal[ClockName, "confirmation", "follow_up", "reactivation", "silence"]


class RequestTerms(PolicyModel):
    policy_version: str
    calendar: BusinessCalendar
    clocks: ClockTable
    channel: Channel
    channel_first_response: ClockSpec | None = None
    warning_shares: tuple[float, ...]
    pause_when_awaiting_customer: bool
    escalation: EscalationPolicy
    service_class: ServiceClass
    follow_up: ClockSpec
    reactivation_after: ClockSpec = ClockSpec(duration=timedelta(hours=48))
    silent_after: ClockSpec = ClockSpec(duration=timedelta(hours=72))
    negative_score_max: int = 2
    improvement_window: ClockSpec = ClockSpec(duration=timedelta(hours=72))
    confirmation_window: ClockSpec
    compensation: CompensationPolicy
    major_complaint: bool
    # Defaulted: terms recorded before the list became policy replay with the built-in one.
    banned_phrases: tuple[str, ...] = DEFAULT_BANNED
    # Defaulted likewise: requests started before `[ownership]` get the built-in rules.
    ownership: OwnershipPolicy = OwnershipPolicy()
    # The last date the calendar's holiday data covers (csflow/domain/horizon.py); None in
    # terms recorded before it was known.
    calendar_horizon: date | None = None
    # The channel's agent-level pick-up target (reported, not a clock); None in terms
    # recorded before it was carried, and for channels without one.
    answer_within: timedelta | None = None
    # Defaulted likewise (issue 18): who may close before the follow-up; the soothing
    # openings a flagged request's first reply needs (none in older terms: not checked);
    # the taxonomy's department for this kind of problem (improvement tasks go there);
    # who supervises each department's people (empty: no organisation configured, any
    # supervisor counts as the team's — the rule before).
    skip_follow_up_roles: tuple[Role, ...] = DEFAULT_SKIP_ROLES
    soothing_openings: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    improvement_department: str | None = None
    supervision: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    # Who answers for each team's people, for `team_supervisor` (csflow/domain/ownership.py
    # `TeamSupervision`): "department/team" -> the team's supervisors, then the department's
    # supervisors and head; "department" -> the department's supervisors and head. Only the
    # supervisors, never the members, so history stays small. Empty in terms from before
    # (the department-wide `supervision` decides) and without an organisation.
    team_supervision: dict[str, tuple[str, ...]] = Field(default_factory=dict)

    def openings(self, language: str) -> tuple[str, ...]:
        """The soothing openings for `language` ("zh-CN", "en"), by its primary tag when
        the exact one is not configured; empty when the policy has none for it."""
        if language in self.soothing_openings:
            return self.soothing_openings[language]
        primary = language.split("-")[0].casefold()
        for lang, openings in self.soothing_openings.items():
            if lang.split("-")[0].casefold() == primary:
                return openings
        return ()

    def spec(self, name: ClockName, priority: Priority, start: datetime) -> ClockSpec:
        """The clock that applies; for first response, the stricter (earlier due) of the
        priority's and the channel's — compared at `start`, because a working-time and a
        wall-clock target rank differently on a Friday evening than on a Monday morning."""
        spec: ClockSpec = getattr(self.clocks.of(priority), name)
        override = self.channel_first_response
        if (
            name == "first_response"
            and override is not None
            and override.due(self.calendar, start) < spec.due(self.calendar, start)
        ):
            return override
        return spec

    def due(self, name: ClockName, priority: Priority, start: datetime) -> datetime:
        return self.spec(name, priority, start).due(self.calendar, start)

    def warnings_at(self, name: ClockName, priority: Priority, start: datetime) -> list[datetime]:
        """When the clock turns (and stays) yellow: one instant per warning share."""
        spec = self.spec(name, priority, start)
        return [spec.share_at(self.calendar, start, s) for s in self.warning_shares]

    def ladder(self, priority: Priority) -> tuple[EscalationStep, ...]:
        return self.escalation.of(priority)

    def step_due(self, step: EscalationStep, breached_at: datetime) -> datetime:
        return step.after.due(self.calendar, breached_at)

    def follow_up_due(self, resolved_at: datetime) -> datetime:
        return self.follow_up.due(self.calendar, resolved_at)

    def confirmation_due(self, asked_at: datetime) -> datetime:
        return self.confirmation_window.due(self.calendar, asked_at)

    def needs_approval(self, amount: Decimal) -> bool:
        """Above the agent's limit, or any compensation on a major complaint
        (docs/requirements.md §4)."""
        return amount > self.compensation.agent_limit or (self.major_complaint and amount > 0)


# Fields of the calendar left out of the compact form while empty (their defaults).
_CALENDAR_EMPTY_DEFAULTS = ("holidays", "makeup_workdays", "short_days", "team")


class CompactTerms(RequestTerms):
    """`RequestTerms` written small: the `resolve_terms` activity's answer since the
    workflow patch `compact-terms-and-messages` (the workflow reads it as `RequestTerms`).

    Written as JSON, a wall-clock `ClockSpec` is its duration alone (`"2h"`, the
    shorthand `ClockSpec` reads back as the same spec), and a field whose value is empty
    and equal to its default (None, an empty table) is left out, to be read back as that
    default. A non-empty default is always written, so a later change of a default in
    code cannot change what a recorded run reads back."""

    @model_serializer(mode="wrap")
    def _small(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        out: dict[str, Any] = handler(self)
        if info.mode != "json":
            return out
        fields = type(self).model_fields
        out = {
            k: v
            for k, v in out.items()
            if not (
                v in (None, {}, [])
                and getattr(self, k) == fields[k].get_default(call_default_factory=True)
            )
        }
        calendar = out["calendar"]
        for k in _CALENDAR_EMPTY_DEFAULTS:
            if calendar.get(k) in ("", [], {}):
                del calendar[k]
        small: dict[str, Any] = _short_clocks(out)
        return small


def _short_clocks(value: Any) -> Any:
    """Every wall-clock spec `{"duration": d, "basis": "wall"}` as `d`."""
    if isinstance(value, dict):
        if value.keys() == {"duration", "basis"} and value["basis"] == "wall":
            return value["duration"]
        return {k: _short_clocks(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_short_clocks(v) for v in value]
    return value


def resolve_terms(
    policy: Policy,
    calendar: BusinessCalendar,
    channel: Channel,
    category: Category,
    sub_type: str | None,
    tier: Tier,
    amount: Decimal | None,
) -> RequestTerms:
    """The policy, narrowed to one request."""
    targets = policy.channels.get(channel)
    service_class = policy.follow_up.service_class(category, sub_type, tier, amount)
    major = policy.follow_up.is_major(category, sub_type, amount)
    if policy.taxonomy.declared_major(category, sub_type):  # `[taxonomy]` class = "major"
        major = True
        service_class = "vip" if tier is Tier.VIP else "major"
    return RequestTerms(
        policy_version=policy.effective_version,
        calendar=calendar,
        clocks=policy.sla.table(),
        channel=channel,
        channel_first_response=targets.first_response if targets else None,
        warning_shares=policy.sla.warning_shares,
        pause_when_awaiting_customer=policy.sla.pause_when_awaiting_customer,
        escalation=policy.escalation,
        service_class=service_class,
        follow_up=policy.follow_up.window(service_class),
        reactivation_after=policy.follow_up.reactivation_after,
        silent_after=policy.follow_up.silent_after,
        negative_score_max=policy.follow_up.negative_score_max,
        improvement_window=policy.follow_up.improvement_window,
        confirmation_window=policy.confirmation.window,
        compensation=policy.compensation,
        major_complaint=major and category is Category.COMPLAINT,
        banned_phrases=policy.compliance.banned_phrases,
        ownership=policy.ownership,
        answer_within=targets.answer_within if targets else None,
        skip_follow_up_roles=policy.follow_up.skip_roles,
        soothing_openings=policy.intake.soothing_openings,
        improvement_department=_taxonomy_department(policy, category, sub_type),
        supervision=supervision(policy.organisation),
        team_supervision=team_supervision(policy.organisation),
    )


def supervision(org: Organisation) -> dict[str, tuple[str, ...]]:
    """Department -> everyone who supervises its people (head, supervisors, teams')."""
    return {name: org.supervisors_of(name) for name in org.departments}


def team_supervision(org: Organisation) -> dict[str, tuple[str, ...]]:
    """The chart by team, for `team_supervisor`: a team's people are answered for by the
    team's own supervisors and, above them, the department's supervisors and head (the
    `supervisor` ladder's chain, docs/policy.md); another team's supervisors do not count."""
    out: dict[str, tuple[str, ...]] = {}
    for dname, dept in org.departments.items():
        above = tuple(dict.fromkeys((*dept.supervisors, *([dept.head] if dept.head else []))))
        out[team_key(dname, None)] = above
        for tname, team in dept.teams.items():
            out[team_key(dname, tname)] = tuple(dict.fromkeys((*team.supervisors, *above)))
    return out


def _taxonomy_department(policy: Policy, category: Category, sub_type: str | None) -> str | None:
    found = policy.taxonomy.find(category, sub_type)
    return found[1].department if found else None
