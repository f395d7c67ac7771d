"""`csflow report …`: a report in the terminal, as rich tables.

A stored report is printed as it was stored (its generation time is shown); one not
produced yet — or any, with `--refresh` — is computed here, on this database, by the same
code the scheduled workflow runs, and stored, so the page and the CSV show it too.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from csflow.reports import export, fmt, service, store
from csflow.reports.model import Forecast, Rate, Report
from csflow.reports.periods import PeriodKind, local_day, parse, previous
from csflow.store.pool import create_pool


def run_report(
    dsn: str,
    tz: str,
    kind: PeriodKind,
    label: str | None,
    *,
    refresh: bool,
    csv_path: Path | None,
    console: Console | None = None,
) -> int:
    out = console or Console()
    try:
        period = parse(kind, label) if label else previous(kind, datetime.now(UTC), tz)
    except ValueError as err:
        out.print(f"[red]{err}[/red]")
        return 2

    async def fetch() -> Report:
        pool = await create_pool(dsn, min_size=1, max_size=2)
        try:
            found = None if refresh else await store.load(pool, kind, period.label)
            if found is not None:
                return found.report()
            return await service.produce(
                pool, kind, period.label, tz, datetime.now(UTC), refresh=refresh
            )
        finally:
            await pool.close()

    report = asyncio.run(fetch())
    print_report(report, out)
    if csv_path:
        csv_path.write_text(export.to_csv(export.report_rows(report)), encoding="utf-8")
        out.print(f"CSV written to {csv_path}")
    return 0


def run_forecast(
    dsn: str, tz: str, as_of: str | None, horizon: int, console: Console | None = None
) -> int:
    out = console or Console()
    try:
        day = date.fromisoformat(as_of) if as_of else local_day(datetime.now(UTC), tz)
    except ValueError:
        out.print(f"[red]a day is written YYYY-MM-DD, not {as_of!r}[/red]")
        return 2

    async def compute() -> Forecast:
        pool = await create_pool(dsn, min_size=1, max_size=2)
        try:
            return await service.produce_forecast(pool, day, tz, horizon, datetime.now(UTC))
        finally:
            await pool.close()

    print_forecast(asyncio.run(compute()), out)
    return 0


def print_report(r: Report, out: Console) -> None:
    p = parse(r.kind, r.period)
    out.print(
        f"[bold]{r.kind.capitalize()} report {r.period}[/bold]  {p.first_day} – "
        f"{p.last_day} ({r.time_zone}), generated {r.generated_at:%Y-%m-%d %H:%M} UTC"
    )
    head = _table("figure", "value", "of")
    head.add_row("requests received", str(r.received), "")
    head.add_row("SLA compliance", fmt.pct(r.sla_compliance.rate), _of(r.sla_compliance))
    head.add_row("NPS", fmt.num(r.nps.score), f"{r.nps.responses} answers")
    head.add_row("mean satisfaction (1–5)", fmt.num(r.satisfaction_mean, 2), "")
    for label, rate in (
        ("first-contact resolution", r.first_contact_resolution),
        ("repeat complaints", r.repeat_complaints),
        ("re-handling", r.rehandling),
        ("follow-up completion", r.follow_up_completion),
    ):
        head.add_row(label, fmt.pct(rate.rate), _of(rate))
    head.add_row("missed progress updates", str(r.progress_updates_missed), "")
    head.add_row("open improvement tasks", str(r.open_improvements), "at the end")
    out.print(head)
    volume = _table("by", "key", "requests", "share")
    for by, shares in (
        ("category", r.by_category),
        ("channel", r.by_channel),
        ("department", r.by_department),
    ):
        for s in shares:
            volume.add_row(by, s.key, str(s.count), fmt.pct(s.share))
    out.print(volume)
    issues = _table("#", "category", "sub-type", "requests", "share")
    for i, issue in enumerate(r.top_issues, start=1):
        issues.add_row(
            str(i), issue.category, issue.sub_type, str(issue.count), fmt.pct(issue.share)
        )
    out.print(issues)
    scores = _table("score", "answers", "share")
    for s in r.satisfaction:
        scores.add_row(s.key, str(s.count), fmt.pct(s.share))
    out.print(scores)
    speed = _table(
        "priority", "first resp. n", "mean", "p50", "p90", "resolution n", "mean", "p50", "p90"
    )
    for fr, res in zip(r.first_response, r.resolution, strict=True):
        speed.add_row(
            fr.priority,
            str(fr.count),
            *(fmt.duration(v) for v in (fr.mean, fr.p50, fr.p90)),
            str(res.count),
            *(fmt.duration(v) for v in (res.mean, res.p50, res.p90)),
        )
    out.print(speed)
    channels = _table(
        "channel",
        "picked up",
        "within target",
        "compliance",
        "pick-up p50",
        "p90",
        "first resp. n",
        "p50",
        "p90",
    )
    for ch in r.by_channel_response:
        channels.add_row(
            ch.channel,
            str(ch.pickup.count),
            str(ch.pickup_met),
            fmt.pct(ch.pickup_rate),
            fmt.duration(ch.pickup.p50),
            fmt.duration(ch.pickup.p90),
            str(ch.first_response.count),
            fmt.duration(ch.first_response.p50),
            fmt.duration(ch.first_response.p90),
        )
    out.print(channels)
    sla = _table("clock", "met", "breached", "compliance")
    for c in r.sla:
        sla.add_row(c.clock, str(c.met), str(c.breached), fmt.pct(c.rate))
    out.print(sla)


def print_forecast(f: Forecast, out: Console) -> None:
    out.print(
        f"[bold]Forecast from {f.as_of}[/bold] ({f.time_zone}): {f.history_days} days of "
        f"history; total back-test MAE {fmt.num(f.total_backtest_mae)}, "
        f"MAPE {fmt.pct(f.total_backtest_mape)}"
    )
    series = _table("series", "method", "MAE", "MAPE", "next 7 days")
    for s in f.series:
        series.add_row(
            f"{s.dimension}: {s.key}",
            s.method,
            fmt.num(s.backtest_mae),
            fmt.pct(s.backtest_mape),
            ", ".join(fmt.num(v) for v in s.forecast[:7]),
        )
    out.print(series)
    out.print(
        f"rate: {f.resolutions} resolutions / {f.agent_days} agent-days = "
        f"{fmt.num(f.per_agent_day, 2)} per agent-day (last {f.rate_window_days} days)"
    )
    staff = _table("day", "requests", "staff")
    for d in f.staffing:
        staff.add_row(
            f"{d.day} {d.day:%a}", fmt.num(d.requests), "–" if d.staff is None else str(d.staff)
        )
    out.print(staff)


def _table(*columns: str) -> Table:
    t = Table(*columns, show_edge=False, pad_edge=False)
    for col in t.columns[1:]:
        col.justify = "right"
    return t


def _of(rate: Rate) -> str:
    return f"{rate.numerator} / {rate.denominator}"
