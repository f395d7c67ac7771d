"""The questionnaire page in a real browser: nothing is recorded until the customer
submits; a score of 1 opens an improvement task; the link works once (issue 6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser

from csflow.links import survey_token, survey_url
from tests.browser.conftest import Live
from tests.helpers import eventually, intake

AGENT = {"id": "agent-7", "role": "agent"}


async def follow_up_kinds(live: Live, number: str) -> list[str]:
    rows = await live.pool.fetch(
        "SELECT kind FROM request_events WHERE number = $1 AND kind LIKE 'follow_up%' "
        "OR number = $1 AND kind LIKE 'improvement%' ORDER BY seq", number)
    return [r["kind"] for r in rows]


async def test_a_score_of_one_on_the_page_opens_an_improvement_and_the_link_works_once(
    live: Live, browser: Browser, tmp_path: Path,
) -> None:
    async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as http:
        n = (await http.post("/requests", json=intake(priority="P3").model_dump(
            mode="json", exclude_none=True))).json()["number"]
        await http.post(f"/requests/{n}/resolve", json={"actor": AGENT, "summary": "fixed"})
        view = (await http.post(f"/requests/{n}/confirm", json={
            "actor": {"id": "C-1001", "role": "customer"}, "satisfied": True})).json()
    url = view["follow_up"]["survey_url"]
    assert url.startswith(f"{live.base_url}/survey/")

    page = await browser.new_page()
    # A mail scanner opening the link records nothing.
    response = await page.goto(url)
    assert response is not None and response.status == 200
    assert await page.inner_text("h1") == "服务回访问卷"
    await page.screenshot(path=str(tmp_path / "survey-zh.png"), full_page=True)
    assert await follow_up_kinds(live, n) == ["follow_up_scheduled"]

    await page.goto(f"{url}?lang=en")
    assert await page.inner_text("h1") == "How did we do?"
    await page.screenshot(path=str(tmp_path / "survey-en.png"), full_page=True)
    await page.check("input[name=score][value='1']")
    await page.check("input[name=nps][value='2']")
    await page.fill("textarea[name=problem]", "The engineer never came back")
    await page.click("#submit")
    assert await page.inner_text("#heading") == "Thank you for your feedback!"

    async def improvement_opened() -> None:
        assert await follow_up_kinds(live, n) == ["follow_up_scheduled", "follow_up_recorded",
                                                  "improvement_opened"]

    await eventually(improvement_opened)
    recorded = await live.pool.fetchrow(
        "SELECT data, actor_id, actor_role FROM request_events WHERE number = $1 "
        "AND kind = 'follow_up_recorded'", n)
    assert recorded["data"]["score"] == 1 and recorded["data"]["method"] == "questionnaire"
    assert recorded["data"]["problem"] == "The engineer never came back"
    assert (recorded["actor_id"], recorded["actor_role"]) == ("C-1001", "customer")
    opened = await live.pool.fetchrow(
        "SELECT at, data FROM request_events WHERE number = $1 AND kind = 'improvement_opened'",
        n)
    assert datetime.fromisoformat(opened["data"]["due_at"]) == opened["at"] + timedelta(hours=72)

    # The same link again: already answered, nothing recorded twice.
    await page.goto(url)
    await page.check("input[name=score][value='5']")
    await page.check("input[name=nps][value='10']")
    await page.click("#submit")
    assert await page.inner_text("#heading") == "问卷已提交"
    assert (await follow_up_kinds(live, n)).count("follow_up_recorded") == 1

    # Closing the improvement tells the customer what changed, and ends the request.
    task_id = opened["data"]["task_id"]
    async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as http:
        r = await http.post(f"/improvements/{task_id}/complete", json={
            "actor": AGENT, "what_changed": "repair visits now get a booked follow-up slot"})
        assert r.status_code == 200

    async def told() -> dict[str, Any]:
        row = await live.pool.fetchrow(
            "SELECT data FROM request_events WHERE number = $1 AND kind = 'improvement_closed'",
            n)
        assert row is not None
        return dict(row["data"])

    closed = await eventually(told)
    assert closed["what_changed"] == "repair visits now get a booked follow-up slot"
    assert closed["notify"] == ["customer"]


async def test_stale_expired_and_forged_links_are_refused(live: Live, browser: Browser) -> None:
    secret = live.settings.survey_secret()
    async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as http:
        n = (await http.post("/requests", json=intake(priority="P3").model_dump(
            mode="json", exclude_none=True))).json()["number"]
        await http.post(f"/requests/{n}/resolve", json={"actor": AGENT, "summary": "fixed"})
        await http.post(f"/requests/{n}/confirm", json={
            "actor": {"id": "C-1001", "role": "customer"}, "satisfied": True})
    later = datetime.now(UTC) + timedelta(days=3)
    page = await browser.new_page()

    stale = survey_url(live.base_url, survey_token(n, 0, later, secret))
    await page.goto(stale)
    await page.check("input[name=score][value='4']")
    await page.check("input[name=nps][value='8']")
    await page.click("#submit")
    assert await page.inner_text("#heading") == "问卷已失效"

    expired = survey_url(live.base_url, survey_token(n, 1, datetime.now(UTC) - timedelta(
        minutes=1), secret))
    response = await page.goto(expired)
    assert response is not None and response.status == 410
    forged = survey_url(live.base_url, survey_token(n, 1, later, b"not the secret"))
    response = await page.goto(f"{forged}?lang=en")
    assert response is not None and response.status == 404
    assert await page.inner_text("#heading") == "Invalid link"

    # Submitting without a score re-renders the form with the reason, records nothing.
    good = survey_url(live.base_url, survey_token(n, 1, later, secret))
    await page.goto(f"{good}?lang=en")
    await page.evaluate("document.querySelectorAll('[required]').forEach(e => "
                        "e.removeAttribute('required'))")
    await page.click("#submit")
    assert "Please choose a satisfaction score" in await page.inner_text(".error")
    assert await follow_up_kinds(live, n) == ["follow_up_scheduled"]
