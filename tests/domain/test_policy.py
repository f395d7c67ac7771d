from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from csflow.domain.calendar import BusinessCalendar
from csflow.domain.clockspec import ClockSpec, format_duration, parse_duration
from csflow.domain.codes import Category, Channel, Priority, Tier
from csflow.domain.escalation import EscalationAction, NotifyChannel, Recipient
from csflow.domain.policy import DEFAULT_POLICY, Policy, policy_from_mapping
from csflow.domain.terms import RequestTerms, resolve_terms

SH = ZoneInfo("Asia/Shanghai")
M, H = timedelta(minutes=1), timedelta(hours=1)
CAL = BusinessCalendar(
    holidays=frozenset({date(2026, 11, 30), date(2026, 12, 1)}),
    makeup_workdays=frozenset({date(2026, 11, 29)}),
)


def terms(
    channel: Channel = Channel.WEB,
    category: Category = Category.CONSULTATION,
    sub_type: str | None = None,
    tier: Tier = Tier.REGULAR,
    amount: Decimal | None = None,
    policy: Policy = DEFAULT_POLICY,
) -> RequestTerms:
    return resolve_terms(policy, CAL, channel, category, sub_type, tier, amount)


# ---- durations and clock specs ----


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("15m", 15 * M),
        ("2h", 2 * H),
        ("1h30m", 90 * M),
        ("1h 30m", 90 * M),
        ("3d", 72 * H),
        ("10s", timedelta(seconds=10)),
        ("0.5s", timedelta(milliseconds=500)),
        ("PT15M", 15 * M),
        ("P1DT2H", 26 * H),
    ],
)
def test_durations_parse(text: str, value: timedelta) -> None:
    assert parse_duration(text) == value


@pytest.mark.parametrize("text", ["15", "15 minutes", "", "-1h", "1x"])
def test_durations_without_a_unit_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"not a duration|negative"):
        parse_duration(text)
    with pytest.raises(ValueError, match="with a unit"):
        parse_duration(15)


@given(st.timedeltas(timedelta(0), timedelta(days=400)))
def test_durations_format_and_parse_back(value: timedelta) -> None:
    text = format_duration(value)
    assert "d" not in text, "24h of wall time must not read as a day"
    assert parse_duration(text) == value


def test_clock_spec_shorthand_and_json_form() -> None:
    assert ClockSpec.model_validate("2h") == ClockSpec(duration=2 * H, basis="wall")
    days = ClockSpec.model_validate({"duration": "3d", "basis": "working_days"})
    assert days.model_dump(mode="json") == {"duration": "3d", "basis": "working_days"}
    assert ClockSpec.model_validate("72h").model_dump(mode="json")["duration"] == "72h"
    with pytest.raises(ValidationError, match="whole number of days"):
        ClockSpec.model_validate({"duration": "36h", "basis": "working_days"})
    with pytest.raises(ValidationError, match="Input should be 'wall', 'working'"):
        ClockSpec.model_validate({"duration": "1h", "basis": "business"})
    with pytest.raises(ValidationError, match="a clock is a duration"):
        ClockSpec.model_validate(5)


def test_resume_after_a_pause_keeps_what_is_left() -> None:
    start = datetime(2026, 11, 23, 9, 0, tzinfo=SH)  # Monday
    wall = ClockSpec.model_validate("4h")
    assert wall.resume_due(CAL, start, H, start + 5 * H) == start + 8 * H
    working = ClockSpec(duration=4 * H, basis="working")
    friday_1630 = datetime(2026, 11, 27, 16, 30, tzinfo=SH)
    # 1 h used before the pause; 3 h left from Friday 16:30: 1.5 h Friday, 1.5 h Sunday (make-up)
    assert working.resume_due(CAL, start, H, friday_1630) == datetime(
        2026, 11, 29, 10, 30, tzinfo=SH
    )
    assert wall.resume_due(CAL, start, 9 * H, start + 10 * H) == start + 10 * H, "overdue: now"


# ---- defaults = docs/requirements.md §4 ----


def test_default_clocks_are_the_spec_table() -> None:
    expected = {
        Priority.P1: ("15m", "1h", "2h", "6h"),
        Priority.P2: ("30m", "1h", "4h", "6h"),
        Priority.P3: ("2h", "2h", "24h", "24h"),
    }
    for priority, texts in expected.items():
        c = DEFAULT_POLICY.sla.of(priority)
        specs = (c.first_response, c.plan, c.resolution, c.progress_cadence)
        assert tuple(s.duration for s in specs) == tuple(map(parse_duration, texts))
        assert {s.basis for s in specs} == {"wall"}
    assert DEFAULT_POLICY.sla.warning_shares == (0.5, 0.75)
    assert DEFAULT_POLICY.sla.pause_when_awaiting_customer is True


