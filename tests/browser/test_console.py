"""The console in Debian's headless Chromium, against the real API on uvicorn, a real
worker, PostgreSQL and Temporal (issue 15, deliverable 5).

Each person signs in with their own token on the login page and works only through the
console's pages: an agent plans, posts progress and resolves; a supervisor escalates,
reassigns and approves compensation; a follow-up specialist records a visit. A role
without the right sees no escalate form, and a forged POST is refused 403. A change made
through the API shows on an open page within 2 s. Screenshots of the queue and a request
page go to $CSFLOW_CONSOLE_SCREENSHOTS (default: the test's tmp_path).
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.async_api import Browser, Page
from temporalio.testing import WorkflowEnvironment

from csflow.console.texts import TEXTS
from tests.browser.conftest import Live
from tests.helpers import eventually, intake, token_for

pytestmark = pytest.mark.integration

EN, ZH = TEXTS["en"], TEXTS["zh-CN"]
CUSTOMER = {"id": "C-1001", "role": "customer"}
TZ = ZoneInfo("Asia/Shanghai")  # the default policy's calendar


def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("CSFLOW_CONSOLE_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def member(staff_id: str, role: str, capacity: int = 5) -> dict[str, Any]:
    return {
        "id": staff_id,
        "name": staff_id.title(),
        "role": role,
        "department": "care",
        "skills": ["complaint", "consultation"],
        "seniority": 3,
        "capacity": capacity,
    }


async def api(live: Live) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=live.base_url, timeout=30, headers=live.headers)


async def staffed(http: httpx.AsyncClient, *people: tuple[str, str]) -> None:
    for staff_id, role in people:
        r = await http.put(f"/staff/{staff_id}", json=member(staff_id, role))
        assert r.status_code == 200, r.text


async def create(http: httpx.AsyncClient, **overrides: Any) -> str:
    r = await http.post(
        "/requests", json=intake(**overrides).model_dump(mode="json", exclude_none=True)
    )
    assert r.status_code in (200, 201), r.text
    number: str = r.json()["number"]
    return number


async def sign_in(
    browser: Browser, live: Live, role: str, subject: str, *, width: int = 1280
) -> Page:
    """A browser (English, as Chromium asks by default) signed in on the login page."""
    context = await browser.new_context(viewport={"width": width, "height": 900}, locale="en-US")
    page = await context.new_page()
    await page.goto(f"{live.base_url}/console")
    assert "/login" in page.url
    await page.fill("input[name=token]", await token_for(live.pool, role, subject))
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{live.base_url}/console/queue/mine")
    assert await page.inner_text("#who") == subject
    return page


async def open_request(page: Page, live: Live, number: str) -> None:
    await page.goto(f"{live.base_url}/console/requests/{number}")
    assert await page.inner_text("h1") == number


async def send(page: Page, command: str, fields: dict[str, str], *, ok: bool = True) -> None:
    """Open the command's form, fill it, send it and wait for the answer page."""
    await expand(page, command)
    form = f"#cmd-{command} form"
    for name, value in fields.items():
        target = f"{form} [name={name}]"
        kind = await page.get_attribute(target, "type")
        tag = await page.eval_on_selector(target, "el => el.tagName")
        if kind == "radio":
            await page.check(f"{form} input[name={name}][value={value}]")
        elif tag == "SELECT":
            await page.select_option(target, value)
        else:
            await page.fill(target, value)
    async with page.expect_navigation():
        await page.click(f"{form} button.send")
    if ok:
        assert await page.locator("#refusal").count() == 0, await page.inner_text("#refusal")


async def expand(page: Page, command: str) -> None:
    """Open the command's folded form (a refused one is open already, its input kept)."""
    if await page.get_attribute(f"#cmd-{command}", "open") is None:
        await page.click(f"#cmd-{command} > summary")


async def status_of(page: Page) -> str:
    return await page.inner_text("#status")


def local_input(delta: timedelta) -> str:
    return (datetime.now(TZ) + delta).strftime("%Y-%m-%dT%H:%M")


