"""bench/week.py at a tiny size: the benchmark runs the real stack end to end, and its own
checks (nothing lost, nothing duplicated) pass. Not a timing test: no figure is asserted
beyond counts the benchmark must get exactly right."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]


def test_a_tiny_compressed_day_loses_and_doubles_nothing() -> None:
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "week.py"),
            *("--per-day", "24", "--days", "1", "--sale-day", "0", "--sale-hour", "11"),
            *("--minutes", "1.5", "--agents", "4", "--drain", "3"),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    out = run.stdout
    assert run.returncode == 0, out[-3000:] + run.stderr[-3000:]
    arrivals = int(re.search(r"^([\d,]+) arrivals", out, re.M)[1].replace(",", ""))  # type: ignore[index]
    assert arrivals > 0
    assert re.search(rf"^requests {arrivals:,}; SLA compliance", out, re.M), out
    assert re.search(rf"accepted {arrivals:,} \(", out), out
    assert "lost/duplicated: none" in out
    # The day's clocks ran: warnings and breaches were recorded and measured.
    fired = re.search(r"firing lateness \(warnings and breaches\): n=(\d+)", out)
    assert fired is not None and int(fired[1]) > 0, out
