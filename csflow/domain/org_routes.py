"""What a ladder step asks the organisation, and what it answers (the `route_escalation`
activity's argument and result): the people its recipients resolve to, and — for the
`reassign` and `director_takeover` actions — who now holds the request."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EscalationRouteInput(_Model):
    number: str
    department: str | None
    assignee: str | None
    roles: list[str] = Field(default_factory=list)
    action: str = "notify"  # EscalationAction value


class RoutedRecipient(_Model):
    role: str
    staff_id: str | None  # None: nobody on duty; the role's configured contact is used
    via: str


class EscalationRoute(_Model):
    recipients: list[RoutedRecipient] = Field(default_factory=list)
    assignee: str | None = None  # set when the step moved the request
    department: str | None = None
    team: str | None = None  # the new holder's team (absent in results from before)
    rule: str = ""
