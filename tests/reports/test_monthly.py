"""The monthly report: a calendar month of daily rollups, with its page and CSV."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from csflow.reports import service
from csflow.reports.model import ReportInput
from csflow.reports.periods import parse
from tests.reports.dataset import TZ, insert
from tests.reports.test_report_figures import NOW
from tests.reports.test_report_pages import Figures

pytestmark = pytest.mark.integration


async def test_a_month_is_the_sum_of_its_days(pool: Any, web: httpx.AsyncClient) -> None:
    await insert(pool)
    month = await service.produce(pool, "monthly", "2026-11", TZ, NOW)
    weekly = await service.produce(pool, "weekly", "2026-W47", TZ, NOW)
    # November holds the week (7 requests) plus R0 (13th), R9 (12th) and R8 (23rd).
    assert (month.kind, month.period, month.received) == ("monthly", "2026-11", 10)
    # Every breach of the dataset happened in November: the week's, and R9's on the 13th.
    assert {c.clock: c.breached for c in month.sla} == {
        "first_response": 3,
        "plan": 1,
        "resolution": 3,
    }
    # Resolutions: the week's five plus R0's on the 13th; one re-handling (R2).
    assert (month.rehandling.numerator, month.rehandling.denominator) == (1, 6)
    assert weekly.rehandling.denominator == 5
    page = await web.get("/reports/monthly/2026-11")
    seen = Figures()
    seen.feed(page.text)
    assert seen.found["received"] == "10"
    assert 'href="/reports/monthly/2026-10"' in page.text
    assert 'href="/reports/monthly/2026-12"' in page.text
    csv = await web.get("/reports/monthly/2026-11.csv")
    assert "volume,received,count,10" in csv.text


def test_month_labels_are_checked_at_the_edge() -> None:
    assert parse("monthly", "2024-02").length == 29
    with pytest.raises(ValueError, match="YYYY-MM"):
        ReportInput(kind="monthly", period="2026-13")
    with pytest.raises(ValueError, match="YYYY-MM"):
        ReportInput(kind="monthly", period="2026-W47")