async def test_an_agent_plans_posts_progress_and_resolves(
    live: Live,
    browser: Browser,
    tmp_path: Path,
) -> None:
    async with await api(live) as http:
        await staffed(http, ("agent-7", "agent"))
        # An English-speaking customer: the first reply to an upset customer must open
        # with a soothing phrase in their language (`[intake.soothing_openings]`), and the
        # agent's console is in English.
        english = intake().customer.model_copy(update={"language": "en"})
        n = await create(
            http, customer=english, description="Terrible! The parcel arrived broken, 太差了"
        )
    page = await sign_in(browser, live, "agent", "agent-7")

    # My queue: the request assigned to me, with its SLA colour and the upset flag.
    row = f'tr[data-number="{n}"]'
    await page.wait_for_selector(row)
    assert "sla-green" in (await page.get_attribute(row, "class") or "")
    assert "soothe_first" in await page.inner_text(f"{row} td:last-child")
    await page.screenshot(path=str(shots(tmp_path) / "console-queue-mine.png"), full_page=True)
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.screenshot(
        path=str(shots(tmp_path) / "console-queue-mine-phone.png"), full_page=True
    )
    assert await page.evaluate("document.documentElement.scrollWidth") <= 400
    await page.set_viewport_size({"width": 1280, "height": 900})
    await page.click(f"{row} a")
    await page.wait_for_url(f"**/console/requests/{n}")

    # Intake: personal data hidden until revealed, and the reveal is audited.
    assert EN["masked"] in await page.inner_text("#intake")
    assert "Li Lei" not in await page.content()
    await page.fill("#reveal input[name=purpose]", "calling the customer back")
    async with page.expect_navigation():
        await page.click("#reveal button")
    assert await page.inner_text("#customer-name") == "Li Lei"
    assert "li.lei@example.com" in await page.inner_text("#customer-contact")
    reads = await live.pool.fetch(
        "SELECT subject, role, purpose FROM personal_data_reads WHERE number = $1", n
    )
    assert [tuple(r) for r in reads] == [("agent-7", "agent", "calling the customer back")]

    # The agent's forms only: no supervisor or follow-up commands on the page at all.
    for absent in (
        "escalate",
        "reassign",
        "decide_compensation",
        "order_rehandling",
        "change_priority",
        "record_follow_up",
        "assignment_made",
    ):
        assert await page.locator(f"#cmd-{absent}").count() == 0
    assert await page.is_visible("#upset")

    await send(
        page,
        "submit_plan",
        {
            "measures": "Collect the broken parcel\nSend a new one",
            "eta": local_input(timedelta(days=2)),
        },
    )
    assert await status_of(page) == "in_progress"
    assert "Send a new one" in await page.inner_text("#plan")

    # Progress with standard phrases: the upset customer gets the soothing ones first.
    await page.click("#cmd-post_progress > summary")
    phrases = page.locator("#cmd-post_progress button.phrase")
    assert await phrases.first.get_attribute("data-phrase") == "soothing.understand"
    await phrases.first.click()
    await page.locator("#cmd-post_progress button[data-phrase='greeting.standard']").click()
    note = await page.input_value("#f-post_progress-note")
    assert note.startswith("I completely understand how frustrating")
    assert f"I am following up your request {n}." in note
    assert "agent-7" in note
    await page.screenshot(path=str(shots(tmp_path) / "console-request-phrases.png"), full_page=True)
    async with page.expect_navigation():
        await page.click("#cmd-post_progress button.send")
    assert "progress_posted" in await page.inner_text("#timeline")
    assert "I completely understand" in await page.inner_text("#timeline")

    # A refusal shows the API's words and status: a banned promise (422, Compliance).
    await page.click("#cmd-resolve > summary")
    await page.fill("#f-resolve-summary", "Fixed — 永久有效")
    async with page.expect_navigation() as nav:
        await page.click("#cmd-resolve button.send")
    answer = await nav.value
    assert answer is not None and answer.status == 422
    assert "banned promise" in await page.inner_text("#refusal-text")
    assert await page.input_value("#f-resolve-summary") == "Fixed — 永久有效"

    # Resolved from the keyboard alone: the folded form's summary, its field, its button.
    await page.focus("#cmd-resolve > summary")
    if await page.get_attribute("#cmd-resolve", "open") is not None:
        await page.keyboard.press("Enter")  # the refused form was open: fold, unfold
    await page.keyboard.press("Enter")
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.id") == "f-resolve-summary"
    await page.keyboard.press("Control+A")
    await page.keyboard.type("A new parcel was delivered")
    for _ in range(20):
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.className") == "send":
            break
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert await status_of(page) == "awaiting_confirmation"
    assert EN["sent"].format(what="Resolve") in await page.inner_text(".done")
    await page.screenshot(path=str(shots(tmp_path) / "console-request.png"), full_page=True)

    # Resolving again is illegal now: the page says so in the API's words, with its 409.
    await expand(page, "resolve")
    await page.fill("#f-resolve-summary", "again")
    async with page.expect_navigation() as nav:
        await page.click("#cmd-resolve button.send")
    answer = await nav.value
    assert answer is not None and answer.status == 409
    assert "cannot resolve while the request is awaiting_confirmation" in await page.inner_text(
        "#refusal-text"
    )

    # Chinese, kept for the next page; and a phone-width screenshot of the same page.
    await page.click("a[hreflang=zh-CN]")
    await page.wait_for_url(f"**/console/requests/{n}")
    assert await page.inner_text("#h-timeline") == ZH["timeline"]
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.screenshot(
        path=str(shots(tmp_path) / "console-request-phone-zh.png"), full_page=True
    )
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, f"the page scrolls sideways at phone width ({width}px)"


