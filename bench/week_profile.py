"""bench/week.py's week: when requests arrive, and the policy on its compressed clock.

Arrivals follow a weekday profile and an hourly one (quiet nights, a late-morning and an
afternoon peak), Poisson within each hour, with the sale hour at 10× its normal rate;
the policy is the default one with every clock divided by the compression.
"""

from __future__ import annotations

import argparse
import random

DAY = 86400.0
HOUR = 3600.0
# Share of a weekday's volume in each hour (sums to 1): quiet nights, a late-morning and
# an afternoon peak, evenings still busy (online shop).
HOURLY = [
    0.010, 0.006, 0.004, 0.004, 0.005, 0.008, 0.015, 0.030, 0.055, 0.075, 0.080, 0.075,
    0.060, 0.065, 0.075, 0.075, 0.065, 0.055, 0.045, 0.045, 0.050, 0.045, 0.032, 0.021,
]  # fmt: skip
WEEKDAY = [1.10, 1.05, 1.00, 1.00, 1.05, 0.90, 0.90]  # Monday … Sunday; mean 1.0
NAMES = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
PRIORITIES = [("P1", 0.05), ("P2", 0.20), ("P3", 0.75)]


def seconds_text(seconds: float) -> str:
    return f"{max(1, round(seconds))}s"


def policy_text(compression: float) -> str:
    """The default policy's clocks divided by `compression`, all counted in wall time."""

    def c(text_seconds: float) -> str:
        return f'"{seconds_text(text_seconds / compression)}"'

    m, h = 60.0, 3600.0
    sla = {
        "P1": (15 * m, 1 * h, 2 * h, 6 * h),
        "P2": (30 * m, 1 * h, 4 * h, 6 * h),
        "P3": (2 * h, 2 * h, 24 * h, 24 * h),
    }
    out = []
    for p, (fr, plan, res, cad) in sla.items():
        out.append(
            f"[sla.{p}]\nfirst_response = {c(fr)}\nplan = {c(plan)}\n"
            f"resolution = {c(res)}\nprogress_cadence = {c(cad)}\n"
        )
    out.append(f"[channels.social]\nfirst_response = {c(2 * h)}\n")
    out.append(f"[channels.email]\nfirst_response = {c(24 * h)}\n")
    for p, steps in {
        "P1": ((15 * m, '["supervisor"]', '["sms"]', "notify"),
               (30 * m, '["director"]', '["sms"]', "director_takeover")),
        "P2": ((1 * h, '["department_head"]', '["email"]', "notify"),
               (2 * h, '["director"]', '["email"]', "director_takeover")),
        "P3": ((4 * h, "[]", '["board"]', "mark_delayed"),
               (8 * h, '["director"]', '["email"]', "director_takeover")),
    }.items():  # fmt: skip
        for after, notify, channels, action in steps:
            out.append(
                f"[[escalation.{p}]]\nafter = {c(after)}\nnotify = {notify}\n"
                f'channels = {channels}\naction = "{action}"\n'
            )
    out.append(f"[follow_up]\nvip = {c(24 * h)}\nmajor = {c(24 * h)}\nroutine = {c(72 * h)}\n")
    out.append(f"[confirmation]\nwindow = {c(72 * h)}\n")
    return "\n".join(out)


def arrivals(args: argparse.Namespace, rng: random.Random) -> list[tuple[float, str]]:
    """(simulated seconds from Monday 00:00, priority) for the whole week, sorted."""
    out: list[tuple[float, str]] = []
    for d in range(args.days):
        for h in range(24):
            rate = args.per_day * WEEKDAY[d % 7] * HOURLY[h]
            if d == args.sale_day and h == args.sale_hour:
                rate *= 10
            t = 0.0
            while True:  # Poisson process within the hour
                t += rng.expovariate(rate / HOUR) if rate > 0 else HOUR
                if t >= HOUR:
                    break
                pr = rng.choices([p for p, _ in PRIORITIES], [w for _, w in PRIORITIES])[0]
                out.append((d * DAY + h * HOUR + t, pr))
    out.sort()
    return out
