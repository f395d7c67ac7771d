"""GET /requests: find requests by status, priority, SLA colour, assignee, ... — a page
at a time.

The query string is one pydantic model that forbids unknown parameters, so a typo such
as `?stauts=open` is a 422 naming it rather than an unfiltered list that looks right.
Authentication is added where the router is included, like the other routers.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field, field_validator

from csflow.api.deps import Csflow
from csflow.store.listing import (
    DEFAULT_LIMIT,
    InvalidCursor,
    Limit,
    RequestFilter,
    RequestPage,
    decode_cursor,
)

router = APIRouter(prefix="/requests", tags=["requests"])


class ListQuery(RequestFilter):
    """The filter, plus where the page starts and how long it is."""

    limit: Limit = DEFAULT_LIMIT
    cursor: Annotated[str, Field(max_length=500)] | None = Field(
        default=None, description="`next_cursor` of the previous page."
    )

    @field_validator("cursor")
    @classmethod
    def _ours(cls, value: str | None) -> str | None:
        # Checked here so a mangled cursor is a 422 on `cursor`, not a 500 later.
        if value is not None:
            try:
                decode_cursor(value)
            except InvalidCursor as err:
                raise ValueError(str(err)) from None
        return value

    def where(self) -> RequestFilter:
        return RequestFilter.model_validate(
            self.model_dump(exclude={"limit", "cursor"}, exclude_unset=True)
        )


@router.get(
    "",
    response_model=RequestPage,
    summary="List requests, newest first, filtered and paged",
    responses={422: {"description": "An unknown or invalid parameter; it is named"}},
)
async def list_requests(params: Annotated[ListQuery, Query()], csflow: Csflow) -> RequestPage:
    """Repeat a parameter for "any of" (`?status=assigned&status=escalated`); follow
    `next_cursor` for the next page. Rows carry no personal data."""
    return await csflow.list(params.where(), limit=params.limit, cursor=params.cursor)
