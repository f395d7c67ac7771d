"""/survey/{token}: the customer's questionnaire behind a signed, expiring link.

Opening the link (GET or HEAD) only shows the form, or why it takes no answer — mail link
scanners and previewers that open every link record nothing. Only an explicit POST from
the form's submit button records, through the workflow's `record_follow_up` Update, which
is the one authority on "once" and "current": it refuses a second answer and an answer
about an outcome since re-handled. The page only explains a refusal, from the request's
state, in the customer's language.

No CSRF token, by design: there is no cookie, session or ambient credential at all. The
capability is the signed token in the URL, which a cross-site attacker would have to know
already — and knowing it, they could submit directly, so a CSRF token would add nothing.
What matters is that GET never changes anything, that answers need the form's POST, and
that the token does not leak: responses are `no-store`, send no Referer, load nothing from
elsewhere (CSP `default-src 'none'`) and ask robots not to index them.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError

from csflow.api.deps import Csflow
from csflow.api.pages.survey.texts import LANGS, TEXTS, pick
from csflow.contracts import Actor, FollowUpRecord, RequestView
from csflow.domain.codes import Role
from csflow.domain.lifecycle import Command, Status
from csflow.links import LinkExpired, LinkInvalid, SurveyClaim, read_survey_token
from csflow.refusals import Refusal
from starter.client import (
    CsflowClient,
    RequestEnded,
    RequestNotFound,
    RequestRefused,
    TemporalUnavailable,
)

log = logging.getLogger(__name__)
router = APIRouter(prefix="/survey", tags=["survey"], include_in_schema=False)

_PAGES = Environment(
    loader=FileSystemLoader(Path(__file__).parent.parent / "pages" / "survey"),
    autoescape=select_autoescape(["html"]),
)
_TEXT_FIELDS = ("praise", "suggestion", "problem")
_FIELDS = ("score", "nps", *_TEXT_FIELDS, "needs_action")
_MAX_TEXT = 4000  # FollowUpRecord's limit, said to the browser too
# C0 controls but tab and newlines: PostgreSQL's jsonb refuses NUL, and none of them are
# words a customer meant to write.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_STATUS = {
    "answered": 409,
    "stale": 410,
    "closed": 410,
    "expired": 410,
    "invalid": 404,
    "unavailable": 503,
    "thanks": 200,
}
_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
}
# Backing services down: say "try again", never a stack trace, and record nothing.
_UNAVAILABLE = (TemporalUnavailable, OSError, asyncpg.PostgresConnectionError)
# The workflow accepted the answer and retries the write by itself (request_base).
_NOT_PERSISTED = Refusal.NOT_PERSISTED


def _page(name: str, status: int, **context: Any) -> HTMLResponse:
    html = _PAGES.get_template(name).render(**context)
    return HTMLResponse(html, status_code=status, headers=_HEADERS)


def _message(lang: str, key: str) -> HTMLResponse:
    t = TEXTS[lang]
    return _page("message.html", _STATUS[key], lang=lang, heading=t[key], body=t[f"{key}_body"])


def _form(
    lang: str, claim: SurveyClaim, form: dict[str, str], errors: list[str], status: int
) -> HTMLResponse:
    other = LANGS[1] if lang == LANGS[0] else LANGS[0]
    return _page(
        "form.html",
        status,
        lang=lang,
        other_lang=other,
        t=TEXTS[lang],
        number=claim.number,
        form=form,
        errors=errors,
        max_text=_MAX_TEXT,
    )


def _secret(request: Request) -> bytes:
    """Resolved once when the app is made (csflow/api/app.py): no file read per page."""
    secret: bytes = request.app.state.survey_secret
    return secret


def _claim(request: Request, token: str, lang: str) -> SurveyClaim | HTMLResponse:
    secret = _secret(request)
    try:
        return read_survey_token(token, secret, datetime.now(UTC))
    except LinkExpired:
        return _message(lang, "expired")
    except LinkInvalid:
        return _message(lang, "invalid")


def why_closed(view: RequestView, claim: SurveyClaim) -> str | None:
    """Why this survey takes no answer now (a message key), or None while it does.

    Decided from the request's state rather than a refusal's wording, so the page is right
    however the workflow phrases it — and right on GET, before anyone types an answer.
    """
    if view.sla_cycle != claim.cycle:
        return "stale"
    follow_up = view.follow_up
    if follow_up is not None and follow_up.cycle == claim.cycle and follow_up.score is not None:
        return "answered"
    if view.status is Status.FOLLOW_UP_SCHEDULED:
        return None
    return "closed"


async def _explain(csflow: CsflowClient, claim: SurveyClaim, lang: str) -> HTMLResponse | None:
    try:
        view = await csflow.state(claim.number)
    except RequestNotFound:
        return _message(lang, "invalid")
    except _UNAVAILABLE:
        return _message(lang, "unavailable")
    why = why_closed(view, claim)
    return None if why is None else _message(lang, why)


def _unexplained(lang: str, claim: SurveyClaim, reason: str) -> HTMLResponse:
    """Refused while the state says the survey is open: a race, or a bug worth a look.

    The customer is told the truth — not recorded, try again — rather than a guess.
    """
    log.warning("survey answer for %s refused while open: %s", claim.number, reason)
    return _message(lang, "unavailable")


def _read(raw: dict[str, Any]) -> dict[str, str]:
    form: dict[str, str] = {}
    for name in _FIELDS:
        value = raw.get(name)
        form[name] = _CONTROL.sub("", value).strip() if isinstance(value, str) else ""
    return form


def _record(form: dict[str, str], actor: Actor, cycle: int) -> FollowUpRecord:
    return FollowUpRecord(
        actor=actor,
        score=form["score"] or None,
        nps=form["nps"] or None,
        praise=form["praise"] or None,
        suggestion=form["suggestion"] or None,
        problem=form["problem"] or None,
        needs_action=bool(form["needs_action"]),
        method="questionnaire",
        cycle=cycle,
    )


def _messages(err: ValidationError, t: dict[str, str]) -> list[str]:
    """Pydantic's errors in the page's language, one per field, in the form's order."""
    bad = {str(e["loc"][0]) for e in err.errors() if e["loc"]}
    out = [t["missing_score"]] if "score" in bad else []
    out += [t["missing_nps"]] if "nps" in bad else []
    out += [
        t["too_long"].format(field=t[f"{name}_name"], max=_MAX_TEXT)
        for name in _TEXT_FIELDS
        if name in bad
    ]
    return out or [t["missing_score"]]


