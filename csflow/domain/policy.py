"""The SLA policy: every business rule an organisation may change
(docs/requirements.md §4), as data.

`Policy()` is the built-in default and equals `policy.example.toml`. A policy file only
needs the keys that differ: `policy_from_mapping` lays it over the defaults key by key
(lists such as a ladder are replaced whole). Every model forbids unknown keys, so a typo
is refused with its dotted path instead of silently falling back to a default.

The policy is read at the edges only; a workflow receives the `RequestTerms` resolved
from it (csflow.domain.terms), so a policy change never alters a running request.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from csflow.domain.calendar import (
    DEFAULT_WORKING_HOURS,
    BusinessCalendar,
    CalendarOverrides,
    ShortDays,
    Weekdays,
    WorkingPeriod,
)
from csflow.domain.clockspec import ClockBasis, ClockSpec, Duration
from csflow.domain.codes import Category, Channel, Priority, Role, Tier
from csflow.domain.emotion_lexicon import DEFAULT_EN, DEFAULT_ZH
from csflow.domain.escalation import EscalationPolicy
from csflow.domain.org import Organisation, ladder_gaps
from csflow.domain.taxonomy import Taxonomy


class PolicyModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _clock(text: str, basis: ClockBasis = "wall") -> ClockSpec:
    return ClockSpec.model_validate({"duration": text, "basis": basis})


# ---- SLA clocks ----


class PriorityClocks(PolicyModel):
    """The four parallel clocks of one priority; none overrides another."""

    first_response: ClockSpec
    plan: ClockSpec
    resolution: ClockSpec
    progress_cadence: ClockSpec

    @model_validator(mode="after")
    def _positive(self) -> PriorityClocks:
        for name in ("first_response", "plan", "resolution", "progress_cadence"):
            if not getattr(self, name).duration:
                raise ValueError(f"{name} must be longer than zero")
        return self


def _clocks(first: str, plan: str, resolution: str, cadence: str) -> PriorityClocks:
    return PriorityClocks(
        first_response=_clock(first),
        plan=_clock(plan),
        resolution=_clock(resolution),
        progress_cadence=_clock(cadence),
    )


class ClockTable(PolicyModel):
    P1: PriorityClocks = _clocks("15m", "1h", "2h", "6h")
    P2: PriorityClocks = _clocks("30m", "1h", "4h", "6h")
    P3: PriorityClocks = _clocks("2h", "2h", "24h", "24h")

    def of(self, priority: Priority) -> PriorityClocks:
        clocks: PriorityClocks = getattr(self, priority.value)
        return clocks


Share = Annotated[float, Field(gt=0, lt=1)]


class SlaPolicy(ClockTable):
    """Clock lengths per priority, the yellow warning shares, and the customer pause."""

    warning_shares: tuple[Share, ...] = (0.5, 0.75)
    pause_when_awaiting_customer: bool = True

    @field_validator("warning_shares")
    @classmethod
    def _increasing(cls, shares: tuple[float, ...]) -> tuple[float, ...]:
        if list(shares) != sorted(set(shares)):
            raise ValueError("warning shares must be strictly increasing, e.g. [0.5, 0.75]")
        return shares

    def table(self) -> ClockTable:
        return ClockTable(P1=self.P1, P2=self.P2, P3=self.P3)


class ChannelTargets(PolicyModel):
    """`first_response` replaces the priority's only where it is stricter (earlier due);
    `answer_within` is the agent-level pick-up target, recorded for reports, not a clock."""

    first_response: ClockSpec | None = None
    answer_within: Duration | None = None


# ---- after resolution ----

DEFAULT_SKIP_ROLES: tuple[Role, ...] = (Role.SUPERVISOR, Role.ADMIN)

ServiceClass = Literal["vip", "major", "routine"]


class FollowUpPolicy(PolicyModel):
    """Follow-up visit windows (docs/requirements.md §3.5) and what makes a service "major"."""

    vip: ClockSpec = _clock("24h")
    major: ClockSpec = _clock("1d", "working_days")
    routine: ClockSpec = _clock("3d", "working_days")
    major_sub_types: tuple[str, ...] = ("repair", "malfunction")
    major_complaint_amount: Annotated[Decimal, Field(ge=0)] = Decimal(5000)
    # Silent customers (沉默客户激活): a reactivation touch after this long without an
    # answer to the questionnaire, then marked silent after `silent_after` more.
    reactivation_after: ClockSpec = _clock("48h")
    silent_after: ClockSpec = _clock("72h")
    # Negative feedback: a score at or below this (or a flagged problem) opens an
    # improvement task for the responsible department, due within `improvement_window`.
    negative_score_max: Annotated[int, Field(ge=0, le=5)] = 2
    improvement_window: ClockSpec = _clock("72h")
    # Who may close a request before its follow-up was recorded (skipping the visit), and
    # then only with a reason (docs/requirements.md §3.6, "Closing before the follow-up").
    skip_roles: Annotated[tuple[Role, ...], Field(min_length=1)] = DEFAULT_SKIP_ROLES

    @field_validator("skip_roles")
    @classmethod
    def _staff_roles(cls, roles: tuple[Role, ...]) -> tuple[Role, ...]:
        if outside := [r.value for r in roles if r in (Role.CUSTOMER, Role.SYSTEM)]:
            raise ValueError(f"skip_roles names staff roles only, not {', '.join(outside)}")
        return roles

    def is_major(self, category: Category, sub_type: str | None, amount: Decimal | None) -> bool:
        """A repair-like sub-type, or a complaint disputing at least the threshold."""
        wanted = {s.strip().lower() for s in self.major_sub_types}
        if sub_type is not None and sub_type.strip().lower() in wanted:
            return True
        return (
            category is Category.COMPLAINT
            and amount is not None
            and amount >= self.major_complaint_amount
        )

    def service_class(
        self, category: Category, sub_type: str | None, tier: Tier, amount: Decimal | None
    ) -> ServiceClass:
        """VIP first: a VIP's window applies whatever the service."""
        if tier is Tier.VIP:
            return "vip"
        return "major" if self.is_major(category, sub_type, amount) else "routine"

    def window(self, service_class: ServiceClass) -> ClockSpec:
        spec: ClockSpec = getattr(self, service_class)
        return spec


