"""The questionnaire page in Debian's headless Chromium, against the real API on uvicorn, a
real worker, PostgreSQL and Temporal (issue 6, deliverable 6).

Opening a link records nothing — a mail scanner opens every link — and only a click on
Submit does, once, and only about the request's current outcome. Screenshots of both
languages land in the test's tmp_path (run with --basetemp to keep them).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser, Page

from csflow.api.pages.survey.texts import LANGS, TEXTS
from csflow.contracts import RequestView
from csflow.crypto import at_rest
from csflow.links import survey_token, survey_url
from tests.browser.conftest import Live
from tests.helpers import eventually, intake

AGENT = {"id": "agent-7", "role": "agent"}
CUSTOMER = {"id": "C-1001", "role": "customer"}
SUPERVISOR = {"id": "sup-1", "role": "supervisor"}
ZH, EN = TEXTS["zh-CN"], TEXTS["en"]


async def resolved_and_confirmed(http: httpx.AsyncClient) -> tuple[str, str]:
    """A request through resolution and the customer's confirmation: its number and the
    questionnaire link the follow-up plan signed."""
    r = await http.post(
        "/requests", json=intake(priority="P3").model_dump(mode="json", exclude_none=True)
    )
    assert r.status_code in (200, 201), r.text
    n = r.json()["number"]
    await confirmed(http, n)
    view = (await http.get(f"/requests/{n}")).json()
    return n, view["follow_up"]["survey_url"]


async def confirmed(http: httpx.AsyncClient, n: str) -> None:
    r = await http.post(f"/requests/{n}/resolve", json={"actor": AGENT, "summary": "fixed"})
    assert r.status_code == 200, r.text
    r = await http.post(f"/requests/{n}/confirm", json={"actor": CUSTOMER, "satisfied": True})
    assert r.status_code == 200, r.text


async def follow_up_kinds(live: Live, number: str) -> list[str]:
    rows = await live.pool.fetch(
        "SELECT kind FROM request_events WHERE number = $1 "
        "AND (kind LIKE 'follow_up%' OR kind LIKE 'improvement%') ORDER BY seq",
        number,
    )
    return [r["kind"] for r in rows]


async def live_state(live: Live, number: str) -> RequestView:
    handle = live.client.get_workflow_handle(number)
    view: RequestView = await handle.query("get_state", result_type=RequestView)
    return view


async def answer(page: Page, score: int, nps: int, **texts: str) -> None:
    await page.check(f"input[name=score][value='{score}']")
    await page.check(f"input[name=nps][value='{nps}']")
    for name, text in texts.items():
        await page.fill(f"textarea[name={name}]", text)


async def shows_form(page: Page, url: str, t: dict[str, str]) -> None:
    response = await page.goto(url)
    assert response is not None and response.status == 200
    assert await page.inner_text("h1") == t["title"]
    assert await page.is_visible("#submit")


async def test_opening_records_nothing_a_click_records_score_one_and_the_link_works_once(
    live: Live,
    browser: Browser,
    tmp_path: Path,
) -> None:
    async with httpx.AsyncClient(base_url=live.base_url, timeout=30, headers=live.headers) as http:
        n, url = await resolved_and_confirmed(http)
        assert url.startswith(f"{live.base_url}/survey/")

        # A link scanner: GET and HEAD, no browser, nothing submitted.
        for method in ("GET", "HEAD"):
            scanned = await http.request(method, url)
            assert scanned.status_code == 200
            assert scanned.headers["cache-control"] == "no-store"
            assert scanned.headers["referrer-policy"] == "no-referrer"

    page = await browser.new_page()
    await shows_form(page, url, ZH)
    assert await page.inner_text(".number") == f"{ZH['number']} {n}"
    await page.screenshot(path=str(tmp_path / "survey-zh.png"), full_page=True)
    await page.click("a[hreflang=en]")
    assert await page.inner_text("h1") == EN["title"]
    await page.screenshot(path=str(tmp_path / "survey-en.png"), full_page=True)

    # Opened five times, by scanners and the customer: nothing recorded anywhere.
    assert await follow_up_kinds(live, n) == ["follow_up_scheduled"]
    state = await live_state(live, n)
    assert state.status.value == "follow_up_scheduled"
    assert state.follow_up is not None and state.follow_up.score is None

    other_tab = await browser.new_page()  # the same mail opened twice, answered in one
    await shows_form(other_tab, f"{url}?lang=en", EN)

    await answer(page, 1, 2, problem="The engineer never came back")
    await page.click("#submit")
    assert await page.inner_text("#heading") == EN["thanks"]
    await page.screenshot(path=str(tmp_path / "survey-thanks.png"), full_page=True)

    async with httpx.AsyncClient(base_url=live.base_url, timeout=30, headers=live.headers) as http:
        timeline = (await http.get(f"/requests/{n}")).json()["timeline"]
    recorded = [e for e in timeline if e["kind"] == "follow_up_recorded"]
    assert len(recorded) == 1
    assert recorded[0]["actor"] == CUSTOMER
    assert recorded[0]["data"]["score"] == 1 and recorded[0]["data"]["nps"] == 2
    assert recorded[0]["data"]["method"] == "questionnaire"
    # The customer's words are sealed at rest with their key (docs/security.md).
    assert recorded[0]["data"]["sealed"] == ["problem"]
    sealed = await live.pool.fetchval(
        "SELECT sealed FROM request_events WHERE number = $1 AND kind = 'follow_up_recorded'",
        n,
    )
    words = await at_rest.open_sealed(live.pool, sealed)
    assert words["problem"] == "The engineer never came back"

    # The link works once: the other tab's submit is refused by the workflow, and
    # opening the link again says so before anyone types.
    await answer(other_tab, 5, 10)
    await other_tab.click("#submit")
    assert await other_tab.inner_text("#heading") == EN["answered"]
    again = await page.goto(url)
    assert again is not None and again.status == 409
    assert await page.inner_text("#heading") == ZH["answered"]

    # The score of 1 opened an improvement task with its 72 h deadline.
    async def improvement_opened() -> None:
        assert await follow_up_kinds(live, n) == [
            "follow_up_scheduled",
            "follow_up_recorded",
            "improvement_opened",
        ]

    await eventually(improvement_opened)
    opened = await live.pool.fetchrow(
        "SELECT at, data FROM request_events WHERE number = $1 AND kind = 'improvement_opened'", n
    )
    assert datetime.fromisoformat(opened["data"]["due_at"]) == opened["at"] + timedelta(hours=72)

    # Closing it tells the customer what changed.
    async with httpx.AsyncClient(base_url=live.base_url, timeout=30, headers=live.headers) as http:
        r = await http.post(
            f"/improvements/{opened['data']['task_id']}/complete",
            json={"actor": AGENT, "what_changed": "repair visits now get a booked follow-up slot"},
        )
        assert r.status_code == 200, r.text

    async def told() -> dict[str, Any]:
        row = await live.pool.fetchrow(
            "SELECT data FROM request_events WHERE number = $1 AND kind = 'improvement_closed'", n
        )
        assert row is not None
        return dict(row["data"])

    closed = await eventually(told)
    assert closed["what_changed"] == "repair visits now get a booked follow-up slot"
    assert closed["notify"] == ["customer"]


async def test_a_link_about_an_outcome_since_re_handled_is_no_longer_current(
    live: Live,
    browser: Browser,
) -> None:
    async with httpx.AsyncClient(base_url=live.base_url, timeout=30, headers=live.headers) as http:
        # A person, not a category desk, handles it: re-handling gives it back to them.
        r = await http.put(
            "/staff/agent-7",
            json={
                "id": "agent-7",
                "name": "Agent Seven",
                "role": "agent",
                "department": "care",
                "skills": ["complaint"],
                "capacity": 5,
            },
        )
        assert r.status_code == 200, r.text
        n, first = await resolved_and_confirmed(http)
        page = await browser.new_page()
        await shows_form(page, f"{first}?lang=en", EN)
        await answer(page, 4, 8, praise="quick")

        # While the customer was typing, a supervisor sent the request back to work.
        r = await http.post(
            f"/requests/{n}/rehandle", json={"actor": SUPERVISOR, "reason": "the fix did not hold"}
        )
        assert r.status_code == 200, r.text
        await page.click("#submit")
        assert await page.inner_text("#heading") == EN["stale"]
        opened = await page.goto(first)
        assert opened is not None and opened.status == 410
        assert await page.inner_text("#heading") == ZH["stale"]

        # Resolved again: the first link stays stale (now refused by the workflow's cycle
        # check), the new one is about the final outcome and is answered.
        await confirmed(http, n)
        second = (await http.get(f"/requests/{n}")).json()["follow_up"]["survey_url"]
        assert second != first
        stale = await http.post(first, data={"score": "5", "nps": "9"})
        assert stale.status_code == 410 and ZH["stale"] in stale.text
        assert await follow_up_kinds(live, n) == ["follow_up_scheduled", "follow_up_scheduled"]

    await shows_form(page, second, ZH)
    await answer(page, 5, 9)
    await page.click("#submit")
    assert await page.inner_text("#heading") == ZH["thanks"]
    state = await live_state(live, n)
    assert state.follow_up is not None and (state.follow_up.cycle, state.follow_up.score) == (2, 5)


async def test_expired_forged_and_incomplete_answers_get_a_page_in_their_language(
    live: Live,
    browser: Browser,
    tmp_path: Path,
) -> None:
    secret = live.settings.survey_secret()
    async with httpx.AsyncClient(base_url=live.base_url, timeout=30, headers=live.headers) as http:
        n, url = await resolved_and_confirmed(http)
        later = datetime.now(UTC) + timedelta(days=3)
        expired = survey_url(
            live.base_url, survey_token(n, 1, datetime.now(UTC) - timedelta(minutes=1), secret)
        )
        forged = survey_url(live.base_url, survey_token(n, 1, later, b"not the secret"))
        for link, status, key in (
            (expired, 410, "expired"),
            (forged, 404, "invalid"),
            (f"{url}%C3%A9", 404, "invalid"),
            (f"{live.base_url}/survey/nonsense", 404, "invalid"),
        ):
            for t, query in ((ZH, ""), (EN, "?lang=en")):
                r = await http.get(f"{link}{query}")
                assert r.status_code == status and t[key] in r.text
                r = await http.post(f"{link}{query}", data={"score": "1", "nps": "0"})
                assert r.status_code == status and t[key] in r.text

        too_long = await http.post(
            f"{url}?lang=en", data={"score": "3", "nps": "5", "praise": "x" * 4001}
        )
        assert too_long.status_code == 422
        assert "“What went well” takes at most 4000 characters" in too_long.text

    # The browser would insist on the radios; without `required` the server still does.
    page = await browser.new_page()
    for t, query in ((ZH, ""), (EN, "?lang=en")):
        await shows_form(page, f"{url}{query}", t)
        await page.evaluate(
            "document.querySelectorAll('[required]').forEach(e => e.removeAttribute('required'))"
        )
        await page.fill("textarea[name=suggestion]", "call before coming")
        await page.click("#submit")
        assert await page.inner_text("h1") == t["title"]
        errors = await page.inner_text("#errors")
        assert t["missing_score"] in errors and t["missing_nps"] in errors
        assert await page.input_value("textarea[name=suggestion]") == "call before coming"
    await page.screenshot(path=str(tmp_path / "survey-en-errors.png"), full_page=True)
    assert await follow_up_kinds(live, n) == ["follow_up_scheduled"]

    # Control characters a hand-made POST can carry (PostgreSQL refuses NUL) are dropped.
    async with httpx.AsyncClient(base_url=live.base_url, timeout=30, headers=live.headers) as http:
        r = await http.post(url, data={"score": "4", "nps": "9", "praise": "ok\x00 thanks\n"})
        assert r.status_code == 200 and ZH["thanks"] in r.text
    sealed = await live.pool.fetchval(
        "SELECT sealed FROM request_events WHERE number = $1 AND kind = 'follow_up_recorded'",
        n,
    )
    assert (await at_rest.open_sealed(live.pool, sealed))["praise"] == "ok thanks"


def test_every_language_has_every_text() -> None:
    keys = [set(TEXTS[lang]) for lang in LANGS]
    assert all(k == keys[0] for k in keys)
    assert all(v.strip() for lang in LANGS for v in TEXTS[lang].values())