@router.api_route("/{token}", methods=["GET", "HEAD"], response_class=HTMLResponse)
async def show(
    token: str, request: Request, csflow: Csflow, lang: str | None = None
) -> HTMLResponse:
    language = pick(lang)
    claim = _claim(request, token, language)
    if isinstance(claim, HTMLResponse):
        return claim
    return await _explain(csflow, claim, language) or _form(language, claim, {}, [], 200)


@router.post("/{token}", response_class=HTMLResponse)
async def submit(
    token: str, request: Request, csflow: Csflow, lang: str | None = None
) -> HTMLResponse:
    language = pick(lang)
    claim = _claim(request, token, language)
    if isinstance(claim, HTMLResponse):
        return claim
    form = _read(dict(await request.form()))
    try:
        _record(form, Actor(id="customer", role=Role.CUSTOMER), claim.cycle)
    except ValidationError as err:
        return _form(language, claim, form, _messages(err, TEXTS[language]), 422)
    try:
        # The customer's own id goes into the audit trail; the token deliberately lacks it.
        view = await csflow.state(claim.number)
        actor = Actor(id=view.customer_id, role=Role.CUSTOMER)
        await csflow.send(claim.number, Command.RECORD_FOLLOW_UP, _record(form, actor, claim.cycle))
    except RequestRefused as err:
        if err.kind == _NOT_PERSISTED:
            return _message(language, "thanks")
        if err.kind == Refusal.ALREADY_ANSWERED:  # the other of two submits sent together
            return _message(language, "answered")
        return await _explain(csflow, claim, language) or _unexplained(language, claim, err.reason)
    except RequestEnded as err:
        return await _explain(csflow, claim, language) or _unexplained(language, claim, str(err))
    except RequestNotFound:
        return _message(language, "invalid")
    except _UNAVAILABLE:
        return _message(language, "unavailable")
    return _message(language, "thanks")
