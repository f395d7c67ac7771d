"""Local wall-clock readings to instants, the one place DST is handled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo


def aware(dt: datetime) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("datetime must carry a time zone")
    return dt


def local_to_utc(naive: datetime, zone: tzinfo) -> datetime:
    """A local wall-clock reading as a UTC instant.

    An ambiguous reading (clocks going back) is its first occurrence. A reading that does
    not exist (clocks going forward) is the transition instant, the first moment the wall
    clock reads later — so local times map to instants in order, and a period spanning
    the gap is as long as the clock on the wall says, less the skipped hour.
    """
    first = naive.replace(tzinfo=zone).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == naive:
        return first
    lo = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    hi = first
    if lo >= hi:  # pragma: no cover - no zone in tzdata does this
        return hi
    step = timedelta(microseconds=1)
    while hi - lo > step:  # bisection: ~32 steps, and only for a reading inside a gap
        mid = lo + (hi - lo) // 2
        if mid.astimezone(zone).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid
    return hi
