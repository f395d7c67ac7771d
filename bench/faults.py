"""Fault benchmarks at full size on a real `csflow up` (docs/performance.md, "Faults").

The fault suite (tests/faults) runs the same faults at CI sizes; this script runs them at
the sizes production cares about and prints the figures: how many requests, how long,
what callers saw (accepted, refused, 5xx, retries), and how long until every request and
every message was accounted for — exactly once. It exits 1 if anything is missing or
doubled.

    python -m bench.faults worker-kill --requests 10000 --kills 2
    python -m bench.faults postgres --outage 600 --requests 500
    python -m bench.faults temporal --requests 500
    python -m bench.faults smtp --outage 600 --requests 500

The stack is started fresh in a temporary folder each run, with customer email going to
an SMTP receiver in this process that stays down for `--outage` seconds in the `smtp`
scenario (and from the start until the checks in every other one).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tests.faults.stack import (
    Outcome,
    Stack,
    accepted_once,
    burst,
    log_dir,
    mailed_once,
    pause,
    running_stack,
)


def _killer(stack: Stack, name: str, kills: int, every: float) -> Any:
    def run() -> None:
        for k in range(kills):
            if k:
                time.sleep(every)
            before = stack.restarts(name)
            stack.child(name).kill()
            stack.wait_restarted(name, before, timeout=300)

    return run


def _server_errors(logs: Path, most: int = 8) -> list[str]:
    """The first error-level lines of the API's log (what a 5xx answer left behind),
    cut to 300 characters: the figures then say why a caller saw a server error."""
    found: list[str] = []
    api = logs / "api.log"
    if not api.exists():
        return found
    for line in api.read_text(errors="replace").splitlines():
        if '"level": "error"' in line and "Future exception was never retrieved" not in line:
            found.append(line[:300])
            if len(found) >= most:
                break
    return found


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("scenario", choices=["worker-kill", "postgres", "temporal", "smtp"])
    p.add_argument("--requests", type=int, default=10_000)
    p.add_argument("--parallel", type=int, default=16, help="callers at a time")
    p.add_argument("--outage", type=float, default=600.0, help="seconds (postgres, smtp)")
    p.add_argument("--kills", type=int, default=2, help="worker-kill: SIGKILLs in the burst")
    args = p.parse_args(argv)

    with running_stack(retry_within="PT2H") as stack:
        started = time.monotonic()
        during: Any = None
        at = max(args.requests // 10, 1)
        if args.scenario == "worker-kill":
            gap = 20.0
            during = _killer(stack, "worker", args.kills, gap)
        elif args.scenario == "temporal":
            during = _killer(stack, "temporal", 1, 0)
        elif args.scenario == "postgres":
            freeze = threading.Thread(target=pause, args=(stack.child("postgres").pid, args.outage))
            during = freeze.start
        outcomes: list[Outcome] = burst(
            stack,
            f"bench-{args.scenario}",
            args.requests,
            parallel=args.parallel,
            during=during,
            at=at,
        )
        burst_s = time.monotonic() - started
        if args.scenario == "smtp":  # SMTP has been down since the start
            time.sleep(max(args.outage - burst_s, 0))
        check_started = time.monotonic()
        accepted_once(stack, outcomes, timeout=max(600.0, args.outage))
        rows_s = time.monotonic() - check_started
        smtp_down_s = time.monotonic() - started
        stack.smtp_up()
        mail_started = time.monotonic()
        numbers = {o.number for o in outcomes if o.number}
        mailed_once(stack, numbers, timeout=max(1200.0, args.requests * 0.5))
        mail_s = time.monotonic() - mail_started
        server_errors = _server_errors(log_dir(stack))

    codes = Counter(c for o in outcomes for c in o.codes)
    figures = {
        "scenario": args.scenario,
        "requests": args.requests,
        "parallel": args.parallel,
        "outage_s": args.outage if args.scenario in ("postgres", "smtp") else None,
        "kills": args.kills if args.scenario == "worker-kill" else None,
        "burst_s": round(burst_s, 1),
        "throughput_per_s": round(args.requests / burst_s, 1),
        "answers": {str(k): v for k, v in sorted(codes.items())},  # 0 = no answer
        "callers_retrying": sum(1 for o in outcomes if len(o.codes) > 1),
        "callers_with_5xx": sum(1 for o in outcomes if any(c >= 500 for c in o.codes)),
        "all_rows_and_workflows_once_after_s": round(rows_s, 1),
        "smtp_down_s": round(smtp_down_s, 1),
        "all_acknowledgements_mailed_once_after_s": round(mail_s, 1),
        "server_errors": server_errors,
    }
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
