"""The `reports` table: one row per (kind, period), replaced by a re-run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from csflow.reports.model import Forecast, Report, ReportKind


@dataclass(frozen=True)
class StoredReport:
    kind: ReportKind
    period: str
    period_start: datetime
    period_end: datetime
    time_zone: str
    generated_at: datetime
    body: dict[str, Any]

    def report(self) -> Report:
        return Report.model_validate(self.body)

    def forecast(self) -> Forecast:
        return Forecast.model_validate(self.body)


async def save(
    pool: Any,
    kind: ReportKind,
    period: str,
    start: datetime,
    end: datetime,
    tz: str,
    generated_at: datetime,
    body: dict[str, Any],
) -> None:
    await pool.execute(
        """INSERT INTO reports (kind, period, period_start, period_end, time_zone,
                                generated_at, body)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (kind, period) DO UPDATE SET
               period_start = EXCLUDED.period_start, period_end = EXCLUDED.period_end,
               time_zone = EXCLUDED.time_zone, generated_at = EXCLUDED.generated_at,
               body = EXCLUDED.body""",
        kind,
        period,
        start,
        end,
        tz,
        generated_at,
        body,
    )


async def load(pool: Any, kind: str, period: str) -> StoredReport | None:
    row = await pool.fetchrow("SELECT * FROM reports WHERE kind = $1 AND period = $2", kind, period)
    return _stored(row) if row else None


async def latest(pool: Any, kind: str) -> StoredReport | None:
    row = await pool.fetchrow(
        "SELECT * FROM reports WHERE kind = $1 ORDER BY period_start DESC LIMIT 1", kind
    )
    return _stored(row) if row else None


async def listing(pool: Any, limit: int = 60) -> list[tuple[str, str, datetime]]:
    """(kind, period, generated_at), newest periods first, without the bodies."""
    rows = await pool.fetch(
        """SELECT kind, period, generated_at FROM reports
           ORDER BY period_start DESC, kind LIMIT $1""",
        limit,
    )
    return [(r["kind"], r["period"], r["generated_at"]) for r in rows]


def _stored(row: Any) -> StoredReport:
    return StoredReport(
        kind=row["kind"],
        period=row["period"],
        period_start=row["period_start"],
        period_end=row["period_end"],
        time_zone=row["time_zone"],
        generated_at=row["generated_at"],
        body=row["body"],
    )
