"""One vocabulary of refusals: what kind of "no" a command or a start got, and how each
face of csflow says it (HTTP status, CLI exit code).

The enum's values are the `type` strings of the ApplicationErrors on the wire. Callers in
other languages match on them and recorded histories contain them, so a value never
changes; a new kind is a new member. Every place that refuses — validators, handlers,
activities, the starter, the API and the CLI — names its kind from here, and the API and
the CLI translate it through `ANSWERS`, so the same refusal is the same answer everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum

from temporalio.exceptions import ApplicationError


class Refusal(StrEnum):
    ILLEGAL_STATE = "IllegalTransition"
    """The command makes no sense in the request's (or task's) current state."""
    FORBIDDEN_ROLE = "Forbidden"
    """The actor's role may not give this command."""
    UNKNOWN = "NotFound"
    """No request (or task) has this id."""
    INVALID = "Invalid"
    """The input itself is wrong; the same input will always be refused."""
    COMPLIANCE = "Compliance"
    """Words for the customer make a promise the policy bans."""
    INVALID_START = "InvalidStart"
    """A start from outside csflow's starter chose a number or input csflow cannot take."""
    TERMS_UNAVAILABLE = "TermsUnavailable"
    """The policy cannot be applied to this intake (e.g. a date its calendar lacks)."""
    UNAVAILABLE = "Unavailable"
    """Temporal or PostgreSQL cannot be reached; nothing was changed."""
    NOT_PERSISTED = "NotPersisted"
    """The workflow accepted the command but the database refused the write; the request
    keeps the events and retries the write by itself."""
    OTHER_CALENDAR = "OtherCalendar"
    """A pushed calendar is another team's (or the organisation's) hours, not this
    request's: a push of several calendars skips it here."""
    ALREADY_ANSWERED = "AlreadyAnswered"
    """The follow-up of this outcome was already recorded (a second questionnaire submit)."""
    NUMBERING_UNAVAILABLE = "NumberingUnavailable"
    """No number could be handed out in time (the worker's database is unreachable)."""
    NUMBERING_REFUSED = "NumberingRefused"
    """The numbering refused this ask for good (e.g. a receipt day it cannot number)."""
    SATURATED = "Saturated"
    """Admission control held a new request back: the stack is past what it sustains with
    its clocks on time. Nothing was started; retry after `Retry-After` seconds."""

    @classmethod
    def of(cls, kind: str | None) -> Refusal | None:
        """The member for a wire `type`, or None for one outside the vocabulary."""
        try:
            return cls(kind) if kind is not None else None
        except ValueError:
            return None

    def error(self, reason: str) -> ApplicationError:
        """The non-retryable ApplicationError a workflow or activity raises for it."""
        return ApplicationError(reason, type=self.value, non_retryable=True)


class Exit(IntEnum):
    """The CLI's exit codes."""

    OK = 0
    REFUSED = 1
    BAD_INPUT = 2
    UNAVAILABLE = 3


@dataclass(frozen=True)
class Answer:
    http: int
    exit: Exit


# NotPersisted is 503, never 422: the caller's input was fine and the command was accepted;
# what failed is the backing database. 409 would tell the caller to change something they
# cannot change; 503 with Retry-After says the truth — the service is catching up, and the
# request writes the events by itself (a retry with the same idempotency key is answered
# from the first run of the Update, so it cannot apply the command twice).
ANSWERS: dict[Refusal, Answer] = {
    Refusal.ILLEGAL_STATE: Answer(409, Exit.REFUSED),
    Refusal.FORBIDDEN_ROLE: Answer(403, Exit.REFUSED),
    Refusal.UNKNOWN: Answer(404, Exit.REFUSED),
    Refusal.INVALID: Answer(422, Exit.BAD_INPUT),
    Refusal.COMPLIANCE: Answer(422, Exit.BAD_INPUT),
    Refusal.INVALID_START: Answer(422, Exit.BAD_INPUT),
    Refusal.TERMS_UNAVAILABLE: Answer(422, Exit.BAD_INPUT),
    Refusal.UNAVAILABLE: Answer(503, Exit.UNAVAILABLE),
    Refusal.NOT_PERSISTED: Answer(503, Exit.UNAVAILABLE),
    Refusal.ALREADY_ANSWERED: Answer(409, Exit.REFUSED),
    Refusal.OTHER_CALENDAR: Answer(409, Exit.REFUSED),
    Refusal.NUMBERING_UNAVAILABLE: Answer(503, Exit.UNAVAILABLE),
    Refusal.NUMBERING_REFUSED: Answer(422, Exit.BAD_INPUT),
    Refusal.SATURATED: Answer(429, Exit.UNAVAILABLE),
}

# A failure whose type is outside the vocabulary (a bug, an SDK error) is still a refusal
# of this one command, not a fault in the caller's body.
OTHER = Answer(409, Exit.REFUSED)


def answer(kind: str | None) -> Answer:
    """How to say a refusal of wire type `kind` over HTTP and on the command line."""
    refusal = Refusal.of(kind)
    return ANSWERS[refusal] if refusal is not None else OTHER


def run_has_ended(not_found_message: str) -> bool:
    """Whether the server's NOT_FOUND answer to an Update means the run has closed.

    The server words "workflow execution already completed" for a run that ended and
    something else for an id it never had; a caller that can ask the database (the
    starter, the API) also asks it, because the wording differs again when the run
    closes while the Update is in flight. The starter, the API, the CLI and the import
    decide through here, so an ended request or task reads the same on every face.
    """
    return "completed" in not_found_message
