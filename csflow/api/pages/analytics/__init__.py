"""Templates of the analytics pages (board, reports, forecast), with their number filters.

Autoescaped: every value from the database is text until a template says otherwise, and
only the server-drawn SVG charts (escaped where they are drawn) are marked safe.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from csflow.reports import fmt

PAGES = Environment(
    loader=FileSystemLoader(Path(__file__).parent), autoescape=select_autoescape(["html"])
)
PAGES.filters.update(pct=fmt.pct, num=fmt.num, duration=fmt.duration, time_left=fmt.time_left)
