"""The time of receipt a caller may give: a request recorded elsewhere (an outage log, a
service in another language) keeps its own timestamp, within one rule shared by every
edge that takes one."""

from __future__ import annotations

from datetime import datetime, timedelta

# Clocks of the machines that recorded a request may run a little ahead of ours; a receipt
# further ahead is a mistake (a mistyped year) and would start SLA clocks not begun yet.
FUTURE_SKEW = timedelta(minutes=5)


def in_the_future(received_at: datetime, now: datetime) -> bool:
    return received_at > now + FUTURE_SKEW
