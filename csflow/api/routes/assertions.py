"""`POST /assertions`: a signed actor assertion for callers that talk to Temporal directly.

A service in another language (or a person at the `temporal` CLI) sends Updates straight
to Temporal; the worker refuses any whose actor is not vouched for by a signature
(docs/security.md). This route vouches, after checking the caller's token exactly as every
command route does.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from csflow.api import auth
from csflow.crypto.issue import AssertionAsk, IssuedAssertion, NotYours, issue

router = APIRouter(tags=["security"])


@router.post(
    "/assertions",
    response_model=IssuedAssertion,
    responses={403: {"description": "The token may not act as the named actor"}},
)
async def issue_assertion(
    ask: AssertionAsk, who: auth.Principal, request: Request
) -> IssuedAssertion:
    """An assertion for one Update on one request, valid for five minutes: send it as the
    Temporal header `csflow-actor` (`temporal workflow update execute --headers
    'csflow-actor="…"'`)."""
    key = request.app.state.actor_key  # read once when the app is built
    try:
        return issue(key, who, ask)
    except NotYours as err:
        raise auth.Denied(str(err)) from None