def test_default_ladder_is_the_spec_ladder_then_director_takeover() -> None:
    p1, p2, p3 = (DEFAULT_POLICY.escalation.of(p) for p in Priority)
    assert (p1[0].after.duration, p1[0].notify, set(p1[0].channels)) == (
        15 * M,
        (Recipient.SUPERVISOR,),
        {NotifyChannel.SMS, NotifyChannel.PHONE},
    )
    assert (p2[0].after.duration, p2[0].notify, p2[0].channels) == (
        H,
        (Recipient.DEPARTMENT_HEAD,),
        (NotifyChannel.EMAIL,),
    )
    assert (p3[0].after.duration, p3[0].action) == (4 * H, EscalationAction.MARK_DELAYED)
    for ladder in (p1, p2, p3):
        last = ladder[-1]
        assert last.action is EscalationAction.DIRECTOR_TAKEOVER
        assert last.after.duration == 2 * ladder[0].after.duration, "one more step interval"


def test_other_defaults() -> None:
    p = DEFAULT_POLICY
    assert p.channels[Channel.SOCIAL].first_response == ClockSpec.model_validate("2h")
    assert p.channels[Channel.EMAIL].first_response == ClockSpec.model_validate("24h")
    assert p.channels[Channel.PHONE].answer_within == timedelta(seconds=10)
    assert p.channels[Channel.CHAT].answer_within == timedelta(seconds=30)
    assert p.compensation.agent_limit == 500 and p.compensation.currency == "CNY"
    assert p.confirmation.window.duration == 72 * H
    assert p.calendar.time_zone == "Asia/Shanghai"


# ---- partial policies and validation ----


def test_a_partial_policy_changes_only_what_it_names() -> None:
    p = policy_from_mapping(
        {"sla": {"P1": {"first_response": "10m"}}, "channels": {"app": {"first_response": "1h"}}}
    )
    assert p.sla.P1.first_response.duration == 10 * M
    assert p.sla.P1.plan == DEFAULT_POLICY.sla.P1.plan
    assert p.sla.P2 == DEFAULT_POLICY.sla.P2
    assert set(p.channels) == {Channel.APP, *DEFAULT_POLICY.channels}
    assert p.effective_version != DEFAULT_POLICY.effective_version
    assert policy_from_mapping({}) == DEFAULT_POLICY


def test_the_version_is_explicit_or_a_content_hash() -> None:
    assert DEFAULT_POLICY.effective_version.startswith("sha-")
    assert Policy().effective_version == DEFAULT_POLICY.effective_version
    assert policy_from_mapping({"version": "2026-11"}).effective_version == "2026-11"


@pytest.mark.parametrize(
    ("data", "loc"),
    [
        ({"sla": {"P1": {"first_responce": "15m"}}}, ("sla", "P1", "first_responce")),
        ({"sla": {"P4": {}}}, ("sla", "P4")),
        ({"sla": {"P1": {"plan": "0s"}}}, ("sla", "P1")),
        ({"sla": {"warning_shares": [0.75, 0.5]}}, ("sla", "warning_shares")),
        ({"sla": {"warning_shares": [1.5]}}, ("sla", "warning_shares", 0)),
        ({"channels": {"fax": {}}}, ("channels", "fax", "[key]")),
        ({"escalation": {"P1": [{"after": "5m", "channels": ["sms"]}]}}, ("escalation", "P1", 0)),
        (
            {
                "escalation": {
                    "P2": [
                        {"after": "2h", "notify": ["director"], "channels": ["sms"]},
                        {"after": "1h", "notify": ["director"], "channels": ["sms"]},
                    ]
                }
            },
            ("escalation", "P2"),
        ),
        ({"compensation": {"currency": "yuan"}}, ("compensation", "currency")),
        ({"calendar": {"weekend": [1, 2, 3, 4, 5, 6, 7]}}, ("calendar",)),
        (
            {"calendar": {"overrides": {"add_holiday": []}}},
            ("calendar", "overrides", "add_holiday"),
        ),
    ],
)
def test_bad_keys_are_refused_with_their_location(
    data: dict[str, object], loc: tuple[object, ...]
) -> None:
    with pytest.raises(ValidationError) as e:
        policy_from_mapping(data)
    assert loc in [err["loc"] for err in e.value.errors()]


def test_calendar_settings_build_the_calendar_with_overrides_last() -> None:
    p = policy_from_mapping(
        {
            "calendar": {
                "time_zone": "Europe/Berlin",
                "weekend": [7],
                "first_year": 2026,
                "last_year": 2026,
                "overrides": {"add_holidays": ["2026-12-24"], "remove_holidays": ["2026-05-01"]},
            }
        }
    )
    cal = p.calendar.calendar(frozenset({date(2026, 5, 1)}), frozenset())
    assert cal.time_zone == "Europe/Berlin" and cal.weekend == {7}
    assert cal.holidays == {date(2026, 12, 24)}
    assert p.calendar.years(date(2030, 1, 1)) == range(2026, 2027)
    assert DEFAULT_POLICY.calendar.years(date(2026, 11, 23)) == range(2025, 2028)


