"""/survey/{token}: the customer's questionnaire behind a signed, expiring link.

GET only shows the form — mail scanners that open every link record nothing. Only an
explicit POST records, through the workflow's `record_follow_up` Update, which refuses a
second answer and an answer about an outcome since re-handled. The token in the URL is the
capability (no cookies, no session), so there is nothing for a cross-site request to ride.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError

from csflow.api.deps import Csflow
from csflow.api.pages.survey.texts import LANGS, TEXTS, pick
from csflow.contracts import Actor, FollowUpRecord
from csflow.domain.codes import Role
from csflow.domain.lifecycle import Command
from csflow.links import LinkExpired, LinkInvalid, SurveyClaim, read_survey_token
from starter.client import RequestEnded, RequestNotFound, RequestRefused

router = APIRouter(prefix="/survey", tags=["survey"], include_in_schema=False)
_PAGES = Environment(
    loader=FileSystemLoader(Path(__file__).parent.parent / "pages" / "survey"),
    autoescape=select_autoescape(["html"]),
)
_FIELDS = ("score", "nps", "praise", "suggestion", "problem", "needs_action")


def _page(name: str, status: int, **context: Any) -> HTMLResponse:
    return HTMLResponse(_PAGES.get_template(name).render(**context), status_code=status)


def _message(lang: str, key: str, status: int) -> HTMLResponse:
    t = TEXTS[lang]
    return _page("message.html", status, lang=lang, heading=t[key], body=t[f"{key}_body"])


def _claim(request: Request, token: str, lang: str) -> SurveyClaim | HTMLResponse:
    secret: bytes = request.app.state.settings.survey_secret()
    try:
        return read_survey_token(token, secret, datetime.now(UTC))
    except LinkExpired:
        return _message(lang, "expired", 410)
    except LinkInvalid:
        return _message(lang, "invalid", 404)


def _form(lang: str, claim: SurveyClaim, form: dict[str, Any], error: str | None,
          status: int) -> HTMLResponse:
    other = LANGS[1] if lang == LANGS[0] else LANGS[0]
    return _page("form.html", status, lang=lang, other_lang=other, t=TEXTS[lang],
                 number=claim.number, form=form, error=error)


@router.get("/{token}", response_class=HTMLResponse)
async def show(token: str, request: Request, lang: str | None = None) -> HTMLResponse:
    language = pick(lang)
    claim = _claim(request, token, language)
    if isinstance(claim, HTMLResponse):
        return claim
    return _form(language, claim, {}, None, 200)


@router.post("/{token}", response_class=HTMLResponse)
async def submit(token: str, request: Request, csflow: Csflow,
                 lang: str | None = None) -> HTMLResponse:
    language = pick(lang)
    claim = _claim(request, token, language)
    if isinstance(claim, HTMLResponse):
        return claim
    raw = await request.form()
    form = {k: str(raw.get(k, "")).strip() for k in _FIELDS}
    try:
        state = await csflow.state(claim.number)
        record = FollowUpRecord(
            actor=Actor(id=state.customer_id, role=Role.CUSTOMER),
            score=form["score"] or None, nps=form["nps"] or None,
            praise=form["praise"] or None, suggestion=form["suggestion"] or None,
            problem=form["problem"] or None, needs_action=bool(form["needs_action"]),
            method="questionnaire", cycle=claim.cycle,
        )
    except ValidationError:
        return _form(language, claim, form, TEXTS[language]["missing"], 422)
    except RequestNotFound:
        return _message(language, "invalid", 404)
    try:
        await csflow.send(claim.number, Command.RECORD_FOLLOW_UP, record)
    except RequestRefused as err:
        stale = "earlier outcome" in err.reason
        return _message(language, "stale" if stale else "answered", 410 if stale else 409)
    except RequestEnded:
        return _message(language, "answered", 409)
    return _message(language, "thanks", 200)
