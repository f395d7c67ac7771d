"""What the client raises, and how Temporal's errors become it.

Temporal reports a missing workflow, an overloaded frontend, a refused Update and a
failed first connection each its own way (RPC status codes, WorkflowUpdateFailedError,
a RuntimeError). Callers — the API's handlers, the CLI, the importer, a backend
service — act on a few outcomes instead: not found, ended, refused (with the
workflow's reason), try again. The translation lives here once so that every face gives
the same error the same answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from csflow.refusals import Refusal, run_has_ended

T = TypeVar("T")


class RequestNotFound(LookupError):
    """No request has this number."""


class RequestEnded(RuntimeError):
    """The request is closed or cancelled; it takes no more commands."""


class RequestRefused(RuntimeError):
    """The workflow refused the command; `reason` says why, `kind` is the error type."""

    def __init__(self, reason: str, kind: str | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind


class TemporalUnavailable(RuntimeError):
    """Temporal could not be reached; nothing was started or changed."""


class NumberingUnavailable(TemporalUnavailable):
    """The worker could not hand out a number (its database did not answer); nothing was
    started. A subclass of TemporalUnavailable: for a caller both mean "try again"."""


class NoDatabase(RuntimeError):
    """A read that needs PostgreSQL (`list`) on a client built without a pool."""


# Temporal is down, overloaded or gave up on the call: nothing the caller did wrong, and a
# retry (same external id or Idempotency-Key) is safe — a 503 with Retry-After, never 500.
_BUSY = (
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.RESOURCE_EXHAUSTED,
    RPCStatusCode.ABORTED,
    RPCStatusCode.CANCELLED,
)


def refused(err: WorkflowUpdateFailedError) -> RequestRefused:
    """A validator's or handler's refusal of an Update: its message and error type."""
    cause = err.cause
    if isinstance(cause, ApplicationError):
        return RequestRefused(cause.message, cause.type)
    return RequestRefused(str(cause or err), None)


async def translated(call: Awaitable[T], number: str, known: Callable[[str], Awaitable[bool]]) -> T:
    """`call`'s answer, or the error a caller acts on. `known(number)` tells a request
    that ended (and left Temporal) from one that never was."""
    try:
        return await call
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            # The wording differs when the request ends while a command is in flight;
            # its persisted row tells an ended request from one that never was.
            if run_has_ended(err.message) or await known(number):
                raise RequestEnded(f"request {number} has already ended") from err
            raise RequestNotFound(f"no request {number}") from err
        if err.status in _BUSY:
            raise TemporalUnavailable(f"Temporal is unreachable: {err.message}") from err
        raise
    except WorkflowAlreadyStartedError as err:
        raise RequestRefused(
            f"request number {number} was already used by an earlier request; was the "
            "database reset while Temporal kept its history?",
            Refusal.ILLEGAL_STATE,
        ) from err
    except RuntimeError as err:
        # A lazily connected client reports a refused first connection this way.
        if "Failed client connect" in str(err):
            raise TemporalUnavailable("Temporal is unreachable") from err
        raise
