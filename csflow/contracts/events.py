"""The audited timeline: one event per thing that happened to a request."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from csflow.contracts.base import Actor, Model
from csflow.domain.lifecycle import Status


class TimelineEvent(Model):
    """One audited transition: who, when, why (docs/requirements.md §3)."""

    seq: int
    at: datetime
    kind: str
    actor: Actor
    status_from: Status | None = None
    status_to: Status | None = None
    reason: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
