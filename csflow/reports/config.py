"""The reports' own settings: campaign days for the forecast, the breach-reason list and
the root-cause taxonomy (issue 16).

Read from the TOML file named by CSFLOW_REPORTS (every key optional, unknown keys
refused with their dotted path, like the policy); the built-in defaults below apply when
it is unset. Kept apart from the SLA policy because none of it changes how a request is
handled — only how the history is explained and forecast. docs/reports.md documents every
key and shows the complete default file.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

ENV_VAR = "CSFLOW_REPORTS"
Key = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Campaign(_Model):
    """A sale day that recurs every year (618, 双11), with the days around it that share
    its demand (pre-sales, returns)."""

    name: Annotated[str, Field(min_length=1, max_length=64)]
    month: Annotated[int, Field(ge=1, le=12)]
    day: Annotated[int, Field(ge=1, le=31)]
    days_before: Annotated[int, Field(ge=0, le=30)] = 0
    days_after: Annotated[int, Field(ge=0, le=30)] = 0

    @model_validator(mode="after")
    def _real_day(self) -> Campaign:
        date(2024, self.month, self.day)  # a leap year: 29 February is allowed
        return self

    def days(self, year: int) -> list[date]:
        try:
            peak = date(year, self.month, self.day)
        except ValueError:  # 29 February in a common year
            return []
        return [peak + timedelta(days=i) for i in range(-self.days_before, self.days_after + 1)]


class Choice(_Model):
    key: Key
    label: Annotated[str, Field(min_length=1, max_length=200)]


def _choices(*pairs: tuple[str, str]) -> tuple[Choice, ...]:
    return tuple(Choice(key=k, label=v) for k, v in pairs)


DEFAULT_BREACH_REASONS = _choices(
    ("customer_unreachable", "customer unreachable / slow to answer"),
    ("waiting_on_department", "waiting on another department"),
    ("waiting_on_supplier", "waiting on a supplier or carrier"),
    ("peak_volume", "peak volume, not enough staff"),
    ("complex_case", "complex case, needed investigation"),
    ("system_outage", "system or tool outage"),
    ("wrong_routing", "routed to the wrong team first"),
    ("agent_error", "missed by the handler"),
    ("other", "other (see note)"),
)

DEFAULT_CAUSES = _choices(
    ("product_defect", "product defect"),
    ("logistics_delay", "logistics delay or damage"),
    ("billing_error", "billing or pricing error"),
    ("service_attitude", "service attitude"),
    ("process_gap", "process gap or unclear policy"),
    ("information_error", "wrong or missing information given"),
    ("system_fault", "system fault"),
    ("third_party", "third party (supplier, carrier, platform)"),
    ("customer_expectation", "customer expectation beyond the promise"),
    ("other", "other (see note)"),
)


class ForecastConfig(_Model):
    campaigns: tuple[Campaign, ...] = (
        Campaign(name="618", month=6, day=18, days_before=2),
        Campaign(name="双11", month=11, day=11, days_before=2, days_after=1),
    )
    # Planning ratio for staffing: the share of a forecast that must be covered (1.0 =
    # the forecast itself; 1.1 = ten per cent slack).
    staffing_cover: Annotated[float, Field(ge=0.5, le=3.0)] = 1.0


class ReportsConfig(_Model):
    forecast: ForecastConfig = ForecastConfig()
    breach_reasons: tuple[Choice, ...] = DEFAULT_BREACH_REASONS
    causes: tuple[Choice, ...] = DEFAULT_CAUSES
    # A complaint's resolution (`resolve`) must name its cause and responsible department
    # (checked at the edge, csflow.taxonomy); off by default so callers built before the
    # cause was asked for keep working until a deployment turns it on.
    causes_required: bool = False

    @model_validator(mode="after")
    def _unique(self) -> ReportsConfig:
        for name in ("breach_reasons", "causes"):
            keys = [c.key for c in getattr(self, name)]
            if len(keys) != len(set(keys)):
                raise ValueError(f"{name}: each key once")
        return self

    def campaign_days(self, first: date, last: date) -> dict[date, str]:
        """Every campaign day between `first` and `last`, with the campaign's name."""
        out: dict[date, str] = {}
        for year in range(first.year - 1, last.year + 2):
            for c in self.forecast.campaigns:
                for d in c.days(year):
                    if first <= d <= last:
                        out[d] = c.name
        return out

    def label(self, kind: str, key: str) -> str:
        """A reason's or cause's label; an unknown key (since removed) is shown as is."""
        choices: tuple[Choice, ...] = getattr(self, kind)
        return next((c.label for c in choices if c.key == key), key)


DEFAULT_REPORTS_CONFIG = ReportsConfig()


class ReportsConfigError(Exception):
    """The reports file cannot be used; the message says where and why."""


def load_reports_config(path: Path | None) -> ReportsConfig:
    if path is None:
        return DEFAULT_REPORTS_CONFIG
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise ReportsConfigError(f"{path}: cannot read: {e.strerror or e}") from e
    except tomllib.TOMLDecodeError as e:
        raise ReportsConfigError(f"{path}: not valid TOML: {e}") from e
    try:
        return ReportsConfig.model_validate(data)
    except ValidationError as e:
        where = "; ".join(
            f"{'.'.join(map(str, err['loc'])) or '(top)'}: {err['msg']}" for err in e.errors()
        )
        raise ReportsConfigError(f"{path}: {where}") from None


def reports_config_from_env(environ: Mapping[str, str] | None = None) -> ReportsConfig:
    value = (os.environ if environ is None else environ).get(ENV_VAR, "").strip()
    return load_reports_config(Path(value) if value else None)
