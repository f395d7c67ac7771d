"""Scorecards in the terminal: one rich table, the organisation's row first."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from csflow.reports import fmt
from csflow.reports.scorecards import FIGURES, Figure, Level, Scorecard, ScorecardReport, ranked

# The terminal is narrower than the page: the figures a supervisor reads first.
SHOWN = (
    "handled",
    "first_response_p50",
    "first_response_p90",
    "resolution_p50",
    "sla_first_response",
    "sla",
    "rehandling",
    "fcr",
    "satisfaction",
    "nps",
    "follow_up",
    "open_improvements",
)


def show(f: Figure, card: Scorecard) -> str:
    v = f.value(card)
    if f.unit == "seconds":
        return fmt.duration(v)
    if f.unit == "rate":
        return fmt.pct(v)
    return fmt.num(v, 2 if f.key == "satisfaction" else 1)


def print_scorecards(
    r: ScorecardReport,
    level: Level,
    sort: str,
    *,
    worst: bool = False,
    top: int | None = None,
    out: Console,
) -> None:
    out.print(
        f"[bold]Scorecards {r.period}[/bold] by {level} ({r.time_zone}), ranked by "
        f"{FIGURES[sort].label}, {'worst' if worst else 'best'} first"
    )
    t = Table("#", level, *(FIGURES[k].label for k in SHOWN), show_edge=False, pad_edge=False)
    for col in t.columns[2:]:
        col.justify = "right"
    cards = ranked(r.level(level), sort, worst_first=worst)
    shown = cards[:top] if top else cards
    # Who it is must stay readable when the figures are squeezed.
    t.columns[1].no_wrap = True
    t.columns[1].min_width = max([12, *(len(_who(c)) for c in shown)])
    org = r.organisation
    t.add_row(
        "",
        "organisation",
        *(
            fmt.num(org.handled_per_agent) + " /agent"
            if k == "handled" and level == "agent"
            else show(FIGURES[k], org)
            for k in SHOWN
        ),
        style="bold",
    )
    for i, c in enumerate(shown, start=1):
        t.add_row(str(i), _who(c), *(show(FIGURES[k], c) for k in SHOWN))
    out.print(t)


def _who(c: Scorecard) -> str:
    return c.key if not c.name else f"{c.key} {c.name}"
