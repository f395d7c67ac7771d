"""What opens work: a caller's intake, the ServiceRequest workflow's input, and the
improvement task child workflow's input."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Annotated, Literal
from zoneinfo import available_timezones

from pydantic import AfterValidator, Field, model_validator

from csflow.contracts.base import NOT_BOOL, Actor, AwareDatetime, Identifier, Model
from csflow.contracts.personal import (
    CustomerWords,
    PersonalDescription,
    PersonalEmail,
    PersonalName,
    PersonalPhone,
)
from csflow.contracts.views import RequestState
from csflow.domain.codes import Category, Channel, Priority, Tier
from csflow.domain.terms import RequestTerms


class Contact(Model):
    """Personal data: never copied into search attributes, summaries or logs."""

    phone: PersonalPhone | None = None
    email: PersonalEmail | None = None

    @model_validator(mode="after")
    def _one_way_to_reach(self) -> Contact:
        if not self.phone and not self.email:
            raise ValueError("give at least one of phone or email")
        return self


@cache
def _zones() -> frozenset[str]:
    # Only real IANA names: `localtime` and `Factory` exist as files but name no place.
    return frozenset(available_timezones()) - {"localtime", "Factory"}


def _iana_zone(name: str) -> str:
    if name not in _zones():
        raise ValueError("not an IANA time zone name such as Europe/Berlin or Asia/Shanghai")
    return name


TimeZoneName = Annotated[
    str,
    Field(min_length=1, max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9_+/-]*$"),
    AfterValidator(_iana_zone),
]

CustomerChannel = Literal["email", "sms", "phone"]
_DEFAULT_CUSTOMER_CHANNELS: tuple[CustomerChannel, ...] = ("email", "sms")


class Customer(Model):
    id: Identifier
    name: PersonalName
    tier: Tier = Tier.REGULAR
    contact: Contact
    language: Literal["zh-CN", "en"] = "zh-CN"
    preferred_channels: Annotated[list[CustomerChannel], Field(max_length=3)] = Field(
        default_factory=lambda: list(_DEFAULT_CUSTOMER_CHANNELS),
        description="How the customer wants to hear from us, in order of preference.",
    )
    quiet_hours: (
        Annotated[
            list[Annotated[str, Field(pattern=r"^\d\d:\d\d$")]], Field(min_length=2, max_length=2)
        ]
        | None
    ) = Field(
        default=None,
        description='Own quiet hours, e.g. ["21:00", "09:00"] (local time); '
        "the organisation's default when absent.",
    )
    time_zone: TimeZoneName | None = Field(
        default=None,
        description="The customer's IANA time zone (e.g. Europe/Berlin): the times "
        "messages give them (an ETA) and their own quiet hours are in it; the business "
        "calendar's zone when absent.",
    )


class RequestIntake(Model):
    """What a caller sends to open a request (docs/requirements.md §2, the request form)."""

    customer: Customer
    channel: Channel
    category: Category
    sub_type: Annotated[str, Field(max_length=64)] | None = None
    priority: Priority = Priority.P3
    description: PersonalDescription
    expected_resolution_at: AwareDatetime | None = Field(
        default=None,
        description="When the customer expects it solved; at most 732 days "
        "ahead (docs/contract.md, Bounds).",
    )
    order_number: Annotated[str, Field(max_length=64)] | None = None
    amount_in_dispute: Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)] | None = (
        None
    )
    department: Annotated[str, Field(max_length=64)] | None = None
    external_id: Identifier | None = Field(
        default=None, description="The caller's own id; a repeat returns the same request."
    )
    received_at: AwareDatetime | None = Field(
        default=None,
        description="Original time of receipt; defaults to now. At most 5 "
        "minutes ahead and 31 days back (imports: further, docs/contract.md, Bounds).",
    )
    recorded_by: Actor | None = Field(
        default=None, description="Who took the request; the calling service when absent."
    )
    related_to: Annotated[list[Identifier], Field(max_length=20)] = Field(
        default_factory=list, description="Earlier requests this one follows from."
    )


# The most events one imported request may bring (response, plan, progress, …).
MAX_IMPORTED_EVENTS = 50


class ServiceRequestInput(Model):
    """The workflow's single argument; `carried` is set only by continue-as-new.

    Every caller sends `number`, `intake` and `received_at` only: the workflow checks the
    number and resolves the terms itself (docs/contract.md).
    """

    number: Annotated[str, Field(max_length=64)] = Field(
        description="The request number, equal to the workflow id: "
        "CS<yyyymmdd>-<channel code>-<serial>, as the numbering workflow's "
        "`next_number` Update handed it out."
    )
    intake: RequestIntake
    received_at: AwareDatetime = Field(description="When the request was received.")
    terms: RequestTerms | None = Field(
        default=None,
        description="Internal: the SLA terms a continue-as-new run carries. "
        "Omit it: the workflow resolves them from the worker's policy at intake.",
    )
    carried: RequestState | None = Field(
        default=None,
        description="Internal: the state carried across continue-as-new. Never set it.",
    )
    imported_events: Annotated[int, Field(ge=0, le=MAX_IMPORTED_EVENTS), NOT_BOOL] = Field(
        default=0,
        description="Internal to `csflow import`: how many events recorded by hand "
        "follow as commands dated `at` (docs/import.md). While they come, the SLA clocks "
        "fire only up to the latest of them.",
    )


def problem_reference(task_id: str) -> str:
    """What the improvement child gets as `problem` instead of the customer's words: a
    reference to the parent request's `improvement_opened` event, where the problem is kept
    sealed with the customer's key (docs/security.md, minimisation)."""
    return f"@improvement_opened:{task_id}"


class ImprovementInput(Model):
    """The improvement task child workflow's argument (docs/requirements.md §3.7)."""

    task_id: str
    number: str
    department: str
    # A reference to the problem (`problem_reference`); histories from before it carry
    # the customer's words, which travel sealed with their key.
    problem: CustomerWords
    score: int
    opened_at: datetime
    terms: RequestTerms
