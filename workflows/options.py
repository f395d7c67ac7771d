"""Activity timeouts and retry policies, tuned from docs/temporal-notes.md.

Short start-to-close timeouts bound recovery after a worker is killed mid-activity; a
10 s ceiling on retry backoff means a database that comes back is used within seconds
instead of waiting out the SDK's default 100 s interval. Persistence retries without
limit: a request whose row cannot be written is stuck visibly (pending activity, last
failure in the UI), never failed and never silently unpersisted.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

PERSIST_TIMEOUT = timedelta(seconds=10)
PERSIST_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=500),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=10),
)

ASSIGN_TIMEOUT = timedelta(seconds=10)
ASSIGN_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=10),
)

# Releasing an assignment also drains the queue and tells each request it was assigned.
RELEASE_TIMEOUT = timedelta(seconds=60)

# Notifications: a send attempt is short. While every channel is down the activity itself
# raises with the next delay and gives up (marks the message failed, alerts ops) at the end
# of the window configured for the worker ([retry] in the notify config, default 24 h,
# at most 6 days); the schedule-to-close here is only a ceiling beyond any such window,
# and the policy's intervals apply to other errors (a database blip, an attempt that timed
# out on a saturated worker) — 1 s up to 10 s. The ceiling was 5 minutes: an attempt that
# timed out after ten outage retries then waited 5 minutes, so a message could arrive
# minutes after its channel had returned (seen in the fault suite under load). The
# retry policy is not part of the workflow's commands, so histories replay unchanged.
NOTIFY_TIMEOUT = timedelta(seconds=30)
NOTIFY_WITHIN = timedelta(days=7)
NOTIFY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=10)
)
