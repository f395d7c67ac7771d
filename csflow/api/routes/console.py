"""/console: the web workspace where agents, supervisors and follow-up specialists work
their requests (docs/console.md).

Server-rendered pages with a little JavaScript of our own (docs/architecture.md, "The
console"). Everything goes through the paths the API uses:

- queues read csflow.store.listing (GET /requests' code) via csflow.console.queue;
- the request page reads the starter client's `state`, like GET /requests/{number};
- a customer's details are read with csflow.store.personal.read_customer, which logs
  every read, and only by the roles auth.PERSONAL_READERS names;
- a command form posts here, and is sent with the starter client's `send` — the one path
  behind POST /requests/{number}/{command} — after the same role gate
  (auth.command_roles, the workflow's REQUIRED_ROLES) and actor binding
  (auth.bind_actor); a refusal is answered by the API's own exception handlers, so the
  page shows the same status and the same words.

Forms are sent with the sign-in cookie plus a CSRF field derived from it
(csflow.console.csrf); the cookie alone still opens reads only.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError

from csflow.api import auth
from csflow.api.routes.requests import body_model
from csflow.commands import CommandSpec
from csflow.console import csrf, forms, intake, queue
from csflow.console.detail import clock_lines, improvements_of
from csflow.console.phrases import PhraseLibrary, phrases_from_env
from csflow.console.texts import COMMAND_TITLES, COOKIE, LANGS, STEP_NAMES, TEXTS, pick
from csflow.contracts import Model
from csflow.domain import ownership, terms
from csflow.domain.codes import Category, Channel, Priority, Tier
from csflow.domain.lifecycle import LEGAL, Command
from csflow.domain.policy import Policy
from csflow.reports import fmt
from csflow.store import personal, tokens
from csflow.store.personal import CustomerDetails, Reader
from csflow.store.tokens import TokenInfo
from starter.client import (
    CsflowClient,
    RequestEnded,
    RequestNotFound,
    RequestRefused,
    TemporalUnavailable,
)

PAGES_DIR = Path(__file__).parent.parent / "pages" / "console"
STATIC = {"console.js": "text/javascript; charset=utf-8", "console.css": "text/css; charset=utf-8"}
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

Reader_ = Annotated[TokenInfo, Depends(auth.require(auth.READERS, "the console"))]


def _text_left(seconds: float | None, lang: str) -> str:
    if seconds is None:
        return "—"
    return (
        f"{TEXTS[lang]['overdue']} {fmt.duration(-seconds)}"
        if seconds < 0
        else fmt.duration(seconds)
    )


async def form_principal(request: Request) -> TokenInfo:
    """The signed-in person behind a console form: cookie, same origin and CSRF field."""
    if not csrf.same_origin(request.headers.get("origin"), request.headers.get("host")):
        raise auth.Denied("a console form must be sent from this site (Origin mismatch)")
    token = request.cookies.get(auth.COOKIE)
    if not token:
        raise auth.NotAuthenticated("sign in at /login first")
    posted = await request.form()
    given = posted.get(csrf.FIELD)
    if not csrf.valid(token, given if isinstance(given, str) else None):
        raise auth.Denied(
            "the form's CSRF field is missing or belongs to another sign-in; "
            "reload the page and send it again"
        )
    try:
        return await tokens.verify(request.app.state.pool, token, datetime.now(UTC))
    except tokens.TokenRefused as err:
        raise auth.NotAuthenticated(str(err)) from None


FormPrincipal = Annotated[TokenInfo, Depends(form_principal)]


def build_router(policy: Policy, phrases: PhraseLibrary | None = None) -> APIRouter:
    """The console's routes, for this policy (time zone, banned promises, ladders).

    The phrase library is read here, at start-up: a phrase file with a banned promise or a
    typo stops the API with the entry named (PhrasesError), like a bad policy does.
    """
    library = phrases or phrases_from_env(policy.compliance.banned_phrases)
    supervision = terms.supervision(policy.organisation)
    team_supervision = terms.team_supervision(policy.organisation)
    tz = ZoneInfo(policy.calendar.time_zone)
    router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)
    pages = Environment(loader=FileSystemLoader(PAGES_DIR), autoescape=select_autoescape(["html"]))
    pages.filters.update(
        local=lambda d: d.astimezone(tz).strftime("%Y-%m-%d %H:%M") if d else "—",
        duration=fmt.duration,
    )

    def lang_of(request: Request) -> str:
        return pick(request.cookies.get(COOKIE), request.headers.get("accept-language"))

    def render(
        name: str, request: Request, who: TokenInfo, status: int = 200, **context: Any
    ) -> HTMLResponse:
        lang = lang_of(request)
        token = request.cookies.get(auth.COOKIE) or ""
        # After a form's POST the address bar shows the form's action; links (the
        # language switch) go back to the page itself.
        page = context.pop("page", None) or request.url.path + (
            f"?{request.url.query}" if request.url.query else ""
        )
        html = pages.get_template(name).render(
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
            tz=policy.calendar.time_zone,
            **context,
        )
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    @router.get("")
    async def console_home() -> RedirectResponse:
        return RedirectResponse("/console/queue/mine", status_code=303)

    @router.get("/static/{name}")
    async def static(name: str) -> Response:
        if name not in STATIC:
            raise HTTPException(404, "no such file")
        return Response(
            (PAGES_DIR / name).read_bytes(),
            media_type=STATIC[name],
            headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
        )

    @router.get("/lang")
    async def switch_lang(
        to: Annotated[str, Query(max_length=8)],
        next: Annotated[str, Query(max_length=500)] = "/console",
    ) -> RedirectResponse:
        target = next if next.startswith("/console") and not next.startswith("//") else "/console"
        response = RedirectResponse(target, status_code=303)
        if to in LANGS:
            response.set_cookie(COOKIE, to, max_age=365 * 86400, samesite="lax", path="/")
        return response

    @router.get("/version")
    async def live_version(
        request: Request, who: Reader_, number: Annotated[str | None, Query(max_length=64)] = None
    ) -> JSONResponse:
        """What the pages poll: a token that changes when what they show changes."""
        found = await queue.version(request.app.state.pool, number)
        return JSONResponse({"version": found}, headers={"Cache-Control": "no-store"})

    @router.get("/queue/{which}")
    async def queue_page(
        request: Request, which: str, who: Reader_, fragment: bool = False
    ) -> HTMLResponse:
        if which not in ("mine", "team"):
            raise HTTPException(404, "the queues are /console/queue/mine and /team")
        try:
            f = queue.QueueFilter.model_validate(_multi(request, exclude={"fragment"}))
        except ValidationError as err:
            raise HTTPException(
                422, [{"loc": e["loc"], "msg": e["msg"]} for e in err.errors()]
            ) from None
        pool = request.app.state.pool
        version = await queue.version(pool)
        found = await queue.load_queue(pool, f, assignee=who.subject if which == "mine" else None)
        return render(
            "queue_live.html" if fragment else "queue.html",
            request,
            who,
            which=which,
            f=f,
            q=found,
            version=version,
            choices={
                "status": [s.value for s in queue.OPEN],
                "priority": [p.value for p in Priority],
                "category": [c.value for c in Category],
                "channel": [c.value for c in Channel],
                "flag": list(queue.FLAGS),
            },
        )

    async def request_page(
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
        pool = request.app.state.pool
        client: CsflowClient = request.app.state.csflow
        version = await queue.version(pool, number)
        try:
            view = await client.state(number)
        except RequestNotFound:
            return render("missing.html", request, who, 404, number=number)
        now = datetime.now(UTC)
        lang = lang_of(request)
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
                        policy.ownership,
                        form.command.value,
                        assignee=view.assignee,
                        department=view.department,
                        actor_id=who.subject,
                        role=who.role,
                        supervision=supervision,
                        team=view.team,
                        team_supervision=team_supervision,
                    )
                    is None,
                    "key": str(uuid.uuid4()),
                    "phrases": library.offer(
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
            clocks=clock_lines(view, policy, now),
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
            phrases_version=library.version,
            currency=policy.compensation.currency,
            data_text=_data_text,
            page=f"/console/requests/{quote(number)}",
        )
        return render(
            "request_fragment.html" if fragment else "request.html", request, who, status, **context
        )

    @router.get("/new")
    async def new_request_page(request: Request, who: Reader_) -> HTMLResponse:
        await auth.require(auth.CREATORS, "creating a request")(who)
        return new_form(request, who)

    def new_form(
        request: Request,
        who: TokenInfo,
        status: int = 200,
        posted: dict[str, str] | None = None,
        error: str | None = None,
    ) -> HTMLResponse:
        return render(
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

    @router.post("/new")
    async def new_request(request: Request, who: FormPrincipal) -> Response:
        """Record a request taken by phone or at the counter, as POST /requests does."""
        await auth.require(auth.CREATORS, "creating a request")(who)
        posted = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        try:
            made = intake.to_intake(posted)
        except forms.Invalid as err:
            return new_form(request, who, 422, posted, _errors_text(err.errors))
        made.recorded_by = auth.bind_actor(who, None)
        client: CsflowClient = request.app.state.csflow
        try:
            created = await client.create(made)
        except (RequestRefused, TemporalUnavailable) as err:
            status, detail = await _as_api(request, err)
            return new_form(request, who, status, posted, detail)
        return RedirectResponse(
            f"/console/requests/{quote(created.number)}?done=created", status_code=303
        )

    @router.get("/requests/{number}")
    async def request_get(
        request: Request, number: str, who: Reader_, fragment: bool = False
    ) -> HTMLResponse:
        return await request_page(request, who, number, fragment=fragment)

    @router.get("/requests/{number}/{path:path}")
    async def after_post(number: str) -> RedirectResponse:
        """Reloading the answer to a form (its address is the form's action) shows the
        request page again; nothing is sent twice."""
        return RedirectResponse(f"/console/requests/{quote(number)}", status_code=303)

    @router.post("/requests/{number}/reveal")
    async def reveal(request: Request, number: str, who: FormPrincipal) -> HTMLResponse:
        """The customer's details, for roles that may read them; every reveal is logged."""
        await auth.require(auth.PERSONAL_READERS, "reading a customer's details")(who)
        purpose = (await request.form()).get("purpose")
        reader = Reader(
            token_id=who.id,
            subject=who.subject,
            role=who.role.value,
            purpose=(purpose.strip()[:200] or None) if isinstance(purpose, str) else None,
        )
        found = await personal.read_customer(request.app.state.pool, number, reader)
        if found is None:
            return render("missing.html", request, who, 404, number=number)
        return await request_page(request, who, number, revealed=found)

    @router.post("/requests/{number}/{path:path}")
    async def send_command(
        request: Request, number: str, path: str, who: FormPrincipal
    ) -> Response:
        spec = forms.by_path(path)
        if spec is None or spec.command not in forms.FIELDS:
            raise HTTPException(404, f"no console form {path!r}")
        posted = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        key = posted.get("idempotency_key") or None
        try:
            # The API's gate first (its 403 words), then the console's own rule that a
            # service token relays others and has no forms.
            await auth.require(auth.command_roles(spec.command), spec.command.value)(who)
            if not forms.console_may(who.role, spec.command):
                raise auth.Denied(
                    f"{spec.command.value}: the console acts for people; a "
                    f"{who.role.value} token uses the API"
                )
            command = _command(spec, who, posted, policy.calendar.time_zone)
            await request.app.state.csflow.send(number, spec.command, command, idempotency_key=key)
        except forms.Invalid as err:
            return await request_page(
                request,
                who,
                number,
                status=422,
                failed=spec.command.value,
                posted=posted,
                error=_errors_text(err.errors),
            )
        except (
            auth.Denied,
            RequestRefused,
            RequestEnded,
            RequestNotFound,
            TemporalUnavailable,
        ) as err:
            status, detail = await _as_api(request, err)
            if status == 404:
                return render("missing.html", request, who, 404, number=number)
            return await request_page(
                request,
                who,
                number,
                status=status,
                failed=spec.command.value,
                posted=posted,
                error=detail,
            )
        query = urlencode({"done": spec.command.value})
        return RedirectResponse(f"/console/requests/{quote(number)}?{query}", status_code=303)

    return router


def _command(spec: CommandSpec, who: TokenInfo, posted: dict[str, str], tz: str) -> Model:
    """Form → the API's body model → the command, with the actor bound like the API does."""
    data = forms.to_input(spec.command, posted, tz)
    try:
        body: Any = body_model(spec).model_validate(data)
    except ValidationError as err:
        raise forms.Invalid(
            [
                (
                    ".".join(str(p) for p in e["loc"]) or "form",
                    e["msg"].removeprefix("Value error, "),
                )
                for e in err.errors()
            ]
        ) from None
    actor = auth.bind_actor(who, None)
    fields = {name: getattr(body, name) for name in spec.model.model_fields}
    return spec.model(**{**fields, "actor": actor})


async def _as_api(request: Request, err: Exception) -> tuple[int, str]:
    """The API's own answer to this error: its exception handler's status and words."""
    handler = request.app.exception_handlers[type(err)]
    answer = await handler(request, err)
    body = json.loads(bytes(answer.body))
    return answer.status_code, str(body.get("detail", ""))


def _title(name: str, lang: str) -> str:
    """A command's form title from its value (`?done=resolve`), the value if unknown."""
    try:
        return COMMAND_TITLES[lang][Command(name)]
    except ValueError:
        return name


def _errors_text(errors: list[tuple[str, str]]) -> str:
    return "; ".join(f"{name}: {message}" for name, message in errors)


def _multi(request: Request, exclude: set[str]) -> dict[str, Any]:
    """The query string as the filter's input: blank values are "any"."""
    out: dict[str, Any] = {}
    for key, value in request.query_params.multi_items():
        if key in exclude or not value:
            continue
        if key == "q":
            out[key] = value
        else:
            out.setdefault(key, []).append(value)
    return out


def _data_text(data: dict[str, Any]) -> str:
    """An event's data as one short line; large values (deadlines) are cut."""
    parts = []
    for k, v in data.items():
        if v is None:
            continue
        text = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)
        parts.append(f"{k}: {text if len(text) <= 120 else text[:119] + '…'}")
    return " · ".join(parts)
