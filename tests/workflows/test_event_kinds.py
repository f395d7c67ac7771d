"""Timeline event kinds are one vocabulary: what the workflow writes, what the notification
planner reacts to and what the report queries count are all EventKind values."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from csflow.domain.clocks import FiringKind
from csflow.domain.events import EventKind, sql_list
from csflow.notify import planner

ROOT = Path(__file__).resolve().parents[2]
# `kind = 'x'`, `kind <> 'x'` and `kind IN ('x', 'y')` in SQL text, with any table alias.
_EQ = re.compile(r"\bkind\s*(?:=|<>)\s*'([a-z_]+)'")
_IN = re.compile(r"\bkind\s+IN\s*\(([^)]*)\)")


def _sql_kinds(text: str) -> set[str]:
    found = set(_EQ.findall(text))
    for group in _IN.findall(text):
        found |= set(re.findall(r"'([a-z_]+)'", group))
    return found


@pytest.mark.parametrize(
    "path",
    sorted(
        [
            *ROOT.joinpath("csflow", "reports").glob("*.py"),
            *ROOT.joinpath("csflow", "store").glob("*.py"),
        ]
    ),
    ids=lambda p: p.name,
)
def test_every_kind_a_query_names_is_an_event_kind(path: Path) -> None:
    unknown = _sql_kinds(path.read_text(encoding="utf-8")) - {k.value for k in EventKind}
    assert not unknown, f"{path.name} counts kinds no event has: {sorted(unknown)}"


def test_the_scanner_finds_literal_kinds() -> None:
    sql = "WHERE e.kind = 'received' AND p.kind IN ('closed', 'nonsense')"
    assert _sql_kinds(sql) == {"received", "closed", "nonsense"}


def test_the_planner_reacts_only_to_event_kinds() -> None:
    for table in (planner._CUSTOMER, planner._ASSIGNEE):
        assert all(isinstance(k, EventKind) for k in table)
    assert all(isinstance(k, EventKind) for k in planner._ROLE_ALERTS)


def test_firings_keep_the_clock_engines_names() -> None:
    assert {k.value for k in FiringKind} <= {k.value for k in EventKind}
    assert sql_list(EventKind.CLOSED, EventKind.CANCELLED) == "('closed', 'cancelled')"
