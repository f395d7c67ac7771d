"""What every console page is rendered with, built once from the policy at start-up.

One object rather than module state: the time zone, the phrase library and the
organisation's supervision come from the policy the API was started with, and a test (or
a second app in one process) may start with another.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from csflow.api import auth
from csflow.console import csrf, forms, queue
from csflow.console.detail import clock_lines, improvements_of
from csflow.console.phrases import PhraseLibrary, phrases_from_env
from csflow.console.texts import COMMAND_TITLES, COOKIE, LANGS, STEP_NAMES, TEXTS, pick
from csflow.domain import ownership, terms
from csflow.domain.codes import Category, Channel, Priority, Tier
from csflow.domain.lifecycle import LEGAL, Command
from csflow.domain.policy import Policy
from csflow.reports import fmt
from csflow.store.personal import CustomerDetails
from csflow.store.tokens import TokenInfo
from starter.client import CsflowClient, RequestNotFound

PAGES_DIR = Path(__file__).parent.parent.parent / "pages" / "console"
POLL_MS = 1000  # the live check's interval: a change shows within 2 s
# Loads nothing from elsewhere, runs only our own script, cannot be framed (the forms
# act: a framed console could be clicked through by another site).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self'; connect-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}


class ConsolePages:
    """The console's templates and what they are filled with, for one policy.

    The phrase library is read here, at start-up: a phrase file with a banned promise or a
    typo stops the API with the entry named (PhrasesError), like a bad policy does.
    """

    def __init__(self, policy: Policy, phrases: PhraseLibrary | None = None) -> None:
        self.policy = policy
        self.library = phrases or phrases_from_env(policy.compliance.banned_phrases)
        self._supervision = terms.supervision(policy.organisation)
        self._team_supervision = terms.team_supervision(policy.organisation)
        tz = ZoneInfo(policy.calendar.time_zone)
        self._templates = Environment(
            loader=FileSystemLoader(PAGES_DIR), autoescape=select_autoescape(["html"])
        )
        self._templates.filters.update(
            local=lambda d: d.astimezone(tz).strftime("%Y-%m-%d %H:%M") if d else "—",
            duration=fmt.duration,
        )

    @staticmethod
    def lang_of(request: Request) -> str:
        return pick(request.cookies.get(COOKIE), request.headers.get("accept-language"))

    def render(
        self, name: str, request: Request, who: TokenInfo, status: int = 200, **context: Any
    ) -> HTMLResponse:
        lang = self.lang_of(request)
        token = request.cookies.get(auth.COOKIE) or ""
        # After a form's POST the address bar shows the form's action; links (the
        # language switch) go back to the page itself.
        page = context.pop("page", None) or request.url.path + (
            f"?{request.url.query}" if request.url.query else ""
        )
        html = self._templates.get_template(name).render(
            t=TEXTS[lang],
            lang=lang,
            langs=LANGS,
            who=who,
            here=request.url.path,
            here_full=page,
            may_create=who.role in auth.CREATORS,
            csrf_field=csrf.FIELD,
            csrf=csrf.token_for(token),
            poll_ms=POLL_MS,
            left=lambda s: _text_left(s, lang),
            titles=COMMAND_TITLES[lang],
            command_title=lambda name: _title(name, lang),
            steps=STEP_NAMES[lang],
            tz=self.policy.calendar.time_zone,
            **context,
        )
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    def missing(self, request: Request, who: TokenInfo, number: str) -> HTMLResponse:
        return self.render("missing.html", request, who, 404, number=number)

    async def request_page(
        self,
        request: Request,
        who: TokenInfo,
        number: str,
        *,
        fragment: bool = False,
        status: int = 200,
        failed: str | None = None,
        error: str | None = None,
        posted: dict[str, str] | None = None,
        revealed: CustomerDetails | None = None,
    ) -> HTMLResponse:
        """One request: its clocks, its history, and the forms this person may send — those
        the request's status and ownership allow first."""
        pool = request.app.state.pool
        client: CsflowClient = request.app.state.csflow
        version = await queue.version(pool, number)
        try:
            view = await client.state(number)
        except RequestNotFound:
            return self.missing(request, who, number)
        lang = self.lang_of(request)
        upset = "soothe_first" in view.flags
        offered = []
        for form in forms.forms_for(who.role):
            offered.append(
                {
                    "form": form,
                    "legal": view.status in LEGAL[form.command],
                    # Ownership (`[ownership]`): the workflow refuses these from anyone but
                    # the holder, their team's supervisors or an admin.
                    "yours": ownership.allowed(
                        self.policy.ownership,
                        form.command.value,
                        assignee=view.assignee,
                        department=view.department,
                        actor_id=who.subject,
                        role=who.role,
                        supervision=self._supervision,
                        team=view.team,
                        team_supervision=self._team_supervision,
                    )
                    is None,
                    "key": str(uuid.uuid4()),
                    "phrases": self.library.offer(
                        form.command,
                        view.category,
                        lang,
                        upset=upset,
                        number=number,
                        agent=who.subject,
                    ),
                }
            )
        offered.sort(key=lambda o: not (o["legal"] and o["yours"]))
        context = dict(
            view=view,
            clocks=clock_lines(view, self.policy, datetime.now(UTC)),
            improvements=await improvements_of(pool, number),
            forms=offered,
            upset=upset,
            may_read_personal=who.role in auth.PERSONAL_READERS,
            revealed=revealed,
            failed=failed,
            error=error,
            posted=posted or {},
            done=request.query_params.get("done"),
            version=version,
            phrases_version=self.library.version,
            currency=self.policy.compensation.currency,
            data_text=_data_text,
            page=f"/console/requests/{quote(number)}",
        )
        return self.render(
            "request_fragment.html" if fragment else "request.html",
            request,
            who,
            status,
            **context,
        )

    def new_form(
        self,
        request: Request,
        who: TokenInfo,
        status: int = 200,
        posted: dict[str, str] | None = None,
        error: str | None = None,
    ) -> HTMLResponse:
        """The form for a request taken by phone or at the counter."""
        return self.render(
            "new.html",
            request,
            who,
            status,
            posted=posted or {},
            error=error,
            choices={
                "tier": [Tier.REGULAR.value, Tier.VIP.value],
                "language": ["zh-CN", "en"],
                "channel": [c.value for c in Channel],
                "category": [c.value for c in Category],
                "priority": [p.value for p in reversed(Priority)],
            },
        )


def _text_left(seconds: float | None, lang: str) -> str:
    if seconds is None:
        return "—"
    return (
        f"{TEXTS[lang]['overdue']} {fmt.duration(-seconds)}"
        if seconds < 0
        else fmt.duration(seconds)
    )


def _title(name: str, lang: str) -> str:
    """A command's form title from its value (`?done=resolve`), the value if unknown."""
    try:
        return COMMAND_TITLES[lang][Command(name)]
    except ValueError:
        return name


def _data_text(data: dict[str, Any]) -> str:
    """An event's data as one short line; large values (deadlines) are cut."""
    parts = []
    for k, v in data.items():
        if v is None:
            continue
        text = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)
        parts.append(f"{k}: {text if len(text) <= 120 else text[:119] + '…'}")
    return " · ".join(parts)
