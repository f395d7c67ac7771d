"""The audited timeline: one event per thing that happened to a request."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field

from csflow.contracts.base import Actor, Model
from csflow.contracts.bounds import MAX_TEXT
from csflow.crypto import sealed
from csflow.domain.lifecycle import Status


class TimelineEvent(Model):
    """One audited transition: who, when, why (docs/requirements.md §3)."""

    seq: int
    at: datetime
    kind: str
    actor: Actor
    status_from: Status | None = None
    status_to: Status | None = None
    # Up to the longest text, or its sealing with the customer's key (their own words
    # travel sealed: csflow/contracts/personal.py), which is longer.
    reason: Annotated[str, Field(max_length=sealed.max_length(MAX_TEXT))] | None = None
    data: dict[str, Any] = Field(default_factory=dict)