async def test_a_supervisor_escalates_reassigns_and_approves_compensation(
    live: Live,
    browser: Browser,
    ts_env: WorkflowEnvironment,
    tmp_path: Path,
) -> None:
    async with await api(live) as http:
        await staffed(http, ("solo", "agent"), ("other", "agent"))
        n = await create(http, priority="P3")
        holder = (await http.get(f"/requests/{n}")).json()["assignee"]
        r = await http.post(
            f"/requests/{n}/compensation",
            json={
                "actor": {"id": holder, "role": "agent"},
                "amount": "900",
                "reason": "a day of lost sales",
            },
        )
        assert r.json()["compensation"]["status"] == "pending", r.text
        # Consultations from other customers: a P1 past its first response (red), a P2
        # past its first warning (yellow) and a fresh P3 (green), as on the board test.
        calm = {}
        for i, p in enumerate(("P1", "P2", "P3")):
            calm[p] = await create(
                http,
                priority=p,
                category="consultation",
                customer={"id": f"C-{i + 2}", "name": "Wu", "contact": {"email": "wu@example.com"}},
            )
    for p in ("P1", "P2"):
        await ts_env.fast_forward(live.client.get_workflow_handle(calm[p]), timedelta(minutes=20))

    async def coloured() -> None:
        states = [
            await live.pool.fetchval("SELECT sla_state FROM requests WHERE number = $1", calm[p])
            for p in calm
        ]
        assert states == ["red", "yellow", "green"]

    await eventually(coloured, timeout=30)
    page = await sign_in(browser, live, "supervisor", "boss")

    # The team queue shows everyone's requests, the overdue one first, in its colour.
    await page.click("nav a[href='/console/queue/team']")
    await page.wait_for_selector(f'tr[data-number="{n}"]')
    assert await page.locator("#rows tr").count() == 4
    first = await page.get_attribute("#rows tr:first-child", "data-number")
    assert first == calm["P1"], "the overdue request comes first"
    for p, colour in (("P1", "red"), ("P2", "yellow"), ("P3", "green")):
        row = f'tr[data-number="{calm[p]}"]'
        assert f"sla-{colour}" in (await page.get_attribute(row, "class") or "")
    # (Time left is not checked: under time skipping a deadline is on the request's own
    # skipped clock, ahead of the wall clock the page counts from.)
    await page.screenshot(path=str(shots(tmp_path) / "console-queue-team.png"), full_page=True)

    # The filters narrow it, in the address too.
    await page.select_option("select[name=priority]", "P2")
    await page.select_option("select[name=category]", "consultation")
    async with page.expect_navigation():
        await page.click(".filters button[type=submit]")
    assert "category=consultation" in page.url and "priority=P2" in page.url
    assert await page.locator("#rows tr").count() == 1
    assert await page.locator(f'tr[data-number="{calm["P2"]}"]').count() == 1
    await page.click(f".filters a:has-text('{EN['reset']}')")
    await page.wait_for_selector(f'tr[data-number="{n}"]')

    await open_request(page, live, n)
    await send(page, "escalate", {"reason": "the customer called three times", "priority": "P1"})
    assert (await status_of(page), await page.inner_text("#priority")) == ("escalated", "P1")
    other = "solo" if holder == "other" else "other"
    await send(page, "reassign", {"to_staff": other, "reason": f"{holder} is overloaded"})
    assert await page.inner_text("#assignee") == other
    await send(page, "decide_compensation", {"approve": "yes", "reason": "goodwill"})
    assert await page.inner_text("#comp-status") == "approved"

    async def recorded() -> None:  # the timeline is written by an activity, just after
        kinds = [
            r["kind"]
            for r in await live.pool.fetch(
                "SELECT kind FROM request_events WHERE number = $1 ORDER BY seq", n
            )
        ]
        assert kinds[-3:] == ["escalated", "reassigned", "compensation_approved"], kinds

    await eventually(recorded)
    actors = {
        r["actor_id"]
        for r in await live.pool.fetch(
            "SELECT actor_id FROM request_events WHERE number = $1 AND kind IN "
            "('escalated', 'reassigned', 'compensation_approved')",
            n,
        )
    }
    assert actors == {"boss"}

    # A form the model refuses names the field (422), and nothing is sent.
    await send(page, "reassign", {"to_staff": "bad id!", "reason": "x"}, ok=False)
    assert "to_staff" in await page.inner_text("#refusal-text")