class ConfirmationPolicy(PolicyModel):
    """Unanswered confirmation requests close as "confirmed by timeout"
    (docs/requirements.md §3.4)."""

    window: ClockSpec = _clock("72h")


# Promises the company may not put in writing (docs/requirements.md §5); NFKC- and case-insensitive.
DEFAULT_BANNED: tuple[str, ...] = (
    "绝对保证",
    "永久有效",
    "百分之百解决",
    "保证不再发生",
    "终身免费",
    "absolute guarantee",
    "absolutely guarantee",
    "permanently valid",
    "100% guaranteed",
    "guaranteed forever",
    "never happen again",
)


class CompliancePolicy(PolicyModel):
    """Checked on every template at load and on every free text that reaches a customer."""

    banned_phrases: tuple[Annotated[str, Field(min_length=2)], ...] = DEFAULT_BANNED


class CompensationPolicy(PolicyModel):
    """`agent_limit` bounds the running total granted on one request without approval."""

    agent_limit: Annotated[Decimal, Field(ge=0)] = Decimal(500)
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "CNY"


# ---- ownership ----

# Who, relative to a request, may act on it: the person holding it, a supervisor of the
# holder's team, any supervisor, an admin (docs/policy.md, `[ownership]`).
Relation = Literal["assignee", "team_supervisor", "any_supervisor", "admin"]
Relations = Annotated[tuple[Relation, ...], Field(min_length=1)]
_OWNER_OR_ABOVE: tuple[Relation, ...] = ("assignee", "team_supervisor", "admin")


class OwnershipPolicy(PolicyModel):
    """Which relations to the request may give the commands that speak for its handling.

    A role allows a command (csflow.domain.lifecycle); ownership narrows it to the
    people who hold this request or answer for whoever does, so an engineer cannot post
    progress on a colleague's request. Checked by the workflow on every command."""

    post_progress: Relations = _OWNER_OR_ABOVE
    resolve: Relations = _OWNER_OR_ABOVE
    request_compensation: Relations = _OWNER_OR_ABOVE

    @field_validator("post_progress", "resolve", "request_compensation")
    @classmethod
    def _distinct(cls, relations: tuple[Relation, ...]) -> tuple[Relation, ...]:
        if len(set(relations)) != len(relations):
            raise ValueError("list each relation once")
        return relations

    def of(self, command: str) -> tuple[Relation, ...] | None:
        """The relations allowed for `command`, or None when ownership does not apply."""
        relations: tuple[Relation, ...] | None = getattr(self, command, None)
        return relations


# ---- calendar ----


HolidaySource = Literal["china", "none"]


class TeamCalendar(PolicyModel):
    """A team on hours of its own (a 24/7 hotline, a split-shift repair desk), in the same
    organisation. Requests it serves — by channel and/or category — count their working
    time on its calendar; every key left out is the organisation's."""

    channels: tuple[Channel, ...] = ()
    categories: tuple[Category, ...] = ()
    time_zone: str | None = None
    working_hours: tuple[WorkingPeriod, ...] | None = None
    weekend: Weekdays | None = None
    holidays_from: HolidaySource | None = None
    short_days: ShortDays | None = None

    @model_validator(mode="after")
    def _serves_someone(self) -> TeamCalendar:
        if not self.channels and not self.categories:
            raise ValueError("a team calendar names the channels and/or categories it serves")
        return self

    def __hash__(self) -> int:  # short_days is a dict
        return hash(self.model_dump_json())

    def serves(self, channel: Channel, category: Category) -> bool:
        """Every list given must match: channels = [phone] and categories = [repair] is
        the phone line's repairs only."""
        return (not self.channels or channel in self.channels) and (
            not self.categories or category in self.categories
        )