# ---- one request's terms ----


def test_terms_carry_every_priority_and_survive_json() -> None:
    t = terms()
    back = RequestTerms.model_validate_json(t.model_dump_json())
    assert back == t
    assert t.policy_version == DEFAULT_POLICY.effective_version
    assert t.calendar.version == CAL.version
    start = datetime(2026, 11, 23, 10, 0, tzinfo=SH)
    assert [t.due("resolution", p, start) - start for p in Priority] == [2 * H, 4 * H, 24 * H]
    assert t.due("progress_cadence", Priority.P1, start) == start + 6 * H
    assert t.warnings_at("first_response", Priority.P1, start) == [
        start + timedelta(minutes=7, seconds=30),
        start + timedelta(minutes=11, seconds=15),
    ]


def test_a_channel_target_applies_only_where_stricter() -> None:
    start = datetime(2026, 11, 23, 10, 0, tzinfo=SH)
    social, email = terms(Channel.SOCIAL), terms(Channel.EMAIL)
    assert email.due("first_response", Priority.P3, start) == start + 2 * H, "24 h is looser"
    looser_p3 = policy_from_mapping({"sla": {"P3": {"first_response": "4h"}}})
    social = terms(Channel.SOCIAL, policy=looser_p3)
    assert social.due("first_response", Priority.P3, start) == start + 2 * H
    assert social.due("first_response", Priority.P1, start) == start + 15 * M
    assert social.due("plan", Priority.P3, start) == start + 2 * H, "first response only"
    assert terms(Channel.WEB).channel_first_response is None


def test_stricter_is_decided_at_the_start_when_the_bases_differ() -> None:
    p = policy_from_mapping(
        {
            "sla": {"P3": {"first_response": "6h"}},
            "channels": {"web": {"first_response": {"duration": "2h", "basis": "working"}}},
        }
    )
    t = terms(Channel.WEB, policy=p)
    monday_10 = datetime(2026, 11, 23, 10, 0, tzinfo=SH)
    friday_17 = datetime(2026, 11, 27, 17, 0, tzinfo=SH)
    assert t.due("first_response", Priority.P3, monday_10) == monday_10 + 2 * H
    assert t.due("first_response", Priority.P3, friday_17) == friday_17 + 6 * H


@pytest.mark.parametrize(
    ("kw", "cls"),
    [
        ({"tier": Tier.VIP}, "vip"),
        ({"tier": Tier.VIP, "category": Category.AFTER_SALES, "sub_type": "repair"}, "vip"),
        ({"category": Category.AFTER_SALES, "sub_type": "Repair"}, "major"),
        ({"category": Category.COMPLAINT, "amount": Decimal(5000)}, "major"),
        ({"category": Category.COMPLAINT, "amount": Decimal("4999.99")}, "routine"),
        ({"category": Category.AFTER_SALES, "sub_type": "exchange"}, "routine"),
        ({}, "routine"),
    ],
)
def test_follow_up_class(kw: dict[str, object], cls: str) -> None:
    assert terms(**kw).service_class == cls  # type: ignore[arg-type]


def test_follow_up_deadlines() -> None:
    friday_1730 = datetime(2026, 11, 27, 17, 30, tzinfo=SH)
    # Sunday 29th is a make-up day, 30th and 1st are holidays.
    assert terms().follow_up_due(friday_1730) == datetime(2026, 12, 3, 18, 0, tzinfo=SH)
    major = terms(category=Category.AFTER_SALES, sub_type="repair")
    assert major.follow_up_due(friday_1730) == datetime(2026, 11, 29, 18, 0, tzinfo=SH)
    assert terms(tier=Tier.VIP).follow_up_due(friday_1730) == friday_1730 + 24 * H
    assert terms().confirmation_due(friday_1730) == friday_1730 + 72 * H


def test_compensation_approval() -> None:
    t = terms()
    assert not t.needs_approval(Decimal(500))
    assert t.needs_approval(Decimal("500.01"))
    major = terms(category=Category.COMPLAINT, amount=Decimal(8000))
    assert major.major_complaint and major.needs_approval(Decimal(50))
    repair = terms(category=Category.AFTER_SALES, sub_type="repair")
    assert not repair.major_complaint and not repair.needs_approval(Decimal(50))


def test_ladder_steps_count_from_the_breach() -> None:
    t = terms()
    breach = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert [t.step_due(s, breach) - breach for s in t.ladder(Priority.P2)] == [H, 2 * H]