async def test_a_follow_up_specialist_records_a_visit_and_others_cannot_escalate(
    live: Live,
    browser: Browser,
) -> None:
    async with await api(live) as http:
        await staffed(http, ("agent-7", "agent"))
        n = await create(http)
        for path, body in (
            ("resolve", {"actor": {"id": "agent-7", "role": "agent"}, "summary": "fixed"}),
            ("confirm", {"actor": CUSTOMER, "satisfied": True}),
        ):
            r = await http.post(f"/requests/{n}/{path}", json=body)
            assert r.status_code == 200, r.text
    page = await sign_in(browser, live, "follow_up", "fu-1")
    await open_request(page, live, n)
    assert await status_of(page) == "follow_up_scheduled"
    assert await page.locator("#cmd-escalate").count() == 0
    # The follow-up call's phrases are a script to speak, never typed into the record.
    script = "#cmd-record_follow_up .script li"
    assert await page.get_attribute(f"{script}:first-child", "data-phrase") == (
        "greeting.follow-up"
    )
    assert await page.locator("#cmd-record_follow_up button.phrase").count() == 0
    await send(
        page,
        "record_follow_up",
        {"score": "4", "nps": "9", "method": "visit", "praise": "the engineer was on time"},
    )
    assert await page.inner_text("#fu-score") == "4"
    recorded = await live.pool.fetchrow(
        "SELECT actor_id, actor_role, data FROM request_events WHERE number = $1 "
        "AND kind = 'follow_up_recorded'",
        n,
    )
    assert (recorded["actor_id"], recorded["actor_role"]) == ("fu-1", "follow_up")
    assert recorded["data"]["method"] == "visit" and recorded["data"]["nps"] == 9

    # An analyst reads but acts on nothing, and sees no personal data at all.
    analyst = await sign_in(browser, live, "analyst", "ana")
    await open_request(analyst, live, n)
    assert await analyst.locator("form[data-command]").count() == 0
    assert await analyst.locator("#reveal").count() == 0
    assert await analyst.is_visible("#no-personal")

    # An agent has no escalate form; forging one with a valid CSRF field is refused by
    # the same role gate as the API (403), so is a POST without the field, or from
    # another site, and the cookie alone opens no command route of the API.
    agent = await sign_in(browser, live, "agent", "agent-7")
    await open_request(agent, live, n)
    assert await agent.locator("#cmd-escalate").count() == 0
    token = await agent.get_attribute("#cmd-post_progress input[name=csrf]", "value")
    assert token
    url = f"{live.base_url}/console/requests/{n}/escalate"
    forged = await agent.request.post(
        url, form={"csrf": token, "reason": "mine now", "priority": "P1"}
    )
    assert forged.status == 403
    assert "escalate needs one of the roles" in await forged.text()
    no_field = await agent.request.post(
        f"{live.base_url}/console/requests/{n}/progress", form={"note": "hello"}
    )
    assert no_field.status == 403 and "CSRF" in await no_field.text()
    cross = await agent.request.post(
        f"{live.base_url}/console/requests/{n}/progress",
        form={"csrf": token, "note": "hello"},
        headers={"Origin": "https://evil.example"},
    )
    assert cross.status == 403
    api_with_cookie = await agent.request.post(
        f"{live.base_url}/requests/{n}/progress", data={"note": "hello"}
    )
    assert api_with_cookie.status == 401
    kinds = [
        r["kind"]
        for r in await live.pool.fetch("SELECT kind FROM request_events WHERE number = $1", n)
    ]
    assert "escalated" not in kinds and "progress_posted" not in kinds


