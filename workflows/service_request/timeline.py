"""The timeline: the one place a request's status changes and every change is written down.

Pure (no workflow API): `Timeline.append` builds the event at the instant it is given,
moves the status when the event says so, and hands the event to `announce` — the
workflow's hook that refreshes the SLA colour, publishes search attributes and starts the
notification sends. Called once per event, in order, so a replay issues the same commands.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from csflow.contracts import Actor, RequestState, TimelineEvent
from csflow.domain.events import EventKind
from csflow.domain.lifecycle import Status


@dataclass
class Timeline:
    state: RequestState
    announce: Callable[[TimelineEvent], None]

    def append(
        self,
        kind: EventKind,
        actor: Actor,
        at: datetime,
        *,
        to: Status | None = None,
        reason: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> TimelineEvent:
        """Write one event; with `to`, the status moves and the event records from → to."""
        state = self.state
        before = state.status
        if to is not None:
            state.status = to
        event = TimelineEvent(
            seq=state.timeline[-1].seq + 1 if state.timeline else 1,
            at=at,
            kind=kind,
            actor=actor,
            status_from=before if to is not None else None,
            status_to=to,
            reason=reason,
            data=jsonable(data or {}),
        )
        state.timeline.append(event)
        self.announce(event)
        return event

    def unrecorded_status(self, to: Status) -> None:
        """The status set without an event of its own — only how histories recorded before
        patch `ladder-takeover-on-timeline` did it (a director takeover); kept so they
        replay, never used for anything new."""
        self.state.status = to

    def pending(self) -> list[TimelineEvent]:
        """Events not yet written to PostgreSQL, in order."""
        return [e for e in self.state.timeline if e.seq > self.state.persisted_seq]


def jsonable(data: dict[str, Any]) -> dict[str, Any]:
    """Event data is stored as JSON: datetimes as ISO text, enums as their values."""

    def conv(v: Any) -> Any:
        if isinstance(v, datetime):
            return v.isoformat()
        if isinstance(v, dict):
            return {str(k): conv(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [conv(x) for x in v]
        return v

    return {k: conv(v) for k, v in data.items() if v is not None}
