"""Holiday lists from a library, turned into calendar DATA at the edge.

The only module that imports a holiday library. Workers and the API call it when they
load the policy; the lists it returns travel inside each workflow's input
(`BusinessCalendar`), so upgrading the library changes new requests, never a replay.

Library: `chinese-calendar` (PyPI `chinese-calendar`, import `chinese_calendar`). It is
built from the State Council's yearly notices and, unlike a rule-based library, it knows
the make-up working days (调休) — which cannot be computed, only announced. It covers the
years in `LIBRARY_YEARS` (2004–2026 in version 1.11.0) and refuses other years rather
than guess. A year it does not cover gets weekends only, plus the policy's overrides —
which is how an organisation adds next year's notice before the library has it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import chinese_calendar  # type: ignore[import-untyped]  # ships no type information

from csflow.domain.calendar import BusinessCalendar, CalendarOverrides
from csflow.domain.policy import CalendarPolicy

_HOLIDAYS: dict[date, object] = chinese_calendar.holidays
_WORKDAYS: dict[date, object] = chinese_calendar.workdays
_VERSION: str = chinese_calendar.__version__


def _library_years() -> range:
    known = [*_HOLIDAYS, *_WORKDAYS]
    return range(min(known).year, max(known).year + 1)


LIBRARY_YEARS: range = _library_years()


class CalendarDataMissing(Exception):
    """Years asked for strictly that the library has no notice for."""


def uncovered_years(years: Iterable[int]) -> list[int]:
    """Years the library knows nothing about — worth a warning at start-up."""
    return [y for y in years if y not in LIBRARY_YEARS]


def china_days(
    years: Iterable[int], *, strict: bool = False
) -> tuple[frozenset[date], frozenset[date]]:
    """(public holidays, make-up working days) of mainland China for `years`."""
    wanted = set(years)
    if strict and (missing := uncovered_years(sorted(wanted))):
        raise CalendarDataMissing(
            f"chinese-calendar {_VERSION} has no holiday notice for "
            f"{', '.join(map(str, missing))} (it covers {LIBRARY_YEARS.start}–"
            f"{LIBRARY_YEARS.stop - 1}); add the days under [calendar.overrides]"
        )
    holidays = frozenset(d for d in _HOLIDAYS if d.year in wanted)
    workdays = frozenset(d for d in _WORKDAYS if d.year in wanted)
    return holidays, workdays


def china_calendar(
    years: Iterable[int],
    overrides: CalendarOverrides | None = None,
    *,
    settings: CalendarPolicy | None = None,
    strict: bool = False,
) -> BusinessCalendar:
    """China's calendar for `years` with `overrides` applied last.

    `settings` supplies time zone, working hours and weekend (defaults: Asia/Shanghai,
    09:00–12:00 + 13:00–18:00, Saturday and Sunday); its own overrides are replaced by
    `overrides` when that is given.
    """
    spec = settings or CalendarPolicy()
    if overrides is not None:
        spec = spec.model_copy(update={"overrides": overrides})
    return spec.calendar(*china_days(years, strict=strict))


def build_calendar(
    spec: CalendarPolicy, today: date, *, strict: bool = False, team: str | None = None
) -> BusinessCalendar:
    """The calendar the policy describes (a team's, if named), for the years around
    `today` — the one call the worker and the API make."""
    years = spec.years(today)
    if spec.holiday_source(team) == "none":
        return spec.calendar(frozenset(), frozenset(), team=team)
    return spec.calendar(*china_days(years, strict=strict), team=team)
