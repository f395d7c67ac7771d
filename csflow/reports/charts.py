"""Charts as inline SVG, drawn on the server: no script library, nothing fetched at view time.

The machines this runs on have no internet, and a page that needs a CDN shows nothing
there; a few dozen lines of SVG per chart are enough for bars, stacks and a line. Every
label is escaped here, so templates can insert the markup as-is.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from csflow.reports.fmt import num

SLA_FILL = {"red": "#d32f2f", "yellow": "#f9a825", "green": "#2e7d32", "none": "#9e9e9e"}
BAR_FILL = "#3f6fb5"
FORECAST_FILL = "#e07b39"
_FONT = 'font-family="system-ui, sans-serif" font-size="12"'


def bars(rows: Sequence[tuple[str, float]], *, width: int = 560, unit: str = "") -> str:
    """Horizontal bars, one per (label, value), in the order given."""
    if not rows:
        return _empty(width)
    label_width = min(280, 12 + 7 * max(len(label) for label, _ in rows))
    top = max(v for _, v in rows) or 1.0
    span = width - label_width - 70
    h = 24 * len(rows) + 8
    parts = [_open(width, h, "bar chart")]
    for i, (label, value) in enumerate(rows):
        y = 4 + 24 * i
        w = max(1.0, span * value / top) if value else 0.0
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 15}" text-anchor="end" {_FONT}>'
            f"{escape(label)}</text>"
            f'<rect x="{label_width}" y="{y + 3}" width="{w:.1f}" height="16" '
            f'fill="{BAR_FILL}"><title>{escape(label)}: {num(value)}{unit}</title></rect>'
            f'<text x="{label_width + w + 6:.1f}" y="{y + 15}" {_FONT}>{num(value)}{unit}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def stacked(
    rows: Sequence[tuple[str, Sequence[tuple[str, int]]]],
    *,
    width: int = 560,
    label_width: int = 60,
) -> str:
    """One bar per row, split into SLA colours: [(label, [(colour, count), ...])]."""
    if not rows:
        return _empty(width)
    top = max(sum(n for _, n in segs) for _, segs in rows) or 1
    span = width - label_width - 50
    h = 28 * len(rows) + 8
    parts = [_open(width, h, "requests by SLA colour")]
    for i, (label, segs) in enumerate(rows):
        y, x = 4 + 28 * i, float(label_width)
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 17}" text-anchor="end" {_FONT}>'
            f"{escape(label)}</text>"
        )
        for colour, n in segs:
            if n <= 0:
                continue
            w = span * n / top
            parts.append(
                f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="20" '
                f'fill="{SLA_FILL.get(colour, SLA_FILL["none"])}" '
                f'data-colour="{escape(colour)}"><title>{escape(label)} '
                f"{escape(colour)}: {n}</title></rect>"
            )
            x += w
        parts.append(f'<text x="{x + 6:.1f}" y="{y + 17}" {_FONT}>{sum(n for _, n in segs)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def line(
    history: Sequence[float], forecast: Sequence[float], *, width: int = 560, height: int = 160
) -> str:
    """History (blue) continued by the forecast (orange, dashed) on one day axis."""
    values = [*history, *forecast]
    if not values:
        return _empty(width)
    top = max(values) or 1.0
    n = len(values)
    step = (width - 40) / max(1, n - 1)

    def pt(i: int, v: float) -> str:
        return f"{20 + i * step:.1f},{height - 20 - (height - 40) * v / top:.1f}"

    hist = " ".join(pt(i, v) for i, v in enumerate(history))
    start = max(0, len(history) - 1)
    joined = ([history[-1]] if history else []) + list(forecast)
    fc = " ".join(pt(start + i, v) for i, v in enumerate(joined))
    return (
        f"{_open(width, height, 'history and forecast')}"
        f'<line x1="20" y1="{height - 20}" x2="{width - 20}" y2="{height - 20}" '
        f'stroke="#bbb"/>'
        f'<polyline points="{hist}" fill="none" stroke="{BAR_FILL}" stroke-width="2"/>'
        f'<polyline points="{fc}" fill="none" stroke="{FORECAST_FILL}" stroke-width="2" '
        f'stroke-dasharray="5,3"/>'
        f'<text x="20" y="14" {_FONT}>max {num(top)}/day</text></svg>'
    )


MARK_FILL = {"holiday": "#fdecea", "makeup": "#fff6d6", "campaign": "#e8f0fe"}


def band(
    history: Sequence[float],
    forecast: Sequence[float],
    lower: Sequence[float],
    upper: Sequence[float],
    marks: Sequence[str | None],
    *,
    width: int = 720,
    height: int = 200,
) -> str:
    """History, then the forecast inside its band (shaded), with each forecast day that
    is a holiday, make-up working day or campaign day tinted behind it."""
    values = [*history, *forecast, *upper]
    if not values:
        return _empty(width)
    top = max(values) or 1.0
    n = len(history) + len(forecast)
    step = (width - 40) / max(1, n - 1)

    def x(i: int) -> float:
        return 20 + i * step

    def y(v: float) -> float:
        return height - 20 - (height - 40) * v / top

    parts = [_open(width, height, "forecast with its band")]
    for j, mark in enumerate(marks):
        if mark:
            i = len(history) + j
            parts.append(
                f'<rect x="{x(i) - step / 2:.1f}" y="14" width="{step:.1f}" '
                f'height="{height - 34}" fill="{MARK_FILL.get(mark, "#eee")}" '
                f'data-mark="{escape(mark)}"><title>{escape(mark)}</title></rect>'
            )
    start = len(history)
    upper_pts = [f"{x(start + j):.1f},{y(v):.1f}" for j, v in enumerate(upper)]
    lower_pts = [f"{x(start + j):.1f},{y(v):.1f}" for j, v in enumerate(lower)][::-1]
    if upper_pts:
        parts.append(
            f'<polygon points="{" ".join(upper_pts + lower_pts)}" '
            f'fill="{FORECAST_FILL}" fill-opacity="0.18" stroke="none"/>'
        )
    hist = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(history))
    joined = ([history[-1]] if history else []) + list(forecast)
    first = max(0, start - 1) if history else 0
    fc = " ".join(f"{x(first + i):.1f},{y(v):.1f}" for i, v in enumerate(joined))
    parts.append(
        f'<line x1="20" y1="{height - 20}" x2="{width - 20}" y2="{height - 20}" '
        f'stroke="#bbb"/>'
        f'<polyline points="{hist}" fill="none" stroke="{BAR_FILL}" stroke-width="2"/>'
        f'<polyline points="{fc}" fill="none" stroke="{FORECAST_FILL}" stroke-width="2" '
        f'stroke-dasharray="5,3"/>'
        f'<text x="20" y="12" {_FONT}>max {num(top)}/day · shaded: 80 % band</text></svg>'
    )
    return "".join(parts)


def _open(width: int, height: int, label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}">'
    )


def _empty(width: int) -> str:
    return f'{_open(width, 30, "no data")}<text x="4" y="20" {_FONT}>no data</text></svg>'
