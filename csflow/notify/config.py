"""Channel settings (TOML at CSFLOW_NOTIFY_CONFIG) and secrets (environment only).

With no file every message goes to the log channel: a developer's machine never sends a
real SMS. Secrets never sit in the file: SMTP password and the gateway/webhook signing
key come from CSFLOW_SMTP_PASSWORD and CSFLOW_GATEWAY_SECRET.
"""

from __future__ import annotations

import os
import tomllib
from datetime import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


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


class NotifyConfig(_Model):
    smtp: Smtp | None = None
    gateway: Gateway | None = None
    webhook: Webhook | None = None
    quiet_hours: QuietHours = QuietHours()
    # Contacts of roles that are not a person in the staff directory.
    roles: dict[str, Contact] = Field(default_factory=dict)
    ops: Contact = Contact()


def load_notify_config(path: Path | None = None) -> NotifyConfig:
    path = path or (Path(p) if (p := os.environ.get("CSFLOW_NOTIFY_CONFIG")) else None)
    if path is None:
        return NotifyConfig()
    with path.open("rb") as f:
        return NotifyConfig.model_validate(tomllib.load(f))
