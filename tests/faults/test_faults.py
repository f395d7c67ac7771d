"""Faults on the real stack, at small sizes: a worker SIGKILLed during a burst, PostgreSQL
frozen, Temporal SIGKILLed, SMTP down — and afterwards every request and every message
exists exactly once.

One `csflow up` serves the whole module (its start is the slow part), with its SMTP
receiver down from the start: every acknowledgement of every scenario waits in the outbox
until the last test brings SMTP up. Sizes: CSFLOW_FAULT_BURST requests per burst
(default 30), CSFLOW_FAULT_OUTAGE seconds of PostgreSQL freeze (default 10). The full
sizes are bench/faults.py (docs/performance.md).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

import pytest

from tests.faults.stack import (
    Outcome,
    Stack,
    accepted_once,
    burst,
    mailed_once,
    pause,
    running_stack,
)

pytestmark = [pytest.mark.integration, pytest.mark.stack]

BURST = int(os.environ.get("CSFLOW_FAULT_BURST", "30"))
OUTAGE = float(os.environ.get("CSFLOW_FAULT_OUTAGE", "10"))
everything: list[Outcome] = []


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with running_stack() as s:
        yield s


def test_worker_sigkill_during_a_burst(stack: Stack) -> None:
    before = stack.restarts("worker")
    outcomes = burst(
        stack, "worker-kill", BURST, during=lambda: stack.child("worker").kill(), at=BURST // 3
    )
    everything.extend(outcomes)
    stack.wait_restarted("worker", before)
    accepted_once(stack, outcomes)
    assert stack.up.popen.poll() is None, "csflow up kept serving"
    assert all(c != 0 for o in outcomes for c in o.codes), "the API never refused a caller"


def test_postgres_frozen_for_a_while(stack: Stack) -> None:
    postgres = stack.child("postgres").pid
    freeze = threading.Thread(target=pause, args=(postgres, OUTAGE))
    outcomes = burst(stack, "pg-freeze", max(BURST // 3, 5), parallel=4, during=freeze.start, at=1)
    freeze.join()
    everything.extend(outcomes)
    accepted_once(stack, outcomes)


def test_temporal_sigkill_and_restart(stack: Stack) -> None:
    before = stack.restarts("temporal")
    outcomes = burst(
        stack,
        "temporal-kill",
        max(BURST // 3, 5),
        parallel=4,
        during=lambda: stack.child("temporal").kill(),
        at=2,
    )
    everything.extend(outcomes)
    stack.wait_restarted("temporal", before)
    accepted_once(stack, outcomes)


def test_smtp_down_then_up_every_message_once(stack: Stack) -> None:
    """SMTP was down through every scenario above: nothing was mailed, nothing given up."""
    numbers = {o.number for o in everything if o.number}
    assert numbers, "the scenarios above ran first and created requests"
    time.sleep(2)  # a few retries against the closed port
    assert stack.inbox.messages == []
    stack.smtp_up()
    mailed_once(stack, numbers)
    time.sleep(3)  # later retries (there must be none) would arrive now
    mailed_once(stack, numbers, timeout=0)


def test_no_caller_got_a_server_error() -> None:
    """Through every fault above, a caller never got a server error: 503 (with
    Retry-After) only when nothing was started, so the caller's retry — same external id
    — created the request once (checked by the tests above)."""
    assert everything
    errors = [
        (o.external_id, o.codes) for o in everything if any(c >= 500 and c != 503 for c in o.codes)
    ]
    assert not errors, f"callers got 5xx: {errors}"
