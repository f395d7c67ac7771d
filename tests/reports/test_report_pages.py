"""The weekly page shows every figure as worked out by hand; CSV and JSON say the same."""

from __future__ import annotations

import csv
import io
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest

from csflow.reports import service
from tests.reports.dataset import TZ, WEEK, insert
from tests.reports.test_report_figures import NOW


class Figures(HTMLParser):
    """Collects the text of every element carrying a data-figure attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, str] = {}
        self._open: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._open.append(dict(attrs).get("data-figure"))

    def handle_endtag(self, tag: str) -> None:
        if self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        key = self._open[-1] if self._open else None
        if key:
            self.found[key] = self.found.get(key, "") + data.strip()


def share(key: str, count: str, pct: str) -> dict[str, str]:
    return {f"{key}.count": count, f"{key}.share": pct}


def duration(key: str, count: str, mean: str, p50: str, p90: str) -> dict[str, str]:
    return {f"{key}.count": count, f"{key}.mean": mean, f"{key}.p50": p50, f"{key}.p90": p90}


# Hand-computed in test_report_figures.py; here as the page spells them.
EXPECTED = {
    "received": "7",
    "sla.all.rate": "57.1 %",
    "nps.score": "25",
    "satisfaction.mean": "4",
    "fcr.rate.tile": "50.0 %",
    "improvements.open": "3",
    **share("category.complaint", "4", "57.1 %"),
    **share("category.after_sales", "1", "14.3 %"),
    **share("category.consultation", "1", "14.3 %"),
    **share("category.suggestion", "1", "14.3 %"),
    **share("channel.phone", "3", "42.9 %"),
    **share("channel.app", "1", "14.3 %"),
    **share("channel.chat", "1", "14.3 %"),
    **share("channel.email", "1", "14.3 %"),
    **share("channel.web", "1", "14.3 %"),
    **share("department.logistics", "3", "42.9 %"),
    **share("department.billing", "1", "14.3 %"),
    **share("department.customer-service", "1", "14.3 %"),
    **share("department.product", "1", "14.3 %"),
    **share("department.repair", "1", "14.3 %"),
    **share("issue.1", "3", "42.9 %"),
    **share("issue.2", "1", "14.3 %"),
    **share("issue.3", "1", "14.3 %"),
    **share("satisfaction.1", "0", "0.0 %"),
    **share("satisfaction.2", "1", "25.0 %"),
    **share("satisfaction.3", "0", "0.0 %"),
    **share("satisfaction.4", "1", "25.0 %"),
    **share("satisfaction.5", "2", "50.0 %"),
    "nps.promoters": "2",
    "nps.passives": "1",
    "nps.detractors": "1",
    # 900 s, 1140 s; 45450 s = 12 h 37.5 m, 79650 s = 22 h 7.5 m; 3000 s.
    **duration("first_response.P1", "2", "15 m", "15 m", "19 m"),
    **duration("first_response.P2", "2", "12 h 37 m", "12 h 37 m", "22 h 7 m"),
    **duration("first_response.P3", "1", "50 m", "50 m", "50 m"),
    # 5400 s; 14400 s; 174300 s = 48.4 h, 311340 s = 86.5 h.
    **duration("resolution.P1", "1", "1 h 30 m", "1 h 30 m", "1 h 30 m"),
    **duration("resolution.P2", "1", "4 h", "4 h", "4 h"),
    **duration("resolution.P3", "2", "2 d", "2 d", "3 d 14 h"),
    "sla.first_response.met": "2",
    "sla.first_response.breached": "3",
    "sla.first_response.rate": "40.0 %",
    "sla.plan.met": "3",
    "sla.plan.breached": "1",
    "sla.plan.rate": "75.0 %",
    "sla.resolution.met": "3",
    "sla.resolution.breached": "2",
    "sla.resolution.rate": "60.0 %",
    "sla.progress_missed": "1",
    "fcr.rate": "50.0 %",
    "fcr.numerator": "2",
    "fcr.denominator": "4",
    "repeat.rate": "14.3 %",
    "repeat.numerator": "1",
    "repeat.denominator": "7",
    "rehandling.rate": "20.0 %",
    "rehandling.numerator": "1",
    "rehandling.denominator": "5",
    "follow_up.rate": "75.0 %",
    "follow_up.numerator": "3",
    "follow_up.denominator": "4",
    "follow_up.late": "1",
    **share("improvements.billing", "2", "66.7 %"),
    **share("improvements.logistics", "1", "33.3 %"),
}


def channel(
    name: str,
    picked: str,
    met: str,
    missed: str,
    rate: str,
    p50: str,
    p90: str,
    fr: tuple[str, str, str, str],
) -> dict[str, str]:
    return {
        f"pickup.{name}.count": picked,
        f"pickup.{name}.met": met,
        f"pickup.{name}.missed": missed,
        f"pickup.{name}.rate": rate,
        f"pickup.{name}.p50": p50,
        f"pickup.{name}.p90": p90,
        **duration(f"channel_fr.{name}", *fr),
    }


# Hand-computed in test_channel_response.py (issue 16): pick-up against answer_within
# (phone 10 s, chat 30 s; the others have no target) and first response per channel.
EXPECTED |= {
    **channel("app", "1", "0", "0", "–", "0 s", "0 s", ("0", "–", "–", "–")),
    **channel("chat", "1", "1", "0", "100.0 %", "0 s", "0 s", ("1", "50 m", "50 m", "50 m")),
    **channel("email", "1", "0", "0", "–", "1 d", "1 d", ("1", "1 d", "1 d", "1 d")),
    **channel("phone", "3", "2", "1", "66.7 %", "0 s", "12 m", ("2", "15 m", "15 m", "19 m")),
    **channel("web", "1", "0", "0", "–", "0 s", "0 s", ("1", "45 m", "45 m", "45 m")),
}


@pytest.fixture
async def weekly(pool: Any) -> None:
    await insert(pool)
    await service.produce(pool, "weekly", WEEK, TZ, NOW, top_n=3)


@pytest.mark.usefixtures("weekly")
async def test_every_figure_on_the_weekly_page_is_the_hand_computed_one(
    web: httpx.AsyncClient,
) -> None:
    page = await web.get(f"/reports/weekly/{WEEK}")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    parser = Figures()
    parser.feed(page.text)
    assert parser.found == EXPECTED
    assert page.text.count("<svg") == 5  # category, channel, department, issues, scores
    assert 'href="/reports/weekly/2026-W46"' in page.text  # previous week


@pytest.mark.usefixtures("weekly")
async def test_csv_and_json_exports(web: httpx.AsyncClient) -> None:
    res = await web.get(f"/reports/weekly/{WEEK}.csv")
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/csv")
    rows = {
        (r["section"], r["item"], r["measure"]): r["value"]
        for r in csv.DictReader(io.StringIO(res.text))
    }
    assert rows[("volume", "received", "count")] == "7"
    assert rows[("resolution_seconds", "P3", "p90")] == "311340.0"
    assert float(rows[("sla", "all", "rate")]) == pytest.approx(8 / 14)
    assert rows[("nps", "all", "score")] == "25.0"
    assert rows[("first_response_seconds", "P1", "count")] == "2"
    body = (await web.get(f"/reports/weekly/{WEEK}.json")).json()
    assert (body["period"], body["received"]) == (WEEK, 7)


async def test_a_report_not_produced_says_how_to_produce_it(web: httpx.AsyncClient) -> None:
    page = await web.get("/reports/weekly/2026-W01")
    assert page.status_code == 404
    assert "csflow report weekly --week 2026-W01" in page.text
    assert (await web.get("/reports/daily/2026-01-01.csv")).status_code == 404
    assert (await web.get("/reports/monthly/2026-01")).status_code == 404
    assert (await web.get("/reports/yearly/2026")).status_code == 422
    index = await web.get("/reports")
    assert index.status_code == 200 and "No report has been produced yet" in index.text
