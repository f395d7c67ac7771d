"""`POST /customers/{customer_id}/erase`: crypto-shredding on request (docs/security.md).

Only an admin or a supervisor erases: it cannot be undone. The same as
`csflow customer erase --yes`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path
from pydantic import Field

from csflow.api import auth
from csflow.api.deps import Pool
from csflow.contracts import Actor, Model
from csflow.domain.codes import Role
from csflow.store import personal
from csflow.store.tokens import TokenInfo

router = APIRouter(prefix="/customers", tags=["customers"])
ERASERS = frozenset({Role.SUPERVISOR, Role.ADMIN})


class EraseBody(Model):
    """Why: the customer's request, a ticket or a legal reference; kept on each timeline."""

    reason: Annotated[str, Field(min_length=1, max_length=500)]


class Erased(Model):
    """What the erasure reached."""

    customer_id: str
    requests: list[str]
    erased_at: datetime


@router.post(
    "/{customer_id}/erase",
    response_model=Erased,
    responses={
        401: {"description": "No valid API token"},
        422: {"description": "No reason given, or a malformed customer id"},
        403: {"description": "Only a supervisor or an admin may erase"},
        409: {"description": "The customer still has open requests; they are named"},
    },
)
async def erase(
    customer_id: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:@-]+$")],
    body: EraseBody,
    pool: Pool,
    who: Annotated[TokenInfo, Depends(auth.require(ERASERS, "erasing a customer"))],
) -> Erased:
    """Destroy the customer's data key: every sealed copy of their name, contact and words
    becomes unreadable; codes, times and scores stay, so reports do not change. Each of
    their requests' timelines records `personal_data_erased`."""
    now = datetime.now(UTC)
    try:
        numbers = await personal.erase_customer(
            pool, customer_id, now, by=Actor(id=who.subject, role=who.role), reason=body.reason
        )
    except personal.OpenRequests as err:
        raise HTTPException(409, str(err)) from None
    return Erased(customer_id=customer_id, requests=numbers, erased_at=now)
