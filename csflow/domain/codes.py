"""The closed vocabularies of a service request (docs/requirements.md §2), as string enums.

String values are the wire format: they appear in JSON, in search attributes and in SQL,
so renaming a member is a breaking change for every caller.
"""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    PHONE = "phone"
    CHAT = "chat"
    EMAIL = "email"
    APP = "app"
    SOCIAL = "social"
    WEB = "web"

    @property
    def code(self) -> str:
        """Three-letter code shown inside the request number."""
        return _CHANNEL_CODES[self]


_CHANNEL_CODES = {
    Channel.PHONE: "TEL",
    Channel.CHAT: "CHT",
    Channel.EMAIL: "EML",
    Channel.APP: "APP",
    Channel.SOCIAL: "SOC",
    Channel.WEB: "WEB",
}


class Category(StrEnum):
    CONSULTATION = "consultation"
    COMPLAINT = "complaint"
    SUGGESTION = "suggestion"
    AFTER_SALES = "after_sales"


class Tier(StrEnum):
    VIP = "vip"
    REGULAR = "regular"


class Priority(StrEnum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"

    def raised(self) -> Priority:
        """One level more urgent; P1 stays P1 (re-handling rule, docs/requirements.md §3.4)."""
        return {Priority.P3: Priority.P2, Priority.P2: Priority.P1}.get(self, Priority.P1)


class Role(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    ENGINEER = "engineer"
    SUPERVISOR = "supervisor"
    FOLLOW_UP = "follow_up"
    ANALYST = "analyst"
    ADMIN = "admin"
    SERVICE = "service"
    SYSTEM = "system"


class SlaState(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"
    NONE = "none"