class CalendarPolicy(PolicyModel):
    """The business calendar's settings; the holiday lists come from `holidays_from`."""

    time_zone: str = "Asia/Shanghai"
    working_hours: tuple[WorkingPeriod, ...] = DEFAULT_WORKING_HOURS
    weekend: Weekdays = frozenset({6, 7})
    holidays_from: HolidaySource = "china"
    first_year: int | None = Field(default=None, ge=1900, le=2200)
    last_year: int | None = Field(default=None, ge=1900, le=2200)
    overrides: CalendarOverrides = CalendarOverrides()
    short_days: ShortDays = Field(default_factory=dict)
    teams: dict[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")], TeamCalendar] = Field(
        default_factory=dict
    )
    # Years whose holiday notice `overrides` carries in full: they extend the horizon
    # (csflow/domain/horizon.py) past the library's last year.
    notice_years: tuple[Annotated[int, Field(ge=1900, le=2200)], ...] = ()

    @model_validator(mode="after")
    def _checked(self) -> CalendarPolicy:
        if self.first_year and self.last_year and self.first_year > self.last_year:
            raise ValueError("first_year must not be after last_year")
        for days in (self.short_days, *(t.short_days or {} for t in self.teams.values())):
            if both := self.overrides.add_holidays & days.keys():
                raise ValueError(
                    "both a holiday and a short day: "
                    + ", ".join(d.isoformat() for d in sorted(both))
                )
        try:  # the same checks as the calendars it builds, reported here
            for team in (None, *self.teams):
                self.calendar(frozenset(), frozenset(), team=team)
        except ValidationError as e:
            raise ValueError("; ".join(err["msg"] for err in e.errors())) from None
        return self

    def __hash__(self) -> int:  # short_days and teams are dicts
        return hash(self.model_dump_json())

    def years(self, today: date) -> range:
        """Last year to next year unless pinned: enough for any open request's deadlines."""
        return range(self.first_year or today.year - 1, (self.last_year or today.year + 1) + 1)

    def team_for(self, channel: Channel, category: Category) -> str | None:
        """The first team (in the file's order) serving the request; None: the organisation."""
        return next((name for name, t in self.teams.items() if t.serves(channel, category)), None)

    def holiday_source(self, team: str | None = None) -> HolidaySource:
        t = self.teams[team] if team else None
        return t.holidays_from if t and t.holidays_from else self.holidays_from

    def calendar(
        self,
        holidays: frozenset[date],
        makeup_workdays: frozenset[date],
        team: str | None = None,
    ) -> BusinessCalendar:
        """The calendar from a library's lists, with this policy's overrides applied; a
        team's calendar takes its own hours where it sets them, and no holidays at all when
        it says `holidays_from = "none"` itself (a round-the-clock desk). A short day wins
        over a library holiday: the organisation opens for half of it."""
        hol, work = self.overrides.apply(holidays, makeup_workdays)
        short = dict(self.short_days)
        zone, hours, weekend = self.time_zone, self.working_hours, self.weekend
        if team:
            t = self.teams[team]
            zone = t.time_zone or zone
            hours = t.working_hours or hours
            weekend = t.weekend if t.weekend is not None else weekend
            if t.short_days is not None:
                short = dict(t.short_days)
            if t.holidays_from == "none":
                hol, work = frozenset(), frozenset()
        hol -= short.keys()  # a half-day holiday is open for its half day
        return BusinessCalendar(
            time_zone=zone,
            working_hours=hours,
            weekend=weekend,
            holidays=hol,
            makeup_workdays=work,
            short_days=short,
            team=team or "",
        )


# ---- intake intelligence ----

Term = Annotated[str, Field(min_length=1, max_length=64)]


