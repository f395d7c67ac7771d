"""Every bound a timestamp must keep, in one place, and the checks that use them.

Two kinds, because the workflow replays: the *absolute* bounds (`EARLIEST` .. `LATEST`)
sit in the timestamp type itself, so they hold everywhere a model is validated — the API,
CLI, importer, starter, and the worker decoding an Update's argument — and give the same
answer on every replay. The *relative* bounds (a receipt within a window around now, an
ETA within a horizon) depend on the clock, so the edges that have one (the API, the
importer, the starter) check them with `window_problems` before anything is started or
sent; a replay never re-checks them. Documented in docs/api.md and docs/contract.md.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import BaseModel

# Far enough to hold every real request and every computed deadline, near enough that
# PostgreSQL, zoneinfo and business-day arithmetic (a few years of holidays added to a
# deadline) never overflow: year 0001 or 9999, or `0` read as 1970, are refused.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)

# A receipt given by a caller: the recording machine's clock may run a little ahead.
RECEIVED_AHEAD = timedelta(minutes=5)
# How far back a live caller (API, starter) may date a receipt: an outage log replayed
# within a month. Imports reach further (`csflow import --max-age`, default below).
RECEIVED_BACK = timedelta(days=31)
IMPORT_RECEIVED_BACK = timedelta(days=3 * 366)
# An ETA or expected resolution beyond this is a mistyped year, not a plan.
HORIZON = timedelta(days=2 * 366)

# Longest text any string field takes, unless the field says less (a description).
MAX_TEXT = 10_000


def out_of_range(value: datetime) -> str | None:
    """Why an aware timestamp is outside the absolute bounds, or None."""
    if value < EARLIEST or value >= LATEST:
        return (
            f"must be between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d} (UTC); "
            "a number or a far year is not a time"
        )
    return None


def window_problems(
    model: BaseModel, now: datetime, *, received_back: timedelta = RECEIVED_BACK
) -> list[tuple[str, str]]:
    """(field, reason) for each clock-relative bound `model` breaks at `now`.

    Looks at the contract's timestamp fields by name: `received_at` within
    [now - received_back, now + RECEIVED_AHEAD]; `eta` and `expected_resolution_at` no
    later than now + HORIZON.
    """
    out: list[tuple[str, str]] = []
    received = getattr(model, "received_at", None)
    if isinstance(received, datetime):
        if received > now + RECEIVED_AHEAD:
            out.append(("received_at", "is in the future"))
        elif received < now - received_back:
            out.append(("received_at", f"is more than {received_back.days} days ago"))
    for name in ("eta", "expected_resolution_at"):
        value = getattr(model, name, None)
        if isinstance(value, datetime) and value > now + HORIZON:
            out.append((name, f"is more than {HORIZON.days} days ahead"))
    return out
