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

One module per page (the frame, the queues, the new-request form, the request page);
`pages.py` renders them with what the policy says, `access.py` says who may open them.
"""

from __future__ import annotations

from fastapi import FastAPI

from csflow.api.routes.console import new_request, queue_pages, request_page, shell
from csflow.api.routes.console.pages import ConsolePages
from csflow.console.phrases import PhraseLibrary
from csflow.domain.policy import Policy

__all__ = ["ConsolePages", "install"]


def install(app: FastAPI, policy: Policy, phrases: PhraseLibrary | None = None) -> None:
    """Mount /console on `app`, its pages made for `policy` (built now, so a bad phrase
    file stops start-up). Each route checks its caller itself."""
    app.state.console_pages = ConsolePages(policy, phrases)
    for part in (shell, queue_pages, new_request, request_page):
        app.include_router(
            part.router, prefix="/console", tags=["console"], include_in_schema=False
        )
