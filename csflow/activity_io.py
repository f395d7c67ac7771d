"""Activity arguments and results: the worker's internal plumbing, not a public contract.

What other services send and read (workflow input, Updates, queries, views) lives in
csflow.contracts and is exported to docs/contract.md; these models only travel between
csflow's own workflows and activities, so they may change with the code.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from csflow.contracts import (
    Model,
    NewNeed,
    RequestIntake,
    RequestState,
    TimelineEvent,
)
from csflow.contracts.personal import PersonalDescription
from csflow.domain.codes import Category, Priority, Tier


class ResolveTermsInput(Model):
    """Argument of the `resolve_terms` activity: what the policy is applied to."""

    intake: RequestIntake
    received_at: datetime


class RecordEvents(Model):
    """Persist a batch of timeline events and the request row as of the last one.

    `state.timeline` is sent empty — the events travel in `events` — so the payload stays
    the size of one batch however long the request's history grows.
    """

    state: RequestState
    events: list[TimelineEvent]
    intake: RequestIntake | None = None
    # After the database refused this write: store what it takes and set the rest aside
    # in persist_dead_letters rather than be refused again (docs/events.md).
    salvage: bool = False


class TriageInput(Model):
    number: str
    customer_id: str
    category: Category
    sub_type: str | None
    priority: Priority
    tier: Tier
    description: PersonalDescription  # sealed with the customer's key; triage opens it
    received_at: datetime


class Triage(Model):
    """What intake found and who got the request (or that it waits in the queue)."""

    emotion: list[str] = Field(default_factory=list)
    repeat_of: list[str] = Field(default_factory=list)
    assignee: str | None = None
    department: str | None = None
    rule: str


class TransferInput(Model):
    number: str
    to_staff: str | None = None
    to_department: str | None = None


class TransferResult(Model):
    assignee: str | None  # None: refused, see `rule`
    department: str | None = None
    rule: str


class ReleaseInput(Model):
    number: str


class PlanFollowUpInput(Model):
    number: str
    cycle: int
    due_at: datetime
    expires_at: datetime
    language: Literal["zh-CN", "en"] = "zh-CN"  # the survey page opens in this language


class FollowUpPlan(Model):
    owner: str
    survey_url: str | None = None


class LinkedRequestInput(Model):
    parent: str
    index: int
    intake: RequestIntake  # the parent's, for the customer and channel
    need: NewNeed
