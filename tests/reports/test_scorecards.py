"""Every scorecard figure against values worked out by hand from dataset.py.

The expected numbers were computed on paper from the timeline in dataset.py, following
the attribution rules of docs/reports.md ("Scorecards: who owns a figure"); the comments
give the reasoning. Week 2026-W47 = Mon 16 – Sun 22 Nov, Asia/Shanghai.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from csflow.reports import scorecards as sc
from csflow.reports.periods import parse
from csflow.reports.scorecards import Scorecard, ScorecardReport
from tests.reports.dataset import TZ, WEEK, insert, insert_staff

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


@pytest.fixture
async def week(pool: Any) -> ScorecardReport:
    await insert_staff(pool)
    await insert(pool)
    return await sc.produce(pool, parse("weekly", WEEK), TZ, NOW)


def by_key(cards: list[Scorecard]) -> dict[str, Scorecard]:
    return {c.key: c for c in cards}


def sla(card: Scorecard) -> dict[str, tuple[int, int]]:
    return {c.clock: (c.met, c.breached) for c in card.sla}


def durations(card: Scorecard) -> tuple[Any, ...]:
    fr, res = card.first_response, card.resolution
    return ((fr.count, fr.mean, fr.p50, fr.p90), (res.count, res.mean, res.p50, res.p90))


async def test_agents_are_everyone_counted_plus_idle_handlers(week: ScorecardReport) -> None:
    # f1 owns a follow-up, s1 (supervisor) and a4 handled nothing: rows of zeros; R5's
    # first-response breach happened while it waited in the queue: (unassigned).
    assert [c.key for c in week.agents] == [
        "(unassigned)",
        "a1",
        "a2",
        "a3",
        "a4",
        "e1",
        "f1",
        "s1",
    ]
    a = by_key(week.agents)
    assert (a["a3"].name, a["a3"].team, a["a3"].department) == (
        "Cai",
        "customer-service",
        "customer-service",
    )  # no team: the department's name
    assert (a["a4"].handled, a["a4"].sla_compliance.denominator, a["a4"].nps.responses) == (0, 0, 0)
    assert week.organisation.agents == 7  # (unassigned) is not a person


async def test_requests_handled_and_response_times_per_agent(week: ScorecardReport) -> None:
    a = by_key(week.agents)
    # handled = requests an agent proposed a resolution for (once per agent and request):
    # a1 R1; a3 R2 (twice resolved, counted once); e1 R3 and R9.
    assert {k: c.handled for k, c in a.items()} == {
        "(unassigned)": 0,
        "a1": 1,
        "a2": 0,
        "a3": 1,
        "a4": 0,
        "e1": 2,
        "f1": 0,
        "s1": 0,
    }
    # First responses go to who answered: a1 R1 10 min and R4 20 min; a2 R2 45 min;
    # a3 R5 24 h 30 min after receipt; e1 R3 80 min less 30 min waiting on the customer.
    # First resolutions: a1 R1 90 min; a3 R2 5 h less the 1 h pause (a3 held it after the
    # transfer at 13:30 and resolved it); e1 R3 50 min and R9 four days.
    assert durations(a["a1"]) == ((2, 900, 900, 1140), (1, 5400, 5400, 5400))
    assert durations(a["a2"]) == ((1, 2700, 2700, 2700), (0, None, None, None))
    assert durations(a["a3"]) == ((1, 88200, 88200, 88200), (1, 14400, 14400, 14400))
    assert durations(a["e1"]) == ((1, 3000, 3000, 3000), (2, 174300, 174300, pytest.approx(311340)))


async def test_sla_compliance_per_clock_follows_the_holder_at_the_breach(
    week: ScorecardReport,
) -> None:
    a = by_key(week.agents)
    # Met by who did the work: a1 R1 (all three clocks) and R4's plan; a3 R2's second
    # cycle; e1 R3 (all three). Breached by who held the request at the deadline: R2's
    # first response and plan a2, R2's resolution a3 (transferred at 13:30, due 14:00);
    # R4's first response a1, its resolution and progress cadence e1 (reassigned 09:00);
    # R5's first response while queued: (unassigned).
    assert sla(a["a1"]) == {"first_response": (1, 1), "plan": (2, 0), "resolution": (1, 0)}
    assert sla(a["a2"]) == {"first_response": (0, 1), "plan": (0, 1), "resolution": (0, 0)}
    assert sla(a["a3"]) == {"first_response": (0, 0), "plan": (0, 0), "resolution": (1, 1)}
    assert sla(a["e1"]) == {"first_response": (1, 0), "plan": (1, 0), "resolution": (1, 1)}
    assert sla(a["(unassigned)"]) == {
        "first_response": (0, 1),
        "plan": (0, 0),
        "resolution": (0, 0),
    }
    assert (a["e1"].progress_updates_missed, a["a1"].progress_updates_missed) == (1, 0)
    assert a["a1"].sla_compliance.rate == pytest.approx(4 / 5)


async def test_rehandling_fcr_satisfaction_nps_per_resolver(week: ScorecardReport) -> None:
    a = by_key(week.agents)
    # R2 sent back (17 09:00) answers a3's resolution of 15:00; a3 proposed two in the week.
    assert {
        k: (c.rehandling.numerator, c.rehandling.denominator)
        for k, c in a.items()
        if c.rehandling.denominator
    } == {"a1": (0, 1), "a3": (1, 2), "e1": (0, 2)}
    # First acceptances: R1 (a1, clean), R2 (a3, re-handled), R3 (e1, waited on the
    # customer), R9 (e1, clean).
    assert {
        k: (c.first_contact_resolution.numerator, c.first_contact_resolution.denominator)
        for k, c in a.items()
        if c.first_contact_resolution.denominator
    } == {"a1": (1, 1), "a3": (0, 1), "e1": (1, 2)}
    # Follow-up answers go to the resolver: R0 5/9 and R1 5/10 → a1; R2 2/6 → a3 (its
    # resolver since the transfer); R9 4/7 → e1.
    assert (a["a1"].satisfaction_answers, a["a1"].satisfaction_mean, a["a1"].nps.score) == (
        2,
        5.0,
        100.0,
    )
    assert (a["a3"].satisfaction_mean, a["a3"].nps.score) == (2.0, -100.0)
    assert (a["e1"].satisfaction_mean, a["e1"].nps.score) == (4.0, 0.0)


async def test_follow_ups_and_open_improvements(week: ScorecardReport) -> None:
    a = by_key(week.agents)
    # Owners: R0 and R1 named none → their resolver a1 (both on time); R2 none → a3
    # (missed, then recorded late); R9 named f1 (on time).
    assert {
        k: (
            c.follow_up_completion.numerator,
            c.follow_up_completion.denominator,
            c.follow_ups_recorded_late,
        )
        for k, c in a.items()
        if c.follow_up_completion.denominator
    } == {"a1": (2, 2, 0), "a3": (0, 1, 1), "f1": (1, 1, 0)}
    # Open at the end of Sunday: R0-IMP2, R0-IMP3 (a1 resolved R0), R2-IMP1 (a3).
    assert {k: c.open_improvements for k, c in a.items() if c.open_improvements} == {
        "a1": 2,
        "a3": 1,
    }


async def test_teams_and_departments_are_sums_of_their_agents(week: ScorecardReport) -> None:
    team = by_key(week.teams)["logistics-A"]  # a1, a2, a4, s1
    assert (team.agents, team.handled, team.department) == (4, 1, "customer-service")
    # First responses a1 600, 1200 and a2 2700: p90 at rank 1.8 = 1200 + 0.8 × 1500.
    assert durations(team)[0] == (3, 1500, 1200, pytest.approx(2400))
    assert sla(team) == {"first_response": (1, 2), "plan": (2, 1), "resolution": (1, 0)}
    dept = by_key(week.departments)["customer-service"]  # a1, a2, a3, a4, s1
    assert (dept.agents, dept.handled) == (5, 2)
    # 600, 1200, 2700, 88200: p50 = 1950, p90 at rank 2.7 = 2700 + 0.7 × 85500.
    assert durations(dept) == (
        (4, 23175, 1950, pytest.approx(62550)),
        (2, 9900, 9900, pytest.approx(13500)),
    )
    assert sla(dept) == {"first_response": (1, 2), "plan": (2, 1), "resolution": (2, 1)}
    assert (dept.rehandling.numerator, dept.rehandling.denominator) == (1, 3)
    assert (dept.first_contact_resolution.numerator, dept.first_contact_resolution.denominator) == (
        1,
        2,
    )
    assert dept.satisfaction_answers == 3
    assert dept.satisfaction_mean == pytest.approx(4.0)
    assert dept.nps.score == pytest.approx(100 / 3)
    assert (
        dept.follow_up_completion.numerator,
        dept.follow_up_completion.denominator,
        dept.follow_ups_recorded_late,
        dept.open_improvements,
    ) == (2, 3, 1, 3)
    assert sorted(c.key for c in week.teams) == [
        "(unassigned)",
        "customer-service",
        "follow-up",
        "logistics-A",
        "repair-1",
    ]
    assert sorted(c.key for c in week.departments) == [
        "(unassigned)",
        "customer-service",
        "engineering",
        "follow-up",
    ]


async def test_the_organisation_equals_the_weekly_report(week: ScorecardReport, pool: Any) -> None:
    from csflow.reports import service

    report = await service.publish(pool, "weekly", WEEK, TZ, NOW, 3)
    org = week.organisation
    assert org.handled == 4
    assert org.handled_per_agent == pytest.approx(4 / 7)
    assert sla(org) == {c.clock: (c.met, c.breached) for c in report.sla}
    assert org.progress_updates_missed == report.progress_updates_missed
    assert org.rehandling == report.rehandling
    assert org.first_contact_resolution == report.first_contact_resolution
    assert org.follow_up_completion == report.follow_up_completion
    assert org.nps == report.nps
    assert org.satisfaction_mean == report.satisfaction_mean
    assert org.open_improvements == report.open_improvements
    # All first responses of the week: 600, 1200, 2700, 3000, 88200.
    assert durations(org)[0] == (5, 19140, 2700, pytest.approx(54120))


async def test_ranking_and_any_range_of_days(week: ScorecardReport, pool: Any) -> None:
    worst = sc.ranked(week.agents, "sla_first_response", worst_first=True)
    # 0 % for a2 and (unassigned), then a1 50 %, then e1 100 %; no figure last.
    assert [c.key for c in worst[:4]] == ["(unassigned)", "a2", "a1", "e1"]
    best = sc.ranked(week.agents, "handled")
    assert [c.key for c in best[:3]] == ["e1", "a1", "a3"]
    same = await sc.scorecards(pool, parse("range", "2026-11-16..2026-11-22"), TZ, NOW)
    assert same.model_dump(exclude={"kind", "period"}) == week.model_dump(
        exclude={"kind", "period"}
    )
    monday = await sc.scorecards(pool, parse("range", "2026-11-16..2026-11-16"), TZ, NOW)
    assert by_key(monday.agents)["a1"].handled == 1  # R1 on Monday; nothing else of a1's


async def test_page_csv_and_json_show_the_same_figures(week: ScorecardReport, web: Any) -> None:
    from tests.reports.test_report_pages import Figures

    page = await web.get(
        f"/scorecards/weekly/{WEEK}", params={"sort": "sla_first_response", "order": "worst"}
    )
    assert page.status_code == 200
    seen = Figures()
    seen.feed(page.text)
    # The organisation's row beside the agents': 4 handled by 7 people, 2 of 5 first
    # responses in time; a2's column shows 0 % where a1 has 50 %.
    assert seen.found["org.handled"] == "0.6"
    assert seen.found["org.sla_first_response"] == "40.0 %"
    assert seen.found["a2.sla_first_response"] == "0.0 %"
    assert seen.found["a1.sla_first_response"] == "50.0 %"
    assert seen.found["a1.first_response_p90"] == "19 m"  # 1140 s
    assert seen.found["a3.nps"] == "-100"
    # Worst first: the first ranked rows are (unassigned) and a2 (0 %), then a1 (50 %).
    order = [
        line.split('data-key="')[1].split('"')[0]
        for line in page.text.splitlines()
        if 'data-key="' in line
    ]
    assert order[:3] == ["(unassigned)", "a2", "a1"]
    teams = await web.get(f"/scorecards/weekly/{WEEK}.csv", params={"level": "team"})
    import csv
    import io

    table = list(csv.DictReader(io.StringIO(teams.text)))
    assert table[0]["level"] == "organisation"
    row = next(r for r in table if r["key"] == "logistics-A")
    assert (
        row["agents"],
        row["handled"],
        row["first_response_p90_s"],
        row["sla_plan_met"],
        row["sla_plan_breached"],
    ) == ("4", "1", "2400.0", "2", "1")
    body = (await web.get(f"/scorecards/weekly/{WEEK}.json")).json()
    assert body["organisation"]["handled"] == 4
    assert {a["key"] for a in body["agents"]} >= {"a1", "a2", "a3", "e1", "f1"}


async def test_refusals_name_the_fix(pool: Any, web: Any) -> None:
    missing = await web.get("/scorecards/weekly/2026-W40.json")
    assert missing.status_code == 404
    assert "csflow scorecard show --week 2026-W40" in missing.json()["detail"]
    bad = await web.get("/scorecards/range/2026-11-30..2026-11-01.json")
    assert bad.status_code == 422 and "forward" in bad.json()["detail"]
    assert (await web.get("/scorecards/weekly/2026-W47?sort=height")).status_code == 422
    page = await web.get("/scorecards/monthly/2026-10")
    assert page.status_code == 404 and "not rolled up" in page.text