async def test_a_change_through_the_api_shows_on_open_pages_within_two_seconds(
    live: Live,
    browser: Browser,
) -> None:
    async with await api(live) as http:
        await staffed(http, ("agent-7", "agent"))
        n = await create(http)
        queue_page = await sign_in(browser, live, "agent", "agent-7")
        await queue_page.wait_for_selector(f'tr[data-number="{n}"]')
        request_page = await sign_in(browser, live, "agent", "agent-7")
        await open_request(request_page, live, n)
        assert await request_page.is_hidden("#updated")

        started = time.monotonic()
        r = await http.post(
            f"/requests/{n}/progress",
            json={"actor": {"id": "agent-7", "role": "agent"}, "note": "parts ordered via API"},
        )
        assert r.status_code == 200, r.text
        await request_page.locator("#timeline li", has_text="parts ordered via API").wait_for(
            timeout=2000
        )
        assert await request_page.inner_text("#status") == "in_progress"
        assert (await request_page.inner_text("#updated")).startswith(EN["updated"])
        assert time.monotonic() - started < 2.5

        started = time.monotonic()
        second = await create(http, category="consultation")
        await queue_page.wait_for_selector(f'tr[data-number="{second}"]', timeout=2000)
        assert await queue_page.is_visible("#updated")


async def test_a_new_user_takes_a_request_from_intake_to_closed_in_the_console(
    live: Live,
    browser: Browser,
    tmp_path: Path,
) -> None:
    """The README's path: `csflow up` prints the console and an admin token; with an
    empty staff directory (a fresh install) requests go to the category desks."""
    page = await sign_in(browser, live, "admin", "csflow-up-admin")
    await page.click("nav a[href='/console/new']")
    await page.wait_for_url("**/console/new")
    await page.fill("#n-customer_id", "C-77")
    await page.fill("#n-customer_name", "Han Mei")
    await page.fill("#n-phone", "not a phone")
    await page.select_option("#n-category", "after_sales")
    await page.select_option("#n-channel", "phone")
    await page.fill("#n-description", "The washing machine leaks")
    async with page.expect_navigation() as nav:
        await page.click("#new-request button[type=submit]")
    answer = await nav.value
    assert answer is not None and answer.status == 422
    assert "phone" in await page.inner_text("#refusal-text")
    assert await page.input_value("#n-description") == "The washing machine leaks"
    await page.fill("#n-phone", "+86 139 0000 0077")
    async with page.expect_navigation():
        await page.click("#new-request button[type=submit]")
    assert "/console/requests/CS" in page.url
    n = (await page.inner_text("h1")).strip()
    assert await page.inner_text(".done") == EN["created"]
    received = await live.pool.fetchrow(
        "SELECT actor_id, actor_role FROM request_events WHERE number = $1 AND seq = 1", n
    )
    assert tuple(received) == ("csflow-up-admin", "admin")

    await send(
        page, "submit_plan", {"measures": "Send an engineer", "eta": local_input(timedelta(days=1))}
    )
    await send(page, "post_progress", {"note": "The engineer is on the way"})
    await send(page, "resolve", {"summary": "The hose was replaced"})
    await send(page, "confirm", {"satisfied": "yes", "evidence_ref": "call-2026-001"})
    assert await status_of(page) == "follow_up_scheduled"
    await send(page, "record_follow_up", {"score": "5", "nps": "10", "method": "phone"})

    async def closed() -> None:  # a satisfied follow-up closes the request by itself
        assert await status_of(page) == "closed"

    await eventually(closed)  # the live refresh shows it without a reload
    # …and, nobody typing, the forms too: on a closed request every one is refused.
    await page.locator("#cmd-close.later").wait_for(timeout=3000)
    assert await page.locator("details.cmd:not(.later)").count() == 0
    assert await page.inner_text("#fu-score") == "5"
    kinds = [
        r["kind"]
        for r in await live.pool.fetch(
            "SELECT kind FROM request_events WHERE number = $1 ORDER BY seq", n
        )
    ]
    for kind in (
        "received",
        "assigned",
        "plan_submitted",
        "progress_posted",
        "resolution_proposed",
        "customer_confirmed",
        "follow_up_recorded",
    ):
        assert kind in kinds
    assert kinds[-1] == "closed"
    await page.screenshot(path=str(shots(tmp_path) / "console-request-closed.png"), full_page=True)
