"""The Temporal UI through the codec server, in headless Chromium (issue 13).

A Temporal dev server started as `csflow up` starts it (`--ui-codec-endpoint` pointing at
the codec server); a request's workflow whose input is sealed. What the UI 2.54 served by
the dev server does, found by watching it (docs/security.md, "The Temporal UI"):

- it POSTs `/decode?preserveStorageRefs=true` to the endpoint with `Content-Type` and
  `X-Namespace` only; `--ui-codec-endpoint` leaves the UI's `IncludeCredentials` off, so
  the browser sends no cookie — every decode is refused and the page shows ciphertext;
- a person turns on "Include cross-origin credentials" in the UI's Codec Server settings
  (kept in the browser's localStorage: `overrideRemoteCodecConfiguration`, `endpoint`,
  `includeCredentials`); the fetch then carries `credentials: "include"`, so the API's
  sign-in cookie (`csflow_token`, same host name, so same site) reaches the codec server.

So: signed in as an agent with the setting on, the input shows decoded (and the read is
audited); signed out, as an analyst, or with the dev server's defaults, it does not. The
dev server's SQLite file, meanwhile, holds the workflow but not the customer's name.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.async_api import Browser, Page
from temporalio.client import Client

from csflow.crypto import converter, keyring
from csflow.crypto import server as codec_server
from csflow.embedded.temporal import TemporalDevServer
from tests.browser.conftest import Live
from tests.helpers import binary, free_port, intake, token_for

NAME = "Philippa Marchbanks-Ossory"


@dataclass
class Ui:
    db: Path  # the dev server's SQLite file
    url: str  # the Temporal UI
    codec: str  # the codec server
    client: Client  # on the UI's dev server, sealing with the session's ring
    decodes: list[dict[str, Any]]  # what reached /decode: status, cookie sent


@pytest.fixture
async def ui(live: Live, tmp_path: Path) -> AsyncIterator[Ui]:
    ring = keyring.load()
    ui_port, codec_port = free_port(), free_port()
    codec = f"http://127.0.0.1:{codec_port}"
    dev = TemporalDevServer(
        tmp_path / "temporal.db",
        free_port(),
        ui_port,
        binary=Path(binary("temporal")),
        extra_args=[
            "--ui-codec-endpoint",
            codec,
            "--http-port",
            str(free_port()),
            "--metrics-port",
            str(free_port()),
        ],
    )
    app = codec_server.create_app(ring, [f"http://127.0.0.1:{ui_port}"], pool=live.pool)
    decodes: list[dict[str, Any]] = []

    @app.middleware("http")
    async def watch(request: Any, call_next: Any) -> Any:
        response = await call_next(request)
        if request.url.path == "/decode" and request.method == "POST":
            decodes.append(
                {
                    "status": response.status_code,
                    "cookie": "csflow_token" in request.headers.get("cookie", ""),
                }
            )
        return response

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=codec_port, log_config=None))
    task = asyncio.create_task(server.serve())
    await asyncio.to_thread(dev.start)
    try:
        client = await Client.connect(dev.target, data_converter=converter.data_converter(ring))
        yield Ui(tmp_path / "temporal.db", dev.ui_url, codec, client, decodes)
    finally:
        server.should_exit = True
        await task
        await asyncio.to_thread(dev.stop)


async def a_sealed_request(ui: Ui) -> str:
    """A ServiceRequest workflow whose start input names the customer (no worker needed:
    the UI shows the input from the first event)."""
    from csflow.contracts import Contact, Customer
    from csflow.domain.codes import Tier

    body = intake(
        customer=Customer(
            id="C-UI-1", name=NAME, tier=Tier.REGULAR, contact=Contact(email="p.m@example.org")
        )
    )
    handle = await ui.client.start_workflow(
        "ServiceRequest",
        {
            "number": "CS20261130-WEB-0777",
            "intake": body.model_dump(mode="json", exclude_none=True),
        },
        id="CS20261130-WEB-0777",
        task_queue="nobody-listens",
    )
    return handle.id


async def sign_in(browser: Browser, live: Live, role: str | None) -> Page:
    """A browser, signed in on the API's login page when `role` is given."""
    context = await browser.new_context(locale="en-US")
    page = await context.new_page()
    if role is not None:
        await page.goto(f"{live.base_url}/login?next=/board")
        await page.fill("input[name=token]", await token_for(live.pool, role, f"ui.{role}"))
        await page.click("button[type=submit]")
        await page.wait_for_load_state()
    return page


async def codec_settings(page: Page, ui: Ui, *, include_credentials: bool) -> None:
    """What the person sets in the UI's Codec Server settings, as the UI stores it."""
    await page.goto(ui.url)
    await page.evaluate(
        """([endpoint, include]) => {
             localStorage.setItem('overrideRemoteCodecConfiguration', 'true');
             localStorage.setItem('endpoint', JSON.stringify(endpoint));
             localStorage.setItem('includeCredentials', JSON.stringify(include));
           }""",
        [ui.codec, include_credentials],
    )


async def input_shown(page: Page, ui: Ui, wid: str, *, wait_for: str | None = None) -> str:
    """The workflow page's text once the UI has asked the codec server to decode (and,
    with `wait_for`, once that text appears, for up to 15 s)."""
    before = len(ui.decodes)
    await page.goto(f"{ui.url}/namespaces/default/workflows/{wid}")
    for _ in range(150):
        if len(ui.decodes) > before:
            break
        await asyncio.sleep(0.1)
    assert len(ui.decodes) > before, "the UI never called the codec server"
    for _ in range(150 if wait_for else 15):  # the page renders what the answer said
        text = await page.inner_text("body")
        if wait_for and wait_for in text:
            break
        await asyncio.sleep(0.1)
    return text


async def test_the_ui_shows_decoded_input_only_to_a_signed_in_authorised_person(
    ui: Ui, live: Live, browser: Browser
) -> None:
    wid = await a_sealed_request(ui)

    # Temporal's own files (SQLite and its write-ahead log) hold the workflow, sealed.
    stored = b"".join(p.read_bytes() for p in ui.db.parent.glob(f"{ui.db.name}*"))
    assert wid.encode() in stored and NAME.encode() not in stored

    # The dev server's defaults: no credentials are sent, so nobody gets plaintext.
    page = await sign_in(browser, live, "agent")
    text = await input_shown(page, ui, wid)
    assert NAME not in text
    assert ui.decodes[-1] == {"status": 401, "cookie": False}

    # With "Include cross-origin credentials" on, the sign-in cookie goes along.
    await codec_settings(page, ui, include_credentials=True)
    text = await input_shown(page, ui, wid, wait_for=NAME)
    assert ui.decodes[-1] == {"status": 200, "cookie": True}
    assert NAME in text, text[:2000]
    audited = await live.pool.fetchrow(
        "SELECT subject, role, numbers FROM codec_reads ORDER BY id DESC LIMIT 1"
    )
    assert (audited["subject"], audited["role"]) == ("ui.agent", "agent")
    assert wid in audited["numbers"]
    await page.context.close()

    # The same setting, but an analyst, or nobody signed in: ciphertext.
    for role, status in (("analyst", 403), (None, 401)):
        page = await sign_in(browser, live, role)
        await codec_settings(page, ui, include_credentials=True)
        text = await input_shown(page, ui, wid)
        assert ui.decodes[-1]["status"] == status, (role, ui.decodes[-1])
        assert NAME not in text, role
        await page.context.close()
    assert json.dumps(ui.decodes)  # every decode was watched
