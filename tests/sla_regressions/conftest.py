"""The workflow harness of tests/workflows, and calendars pinned to the virtual clock.

Time-skipping starts each request's clock at the real present, so a case that needs
"09:xx on a working morning" gets a calendar in the fixed-offset zone where it is 09:xx
right now (`zone_at`): the scenario is the same whenever the suite runs.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.workflows.conftest import harness  # noqa: F401  (the fixture, reused as is)


def zone_at(hour: int, instant: datetime) -> str:
    """An IANA fixed-offset zone ("Etc/GMT-8" is UTC+8) where `instant` falls in `hour`."""
    offset = (hour - instant.astimezone(UTC).hour + 12) % 24 - 12  # -12 … +11
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


def start_instant() -> datetime:
    """Two seconds from now, whole seconds, never exactly on the hour (a boundary case
    that would change which side of a working period a deadline lands on)."""
    t0 = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    return t0 + timedelta(seconds=1) if t0.minute == t0.second == 0 else t0
