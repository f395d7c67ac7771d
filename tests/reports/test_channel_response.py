"""Per-channel response against hand-computed values from dataset.py (week 2026-W47).

Pick-up = receipt → the first assignment naming a person; targets are the default
policy's answer_within (phone 10 s, chat 30 s; other channels have none).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from csflow.reports import export, service
from tests.reports.dataset import TZ, WEEK, insert
from tests.reports.test_report_figures import NOW
from tests.reports.test_report_pages import Figures

pytestmark = pytest.mark.integration


async def test_pickup_and_first_response_per_channel(pool: Any, web: httpx.AsyncClient) -> None:
    await insert(pool)
    report = await service.produce(pool, "weekly", WEEK, TZ, NOW)
    got = {c.channel: c for c in report.by_channel_response}
    assert sorted(got) == ["app", "chat", "email", "phone", "web"]
    # Phone: R1 and R4 assigned at receipt (0 s; R4's second assignment does not count),
    # R7 queued 15 min (900 s > 10 s): 2 met, 1 missed; p90 at rank 1.8 = 0.8 × 900.
    phone = got["phone"]
    assert (phone.pickup.count, phone.pickup_met, phone.pickup_missed) == (3, 2, 1)
    assert (phone.pickup.mean, phone.pickup.p50) == (300, 0)
    assert phone.pickup.p90 == pytest.approx(720)
    assert phone.pickup_rate == pytest.approx(2 / 3)
    # Email has no target: R5 waited in the queue a day, measured but not judged.
    email = got["email"]
    assert (
        email.pickup.count,
        email.pickup.p50,
        email.pickup_met,
        email.pickup_missed,
        email.pickup_rate,
    ) == (1, 86400, 0, 0, None)
    assert (got["chat"].pickup_met, got["chat"].pickup_missed) == (1, 0)  # R3 at once
    # First responses by channel: phone R1 600 s, R4 1200 s; web R2 2700 s; chat R3
    # 3000 s; email R5 88200 s; app R6 was cancelled unanswered.
    fr = {k: (c.first_response.count, c.first_response.p50) for k, c in got.items()}
    assert fr == {
        "app": (0, None),
        "chat": (1, 3000),
        "email": (1, 88200),
        "phone": (2, 900),
        "web": (1, 2700),
    }
    rows = {(s, i, m): v for s, i, m, v in export.report_rows(report)}
    assert rows[("pickup", "phone", "missed")] == 1
    assert rows[("channel_first_response_seconds", "phone", "p90")] == pytest.approx(1140)
    page = await web.get(f"/reports/weekly/{WEEK}")
    seen = Figures()
    seen.feed(page.text)
    assert {k: v for k, v in seen.found.items() if k.startswith("pickup.phone")} == {
        "pickup.phone.count": "3",
        "pickup.phone.met": "2",
        "pickup.phone.missed": "1",
        "pickup.phone.rate": "66.7 %",
        "pickup.phone.p50": "0 s",
        "pickup.phone.p90": "12 m",
    }


async def test_a_target_recorded_on_the_request_wins_over_the_policy(pool: Any) -> None:
    await insert(pool)
    await pool.execute("""UPDATE request_events SET data = data || '{"answer_within": 1200}'
                          WHERE number = 'R7' AND kind = 'received'""")
    report = await service.produce(pool, "weekly", WEEK, TZ, NOW)
    phone = next(c for c in report.by_channel_response if c.channel == "phone")
    assert (phone.pickup_met, phone.pickup_missed) == (3, 0)  # 900 s within its 20 min