class EmotionLexicon(PolicyModel):
    """`[intake.emotion]`: Chinese terms match whole segmented words, English terms whole
    words (csflow/domain/emotion.py); each list replaces its default."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )

    zh_CN: tuple[Term, ...] = Field(default=DEFAULT_ZH, alias="zh-CN")
    en: tuple[Term, ...] = DEFAULT_EN


Language = Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]
Openings = Annotated[
    tuple[Annotated[str, Field(min_length=1, max_length=80)], ...], Field(min_length=1)
]
# The built-in openings cover the console's soothing phrases (csflow/console/phrases.toml),
# so a reply that starts with one of them is always accepted.
DEFAULT_SOOTHING: dict[str, tuple[str, ...]] = {
    "zh-CN": (
        "非常抱歉",
        "很抱歉",
        "抱歉",
        "对不起",
        "我们理解您的心情",
        "理解您",
        "深表歉意",
        "由我亲自跟进",
        "感谢您把问题告诉我们",
    ),
    "en": (
        "We're sorry",
        "We are sorry",
        "I'm sorry",
        "I am sorry",
        "Sorry",
        "I understand",
        "We understand",
        "I completely understand",
        "I am handling this personally",
        "Thank you for telling us",
    ),
}


class IntakePolicy(PolicyModel):
    """Intake intelligence (docs/requirements.md §3.1): who needs soothing, which
    complaints repeat."""

    emotion: EmotionLexicon = EmotionLexicon()
    # Extra terms of either language (an older key, kept): matched by the same rules.
    emotion_keywords: tuple[Term, ...] = ()
    repeat_window: ClockSpec = _clock("720h")  # 30 days, wall-clock
    repeat_categories: tuple[Category, ...] = (Category.COMPLAINT,)
    # The first reply to a request flagged upset must open gently: with one of these, in
    # the customer's language (docs/policy.md `[intake.soothing_openings]`).
    soothing_openings: dict[Language, Openings] = Field(
        default_factory=lambda: dict(DEFAULT_SOOTHING)
    )

    @field_validator("soothing_openings")
    @classmethod
    def _per_language(cls, given: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        """Each language listed replaces its default; the others keep theirs."""
        return DEFAULT_SOOTHING | given


# ---- the whole policy ----


def _default_channels() -> dict[Channel, ChannelTargets]:
    return {
        Channel.SOCIAL: ChannelTargets(first_response=_clock("2h")),
        Channel.EMAIL: ChannelTargets(first_response=_clock("24h")),
        Channel.PHONE: ChannelTargets(answer_within=_clock("10s").duration),
        Channel.CHAT: ChannelTargets(answer_within=_clock("30s").duration),
    }


class Policy(PolicyModel):
    version: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        default=None, description="Explicit version; a content hash when absent."
    )
    sla: SlaPolicy = SlaPolicy()
    channels: dict[Channel, ChannelTargets] = Field(default_factory=_default_channels)
    escalation: EscalationPolicy = EscalationPolicy()
    follow_up: FollowUpPolicy = FollowUpPolicy()
    confirmation: ConfirmationPolicy = ConfirmationPolicy()
    compensation: CompensationPolicy = CompensationPolicy()
    ownership: OwnershipPolicy = OwnershipPolicy()
    compliance: CompliancePolicy = CompliancePolicy()
    calendar: CalendarPolicy = CalendarPolicy()
    intake: IntakePolicy = IntakePolicy()
    # Who escalations reach (docs/policy.md "Organisation"); not part of the SLA terms, so
    # not of the version either: a new head does not make a new policy version.
    organisation: Organisation = Organisation()
    taxonomy: Taxonomy = Taxonomy()

    @model_validator(mode="after")
    def _chart_serves_the_ladder(self) -> Policy:
        named = {
            r.value
            for p in ("P1", "P2", "P3")
            for step in getattr(self.escalation, p)
            for r in step.notify
        }
        named |= {
            "director"
            for p in ("P1", "P2", "P3")
            for step in getattr(self.escalation, p)
            if step.action.value == "director_takeover"
        }
        if gaps := ladder_gaps(self.organisation, named):
            raise ValueError("; ".join(gaps))
        return self

    @property
    def effective_version(self) -> str:
        """What a request records as the policy it started under."""
        if self.version:
            return self.version
        data = self.model_dump(mode="json", exclude={"version", "organisation"})
        for key in ("short_days", "teams", "notice_years"):  # added later: unset, the hash
            if not data["calendar"][key]:  # stays as it was
                del data["calendar"][key]
        if tuple(self.follow_up.skip_roles) == DEFAULT_SKIP_ROLES:  # likewise, at default
            del data["follow_up"]["skip_roles"]
        if self.intake.soothing_openings == DEFAULT_SOOTHING:
            del data["intake"]["soothing_openings"]
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return "sha-" + hashlib.sha256(canonical.encode()).hexdigest()[:12]


DEFAULT_POLICY = Policy()


def policy_from_mapping(data: Mapping[str, Any]) -> Policy:
    """A partial policy laid over the defaults; raises pydantic's ValidationError."""
    base = DEFAULT_POLICY.model_dump(mode="json", exclude={"version"})
    return Policy.model_validate(_merge(base, data))


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        below = out.get(key)
        if isinstance(value, Mapping) and isinstance(below, dict):
            out[key] = _merge(below, value)
        else:
            out[key] = value
    return out
