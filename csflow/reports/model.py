"""What a report says, as typed models: stored as JSON, rendered as a page, a CSV, a table.

Shares and rates are fractions (0.25, not 25): the renderers decide how to print them, and
a rate whose denominator is zero is None ("no data"), never a misleading 0 %.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, model_validator

from csflow.reports.periods import parse

WORKFLOW_TYPE = "Report"  # the Report workflow's type name, as schedules start it
ReportKind = Literal["daily", "weekly", "monthly", "forecast"]
PRIORITIES = ("P1", "P2", "P3")
PROMISE_CLOCKS = ("first_response", "plan", "resolution")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Share(_Model):
    key: str
    count: int
    share: float | None


class Issue(_Model):
    category: str
    sub_type: str
    count: int
    share: float | None


class Rate(_Model):
    numerator: int
    denominator: int

    @property
    def rate(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None


class DurationStats(_Model):
    """Seconds; None when no request of the priority was measured in the period."""

    priority: str
    count: int
    mean: float | None
    p50: float | None
    p90: float | None


class Nps(_Model):
    promoters: int
    passives: int
    detractors: int

    @property
    def responses(self) -> int:
        return self.promoters + self.passives + self.detractors

    @property
    def score(self) -> float | None:
        n = self.responses
        return 100.0 * (self.promoters - self.detractors) / n if n else None


class ClockCompliance(_Model):
    clock: str
    met: int
    breached: int

    @property
    def rate(self) -> float | None:
        total = self.met + self.breached
        return self.met / total if total else None


class ChannelResponse(_Model):
    """How fast each channel is picked up and answered (docs/reports.md, "Per-channel
    response"): the pick-up against the channel's `answer_within`, beside first response."""

    channel: str
    pickup: DurationStats
    pickup_met: int
    pickup_missed: int
    first_response: DurationStats

    @property
    def pickup_rate(self) -> float | None:
        total = self.pickup_met + self.pickup_missed
        return self.pickup_met / total if total else None


class Report(_Model):
    kind: Literal["daily", "weekly", "monthly"]
    period: str
    time_zone: str
    start: datetime
    end: datetime
    generated_at: datetime
    received: int
    by_category: list[Share]
    by_channel: list[Share]
    by_department: list[Share]
    top_issues: list[Issue]
    satisfaction: list[Share]
    satisfaction_mean: float | None
    nps: Nps
    first_response: list[DurationStats]
    resolution: list[DurationStats]
    sla: list[ClockCompliance]
    progress_updates_missed: int
    first_contact_resolution: Rate
    repeat_complaints: Rate
    rehandling: Rate
    follow_up_completion: Rate
    follow_ups_recorded_late: int
    open_improvements: int
    open_improvements_by_department: list[Share]
    # Defaulted: reports stored before issue 16 have no channel response.
    by_channel_response: list[ChannelResponse] = Field(default_factory=list)

    @property
    def sla_compliance(self) -> Rate:
        met = sum(c.met for c in self.sla)
        return Rate(numerator=met, denominator=met + sum(c.breached for c in self.sla))


class SeriesForecast(_Model):
    dimension: Literal["category", "channel"]
    key: str
    method: str
    history: list[float]
    forecast: list[float]
    backtest_mae: float | None
    backtest_mape: float | None
    # Defaulted: forecasts stored before issue 16 have no band.
    lower: list[float] = Field(default_factory=list)
    upper: list[float] = Field(default_factory=list)


class ForecastDay(_Model):
    """One day of the horizon: the total forecast, its 80 % band and the calendar."""

    day: date
    requests: float
    lower: float
    upper: float
    holiday: bool
    makeup_workday: bool
    campaign: str | None


class HorizonError(_Model):
    """Rolling-origin backtest at one horizon (1 = the day after the origin)."""

    horizon: int
    origins: int
    mape: float | None
    mape_plain: float | None = Field(description="the calendar-blind Holt-Winters model")


class StaffDay(_Model):
    day: date
    requests: float
    staff: int | None = Field(description="None while no handling rate was measured yet")


class Forecast(_Model):
    as_of: date
    time_zone: str
    generated_at: datetime
    history_start: date | None
    history_days: int
    horizon_days: int
    series: list[SeriesForecast]
    total_backtest_mae: float | None
    total_backtest_mape: float | None
    resolutions: int = Field(description="resolution_proposed events in the rate window")
    agent_days: int = Field(description="distinct (handler, local day) pairs in that window")
    rate_window_days: int
    staffing: list[StaffDay]
    # Defaulted: forecasts stored before issue 16 lack the calendar-aware parts.
    total_method: str = ""
    days: list[ForecastDay] = Field(default_factory=list)
    horizon_errors: list[HorizonError] = Field(default_factory=list)
    total_backtest_mape_plain: float | None = None

    @property
    def per_agent_day(self) -> float | None:
        return self.resolutions / self.agent_days if self.agent_days else None


# ---- workflow and activity arguments ----


class ReportInput(_Model):
    """`period` None: the period before the scheduled time (yesterday, last week, today)."""

    kind: ReportKind
    period: str | None = None
    time_zone: str = "Asia/Shanghai"
    top_n: int = Field(default=10, ge=1, le=100)
    horizon_days: int = Field(default=14, ge=1, le=60)
    refresh: bool = False

    @model_validator(mode="after")
    def _period_parses(self) -> ReportInput:
        """Refuse a bad period at the edge: inside the workflow it could only fail late."""
        if self.period is not None:
            parse("daily" if self.kind == "forecast" else self.kind, self.period)
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {self.time_zone!r}") from None
        return self


class RollupInput(_Model):
    day: date
    time_zone: str
    force: bool = False


class PublishInput(_Model):
    kind: Literal["daily", "weekly", "monthly"]
    period: str
    time_zone: str
    top_n: int = 10


class ForecastInput(_Model):
    as_of: date
    time_zone: str
    horizon_days: int = 14


class ReportSummary(_Model):
    kind: ReportKind
    period: str
    generated_at: datetime
    headline: dict[str, float | int | None]
