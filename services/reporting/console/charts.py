"""The console's inline SVG charts, drawn like the scorecard's (`render/svg.py`): a KPI's
12-period sparkline, the grade distribution of a closed period, and dead letters per hour.
Every text is escaped; nothing is fetched."""

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from html import escape
from typing import Final

from ..render.svg import EXCELLENT, HIGHLIGHT, QUALIFIED, Axis, svg_text

NEEDS_IMPROVEMENT: Final = "#cf222e"
# Reasons keep their colour from chart to chart; one not listed takes the last.
REASON_COLOURS: Final = (
    "#0b5cad", "#cf222e", "#9a6700", "#1a7f37", "#8250df", "#bc4c00", "#57606a", "#1b7c83",
    "#a40e26", "#6e7781",
)  # fmt: skip


def sparkline_svg(values: Sequence[Decimal | None], *, title: str) -> str:
    """A line over the values (oldest first), broken where one is missing, the last one dotted;
    scaled to the values' own range."""
    width, height, pad = 120, 30, 3.0
    known = [v for v in values if v is not None]
    parts = [
        f'<svg class="sparkline" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    if not known or len(values) < 2:
        parts.append(f'<line x1="0" y1="{height / 2}" x2="{width}" y2="{height / 2}" '
                     'stroke="#d0d7de" stroke-dasharray="2 3"/></svg>')  # fmt: skip
        return "".join(parts)
    low, high = min(known), max(known)
    if low == high:
        low, high = low - 1, high + 1
    y_axis = Axis(low, high, height - pad, pad)
    step = (width - 2 * pad) / (len(values) - 1)
    runs: list[list[str]] = [[]]
    last: tuple[float, float] | None = None
    for index, value in enumerate(values):
        if value is None:
            runs.append([])
            continue
        x, y = round(pad + step * index, 2), y_axis.at(value)
        runs[-1].append(f"{x},{y}")
        last = (x, y)
    for run in runs:
        if len(run) > 1:
            parts.append(
                f'<polyline points="{" ".join(run)}" fill="none" stroke="{HIGHLIGHT}" '
                'stroke-width="1.5"/>'
            )
    if last is not None:
        parts.append(f'<circle cx="{last[0]}" cy="{last[1]}" r="2.5" fill="{HIGHLIGHT}"/>')
    parts.append("</svg>")
    return "".join(parts)


def grade_bars_svg(counts: Sequence[tuple[str, str, int]], *, title: str) -> str:
    """Horizontal bars, one per grade: (css name, label, count)."""
    colours = {
        "excellent": EXCELLENT,
        "qualified": QUALIFIED,
        "needs_improvement": NEEDS_IMPROVEMENT,
    }
    width, row, left, right = 420, 26, 150.0, 380.0
    height = row * len(counts) + 6
    most = max([c for _, _, c in counts] + [1])
    axis = Axis(Decimal(0), Decimal(most), left, right)
    parts = [
        f'<svg class="chart grade-bars" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for index, (grade, label, count) in enumerate(counts):
        y = 4 + index * row
        bar = round(axis.at(Decimal(count)) - left, 2)
        parts.append(svg_text(left - 6, y + 15, label, size=11, anchor="end"))
        parts.append(
            f'<rect class="bar" data-grade="{escape(grade)}" x="{left}" y="{y + 3}" '
            f'width="{bar}" height="{row - 8}" fill="{colours.get(grade, HIGHLIGHT)}"/>'
        )
        parts.append(svg_text(left + bar + 5, y + 15, str(count), size=11))
    parts.append("</svg>")
    return "".join(parts)


def reason_colour(reasons: Sequence[str], reason: str) -> str:
    """The colour of a reason in the legend and the bars."""
    index = reasons.index(reason) if reason in reasons else len(REASON_COLOURS) - 1
    return REASON_COLOURS[min(index, len(REASON_COLOURS) - 1)]


def hourly_bars_svg(
    hours: Sequence[tuple[datetime, Mapping[str, int]]], reasons: Sequence[str], *, title: str
) -> str:
    """Stacked bars of letters per hour, by reason, hours oldest first (those given only)."""
    width, height, left, right, top, bottom = 640, 190, 36.0, 630.0, 8.0, 160.0
    most = max([sum(counts.values()) for _, counts in hours] + [1])
    y_axis = Axis(Decimal(0), Decimal(most), bottom, top)
    parts = [
        f'<svg class="chart hourly-bars" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#57606a"/>',
        svg_text(left - 4, top + 4, str(most), size=9, anchor="end"),
        svg_text(left - 4, bottom, "0", size=9, anchor="end"),
    ]
    if not hours:
        parts.append("</svg>")
        return "".join(parts)
    slot = (right - left) / len(hours)
    label_every = max(1, len(hours) // 8)
    for index, (hour, counts) in enumerate(hours):
        x = round(left + slot * index + slot * 0.1, 2)
        base = Decimal(0)
        tip = f"{hour:%Y-%m-%d %H:00} UTC: " + ", ".join(f"{r} {c}" for r, c in counts.items())
        parts.append(f"<g><title>{escape(tip)}</title>")
        for reason in reasons:
            count = counts.get(reason, 0)
            if not count:
                continue
            y_top, y_base = y_axis.at(base + count), y_axis.at(base)
            parts.append(
                f'<rect x="{x}" y="{y_top}" width="{round(slot * 0.8, 2)}" '
                f'height="{round(y_base - y_top, 2)}" fill="{reason_colour(reasons, reason)}"/>'
            )
            base += count
        parts.append("</g>")
        if index % label_every == 0:
            parts.append(svg_text(x, bottom + 14, f"{hour:%m-%d %H:00}", size=9))
    parts.append("</svg>")
    return "".join(parts)
