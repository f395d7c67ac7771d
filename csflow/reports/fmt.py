"""Numbers for people: the same spelling on the page, in the terminal and in the tests."""

from __future__ import annotations

NO_DATA = "–"


def pct(x: float | None, digits: int = 1) -> str:
    return NO_DATA if x is None else f"{100 * x:.{digits}f} %"


def num(x: float | None, digits: int = 1) -> str:
    if x is None:
        return NO_DATA
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.{digits}f}"


def duration(seconds: float | None) -> str:
    """Two units at most: '45 s', '12 m', '1 h 30 m', '2 d 3 h'."""
    if seconds is None:
        return NO_DATA
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    m, h, d = s // 60, s // 3600, s // 86400
    if s < 3600:
        return f"{m} m"
    if s < 86400:
        rest = m - 60 * h
        return f"{h} h {rest} m" if rest else f"{h} h"
    rest = h - 24 * d
    return f"{d} d {rest} h" if rest else f"{d} d"


def time_left(seconds: float | None) -> str:
    """Board wording: how long until the deadline, or how long it has been overdue."""
    if seconds is None:
        return NO_DATA
    return f"overdue {duration(-seconds)}" if seconds < 0 else duration(seconds)
