"""Notification wire models: one Notification per message, keyed for exactly-once."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Language = Literal["zh-CN", "en"]
ChannelName = Literal["email", "sms", "phone", "chat", "webhook", "log"]


_DEFAULT_CHANNELS: list[ChannelName] = ["email", "sms"]


class Recipient(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["customer", "staff", "role", "ops"]
    id: str  # customer id, staff id, or a role ("supervisor", "department_head", ...)
    email: str | None = None
    phone: str | None = None
    channels: list[ChannelName] = Field(default_factory=lambda: _DEFAULT_CHANNELS.copy())
    language: Language = "zh-CN"
    quiet_hours: list[str] | None = None  # ["HH:MM", "HH:MM"], the recipient's own
    # The recipient's IANA zone (a customer's, when they gave one): quiet hours are read
    # in it. None: the organisation's `[quiet_hours] time_zone`.
    time_zone: str | None = None


class Notification(BaseModel):
    """One message to one recipient; `key` makes a retried or replayed send a no-op."""

    model_config = ConfigDict(extra="forbid")

    key: str
    number: str
    template: str
    recipient: Recipient
    priority: str
    variables: dict[str, Any] = Field(default_factory=dict)


class NotifyResult(BaseModel):
    key: str
    status: Literal["sent", "skipped", "failed", "uncertain", "duplicate"]
    channel: ChannelName | None = None
    attempts: list[str] = Field(default_factory=list)
