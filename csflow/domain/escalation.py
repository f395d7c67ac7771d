"""The escalation ladder (超时预警与升级, docs/requirements.md §4): what happens, step by
step, once a clock is breached. Each step's `after` counts from the breach, so reordering
or removing a step never shifts the others; satisfying the clock cancels the steps not yet
run.
"""

from __future__ import annotations

from enum import StrEnum
from itertools import pairwise

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from csflow.domain.clockspec import ClockSpec
from csflow.domain.codes import Priority


class Recipient(StrEnum):
    OWNER = "owner"
    SUPERVISOR = "supervisor"
    DEPARTMENT_HEAD = "department_head"
    DIRECTOR = "director"


class NotifyChannel(StrEnum):
    SMS = "sms"
    PHONE = "phone"
    EMAIL = "email"
    CHAT = "chat"
    BOARD = "board"


class EscalationAction(StrEnum):
    NOTIFY = "notify"
    MARK_DELAYED = "mark_delayed"
    REASSIGN = "reassign"
    DIRECTOR_TAKEOVER = "director_takeover"


class EscalationStep(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    """One rung: `after` is counted from the breach, not from the previous rung."""

    after: ClockSpec
    notify: tuple[Recipient, ...] = ()
    channels: tuple[NotifyChannel, ...] = ()
    action: EscalationAction = EscalationAction.NOTIFY

    @model_validator(mode="after")
    def _reaches_someone(self) -> EscalationStep:
        if self.action is EscalationAction.NOTIFY and not self.notify:
            raise ValueError("a notify step needs at least one recipient in `notify`")
        if self.notify and not self.channels:
            raise ValueError("recipients need at least one channel in `channels`")
        return self


Ladder = tuple[EscalationStep, ...]


def _step(
    after: str,
    notify: list[Recipient],
    channels: list[NotifyChannel],
    action: EscalationAction = EscalationAction.NOTIFY,
) -> EscalationStep:
    return EscalationStep(
        after=ClockSpec.model_validate(after),
        notify=tuple(notify),
        channels=tuple(channels),
        action=action,
    )


class EscalationPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    """docs/requirements.md §4's ladder; the director takes over one more step interval later."""

    P1: Ladder = (
        _step("15m", [Recipient.SUPERVISOR], [NotifyChannel.SMS, NotifyChannel.PHONE]),
        _step(
            "30m",
            [Recipient.DIRECTOR],
            [NotifyChannel.SMS, NotifyChannel.PHONE],
            EscalationAction.DIRECTOR_TAKEOVER,
        ),
    )
    P2: Ladder = (
        _step("1h", [Recipient.DEPARTMENT_HEAD], [NotifyChannel.EMAIL]),
        _step(
            "2h",
            [Recipient.DIRECTOR],
            [NotifyChannel.SMS, NotifyChannel.EMAIL],
            EscalationAction.DIRECTOR_TAKEOVER,
        ),
    )
    P3: Ladder = (
        _step("4h", [], [NotifyChannel.BOARD], EscalationAction.MARK_DELAYED),
        _step(
            "8h", [Recipient.DIRECTOR], [NotifyChannel.EMAIL], EscalationAction.DIRECTOR_TAKEOVER
        ),
    )

    @field_validator("P1", "P2", "P3")
    @classmethod
    def _in_order(cls, ladder: Ladder) -> Ladder:
        for before, after in pairwise(ladder):
            same_basis = before.after.basis == after.after.basis
            if same_basis and after.after.duration < before.after.duration:
                raise ValueError("ladder steps must be listed in order of `after`")
        return ladder

    def of(self, priority: Priority) -> Ladder:
        ladder: Ladder = getattr(self, priority.value)
        return ladder
