"""Scorecards as one wide row per agent, team or department (CSV, the terminal, the page).

Unlike a report (sections of different shapes), every scorecard has the same figures, so
a spreadsheet wants one row per scorecard with a column per figure; the organisation's row
comes first, so its average sits beside every column. Values stay raw: seconds,
fractions.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence

from csflow.reports.model import PROMISE_CLOCKS, DurationStats, Rate
from csflow.reports.scorecards import Scorecard, ScorecardReport

Value = float | int | str | None


def columns() -> list[str]:
    cols = ["level", "key", "name", "team", "department", "agents", "handled"]
    for m in ("first_response", "resolution"):
        cols += [f"{m}_count", f"{m}_mean_s", f"{m}_p50_s", f"{m}_p90_s"]
    for c in PROMISE_CLOCKS:
        cols += [f"sla_{c}_met", f"sla_{c}_breached", f"sla_{c}_rate"]
    cols += ["sla_all_rate", "progress_updates_missed"]
    for r in ("rehandling", "first_contact_resolution", "follow_up_completion"):
        cols += [f"{r}_numerator", f"{r}_denominator", f"{r}_rate"]
    cols += [
        "follow_ups_recorded_late",
        "satisfaction_answers",
        "satisfaction_mean",
        "nps_promoters",
        "nps_passives",
        "nps_detractors",
        "nps",
        "open_improvements",
    ]
    return cols


def row(s: Scorecard) -> list[Value]:
    out: list[Value] = [s.level, s.key, s.name, s.team, s.department, s.agents, s.handled]
    for d in (s.first_response, s.resolution):
        out += _stats(d)
    for c in s.sla:
        out += [c.met, c.breached, c.rate]
    out += [s.sla_compliance.rate, s.progress_updates_missed]
    for r in (s.rehandling, s.first_contact_resolution, s.follow_up_completion):
        out += _rate(r)
    out += [
        s.follow_ups_recorded_late,
        s.satisfaction_answers,
        s.satisfaction_mean,
        s.nps.promoters,
        s.nps.passives,
        s.nps.detractors,
        s.nps.score,
        s.open_improvements,
    ]
    return out


def rows(report: ScorecardReport, cards: Sequence[Scorecard]) -> Iterator[list[Value]]:
    yield row(report.organisation)
    for s in cards:
        yield row(s)


def to_csv(report: ScorecardReport, cards: Sequence[Scorecard]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(columns())
    for values in rows(report, cards):
        w.writerow(["" if v is None else v for v in values])
    return out.getvalue()


def _stats(d: DurationStats) -> list[Value]:
    return [d.count, d.mean, d.p50, d.p90]


def _rate(r: Rate) -> list[Value]:
    return [r.numerator, r.denominator, r.rate]
