"""One flat shape for a report — (section, item, measure, value) — and what reads it.

The CSV export, the command line's tables and the tests all read the same rows, so a
figure cannot say one thing on the page and another in the file. Values stay machine
readable here (seconds, fractions); `fmt` makes them human for pages and terminals.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from csflow.reports.model import DurationStats, Forecast, Rate, Report, Share

Row = tuple[str, str, str, float | int | str | bool | None]
HEADER = ("section", "item", "measure", "value")


def report_rows(r: Report) -> Iterator[Row]:
    yield ("period", r.kind, "label", r.period)
    yield ("period", "start", "utc", r.start.isoformat())
    yield ("period", "end", "utc", r.end.isoformat())
    yield ("volume", "received", "count", r.received)
    for section, shares in (
        ("category", r.by_category),
        ("channel", r.by_channel),
        ("department", r.by_department),
    ):
        yield from _shares(section, shares)
    for i in r.top_issues:
        item = f"{i.category} / {i.sub_type}"
        yield ("top_issue", item, "count", i.count)
        yield ("top_issue", item, "share", i.share)
    yield from _shares("satisfaction", r.satisfaction)
    yield ("satisfaction", "all", "mean", r.satisfaction_mean)
    yield ("nps", "promoters", "count", r.nps.promoters)
    yield ("nps", "passives", "count", r.nps.passives)
    yield ("nps", "detractors", "count", r.nps.detractors)
    yield ("nps", "all", "score", r.nps.score)
    yield from _durations("first_response_seconds", r.first_response)
    yield from _durations("resolution_seconds", r.resolution)
    for c in r.sla:
        yield ("sla", c.clock, "met", c.met)
        yield ("sla", c.clock, "breached", c.breached)
        yield ("sla", c.clock, "compliance", c.rate)
    yield from _rate("sla", "all", r.sla_compliance)
    yield ("sla", "progress_cadence", "missed", r.progress_updates_missed)
    yield from _rate("rate", "first_contact_resolution", r.first_contact_resolution)
    yield from _rate("rate", "repeat_complaints", r.repeat_complaints)
    yield from _rate("rate", "rehandling", r.rehandling)
    yield from _rate("rate", "follow_up_completion", r.follow_up_completion)
    yield ("rate", "follow_up_completion", "recorded_late", r.follow_ups_recorded_late)
    yield ("improvements", "open", "count", r.open_improvements)
    yield from _shares("improvements_open", r.open_improvements_by_department)
    for ch in r.by_channel_response:
        yield ("pickup_seconds", ch.channel, "count", ch.pickup.count)
        yield ("pickup_seconds", ch.channel, "p50", ch.pickup.p50)
        yield ("pickup_seconds", ch.channel, "p90", ch.pickup.p90)
        yield ("pickup", ch.channel, "met", ch.pickup_met)
        yield ("pickup", ch.channel, "missed", ch.pickup_missed)
        yield ("pickup", ch.channel, "compliance", ch.pickup_rate)
        yield from _durations("channel_first_response_seconds", [ch.first_response])


def forecast_rows(f: Forecast) -> Iterator[Row]:
    yield ("forecast", "as_of", "date", f.as_of.isoformat())
    yield ("forecast", "history", "days", f.history_days)
    for s in f.series:
        item = f"{s.dimension}:{s.key}"
        yield ("series", item, "method", s.method)
        yield ("series", item, "backtest_mae", s.backtest_mae)
        yield ("series", item, "backtest_mape", s.backtest_mape)
        for i, v in enumerate(s.forecast):
            yield ("series", item, f"day+{i}", v)
    yield ("total", "all", "backtest_mae", f.total_backtest_mae)
    yield ("total", "all", "backtest_mape", f.total_backtest_mape)
    yield ("staffing", "rate", "resolutions", f.resolutions)
    yield ("staffing", "rate", "agent_days", f.agent_days)
    yield ("staffing", "rate", "per_agent_day", f.per_agent_day)
    for d in f.staffing:
        yield ("staffing", d.day.isoformat(), "requests", d.requests)
        yield ("staffing", d.day.isoformat(), "staff", d.staff)
    for fd in f.days:
        item = fd.day.isoformat()
        yield ("day", item, "requests", fd.requests)
        yield ("day", item, "lower", fd.lower)
        yield ("day", item, "upper", fd.upper)
        yield ("day", item, "holiday", fd.holiday)
        yield ("day", item, "makeup_workday", fd.makeup_workday)
        yield ("day", item, "campaign", fd.campaign)
    yield ("backtest", "all horizons", "mape_plain", f.total_backtest_mape_plain)
    for e in f.horizon_errors:
        yield ("backtest", f"horizon {e.horizon}", "origins", e.origins)
        yield ("backtest", f"horizon {e.horizon}", "mape", e.mape)
        yield ("backtest", f"horizon {e.horizon}", "mape_plain", e.mape_plain)


def to_csv(rows: Iterator[Row]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(HEADER)
    for section, item, measure, value in rows:
        w.writerow((section, item, measure, "" if value is None else value))
    return out.getvalue()


def _shares(section: str, shares: list[Share]) -> Iterator[Row]:
    for s in shares:
        yield (section, s.key, "count", s.count)
        yield (section, s.key, "share", s.share)


def _durations(section: str, stats: list[DurationStats]) -> Iterator[Row]:
    for d in stats:
        yield (section, d.priority, "count", d.count)
        yield (section, d.priority, "mean", d.mean)
        yield (section, d.priority, "p50", d.p50)
        yield (section, d.priority, "p90", d.p90)


def _rate(section: str, item: str, rate: Rate) -> Iterator[Row]:
    yield (section, item, "numerator", rate.numerator)
    yield (section, item, "denominator", rate.denominator)
    yield (section, item, "rate", rate.rate)
