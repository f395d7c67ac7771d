"""Channel settings (TOML at CSFLOW_NOTIFY_CONFIG) and secrets (environment only).

With no file every message goes to the log channel: a developer's machine never sends a
real SMS. Secrets never sit in the file: SMTP password and the gateway/webhook signing
key come from CSFLOW_SMTP_PASSWORD and CSFLOW_GATEWAY_SECRET.
"""

from __future__ import annotations

import os
import tomllib
from datetime import time, timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Smtp(_Model):
    host: str
    port: int = 25
    sender: str = "service@csflow.local"
    user: str | None = None
    starttls: bool = False


class Gateway(_Model):
    url: str  # SMS at {url}/sms, phone calls at {url}/call


class Webhook(_Model):
    url: str  # chat messages for staff


class Contact(_Model):
    email: str | None = None
    phone: str | None = None


class QuietHours(_Model):
    start: time = time(22, 0)
    end: time = time(8, 0)
    time_zone: str = "Asia/Shanghai"


# The workflow's hard ceiling on one message's retries (workflows/options.NOTIFY_WITHIN is
# longer): the configured window must end before it, so the activity itself gets to mark
# the message failed and alert ops instead of being timed out by the server.
MAX_RETRY_WINDOW = timedelta(days=6)


class Retry(_Model):
    """How long and how often a message is retried while every channel is down.

    Durations are ISO 8601 ("PT24H", "PT1S") or a number of seconds. The delay doubles
    from `first_delay` up to `max_delay`; the last attempt is made when `within` ends.
    """

    within: timedelta = timedelta(hours=24)
    first_delay: timedelta = timedelta(seconds=1)
    max_delay: timedelta = timedelta(minutes=5)

    @model_validator(mode="after")
    def _sane(self) -> Retry:
        if not timedelta(0) <= self.within <= MAX_RETRY_WINDOW:
            raise ValueError(f"retry.within must be between 0 and {MAX_RETRY_WINDOW.days} days")
        if not timedelta(0) < self.first_delay <= self.max_delay:
            raise ValueError("retry.first_delay must be positive and at most retry.max_delay")
        return self

    def delay(self, attempt: int) -> timedelta:
        """The wait after failed attempt number `attempt` (1-based)."""
        factor: int = 2 ** min(max(attempt - 1, 0), 30)
        return min(self.first_delay * factor, self.max_delay)


class NotifyConfig(_Model):
    smtp: Smtp | None = None
    gateway: Gateway | None = None
    webhook: Webhook | None = None
    quiet_hours: QuietHours = QuietHours()
    # Contacts of roles that are not a person in the staff directory.
    roles: dict[str, Contact] = Field(default_factory=dict)
    ops: Contact = Contact()
    retry: Retry = Retry()


def load_notify_config(path: Path | None = None) -> NotifyConfig:
    path = path or (Path(p) if (p := os.environ.get("CSFLOW_NOTIFY_CONFIG")) else None)
    if path is None:
        return NotifyConfig()
    with path.open("rb") as f:
        return NotifyConfig.model_validate(tomllib.load(f))
