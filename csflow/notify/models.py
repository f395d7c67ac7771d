"""Notification wire models: one Notification per message, keyed for exactly-once."""

from __future__ import annotations

from typing import Any, Literal, cast

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
)

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


# The channels a recipient of each kind gets unless it names its own (the planner's and
# the workflow's choices): a compact message leaves them out when they are these.
_KIND_CHANNELS: dict[str, list[ChannelName]] = {
    "customer": _DEFAULT_CHANNELS,
    "staff": ["chat", "email"],
    "role": ["email", "chat"],
    "ops": _DEFAULT_CHANNELS,
}
_DEFAULT_LANGUAGE: Language = "zh-CN"


class CompactNotification(BaseModel):
    """A `Notification` as the `send_notification` activity's input since the workflow
    patch `compact-terms-and-messages`: only what cannot be derived from elsewhere.

    The key (`{number}/{seq}/{kind}:{id}/{template}`) already names the request, the
    recipient and the template; the message's `number` variable is the request number;
    a recipient's channels and language are left out when they are the usual ones for its
    kind; the variables are only those the template uses. `full()` rebuilds the very
    `Notification` the planner made (less the variables no template reads), so the
    outbox, quiet hours, `csflow notify retry` and the ops alert work on it unchanged.
    Fields that are empty are not written at all (each byte stays in history).
    """

    model_config = ConfigDict(extra="forbid")

    key: str
    priority: str
    variables: dict[str, Any] = Field(default_factory=dict)
    channels: list[ChannelName] | None = None
    language: Language | None = None
    quiet_hours: list[str] | None = None
    time_zone: str | None = None

    @model_serializer(mode="wrap")
    def _without_empties(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        out: dict[str, Any] = handler(self)
        return {k: v for k, v in out.items() if v is not None and v != {}}

    @classmethod
    def of(cls, n: Notification, used: frozenset[str] | None = None) -> CompactNotification | None:
        """`n` made compact; `used`: the variables its template reads (all when None).
        None when its key does not name its recipient and template (a ladder page's key
        names the step and the channel instead) or it carries an address: sent whole."""
        r = n.recipient
        try:
            named = parse_key(n.key)
        except ValueError:
            return None
        if r.email or r.phone or named != (n.number, r.kind, r.id, n.template):
            return None
        variables = {
            k: v
            for k, v in n.variables.items()
            if (used is None or k in used) and not (k == "number" and v == n.number)
        }
        return cls(
            key=n.key,
            priority=n.priority,
            variables=variables,
            channels=None if r.channels == _KIND_CHANNELS[r.kind] else list(r.channels),
            language=None if r.language == _DEFAULT_LANGUAGE else r.language,
            quiet_hours=r.quiet_hours,
            time_zone=r.time_zone,
        )

    def full(self) -> Notification:
        number, kind, rid, template = parse_key(self.key)
        return Notification(
            key=self.key,
            number=number,
            template=template,
            recipient=Recipient(
                kind=kind,
                id=rid,
                channels=list(self.channels or _KIND_CHANNELS[kind]),
                language=self.language or _DEFAULT_LANGUAGE,
                quiet_hours=self.quiet_hours,
                time_zone=self.time_zone,
            ),
            priority=self.priority,
            variables={"number": number} | self.variables,
        )


RecipientKind = Literal["customer", "staff", "role", "ops"]


def parse_key(key: str) -> tuple[str, RecipientKind, str, str]:
    """(number, recipient kind, recipient id, template) of a message key; the recipient's
    id may itself hold '/' (the number and the template never do)."""
    parts = key.split("/")
    if len(parts) < 4 or ":" not in parts[2]:
        raise ValueError(f"not a message key: {key!r}")
    kind, _, first = "/".join(parts[2:-1]).partition(":")
    if kind not in _KIND_CHANNELS:
        raise ValueError(f"not a message key (recipient kind {kind!r}): {key!r}")
    return parts[0], cast(RecipientKind, kind), first, parts[-1]
