"""The two charts of the HTML scorecard as inline SVG, drawn in Python: the peers' quadrant
scatter and the final-score trend. Values stay Decimal until they become coordinates; every
text goes through `html.escape`. No script, no external reference: the SVG prints as it is."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from html import escape
from typing import Final

from .labels import quadrant_name, ui
from .numbers import score
from .page import Language, QuadrantChart, TrendPoint, text_in

HIGHLIGHT: Final = "#0b5cad"
PEER: Final = "#9aa4ae"
SPLIT: Final = "#57606a"
EXCELLENT: Final = "#1a7f37"
QUALIFIED: Final = "#9a6700"
FONT: Final = 'font-family="inherit"'
_NAME_STYLE: Final = ' class="quadrant-name" fill="#57606a"'


@dataclass(frozen=True, slots=True)
class Axis:
    """A linear map from a value range onto a pixel range (the console's charts use it too)."""

    low: Decimal
    high: Decimal
    start: float
    end: float

    def at(self, value: Decimal) -> float:
        share = (value - self.low) / (self.high - self.low)
        return round(self.start + float(share) * (self.end - self.start), 2)


def _nice_range(values: Sequence[Decimal]) -> tuple[Decimal, Decimal, Decimal]:
    """A range holding every value, widened out to round steps (1, 2 or 5 × 10ⁿ, about four
    steps end to end), and the step: the axis then reads 80.00%, 85.00%, 90.00%, …"""
    low, high = min(values), max(values)
    span = high - low
    if span == 0:
        span = abs(high) / 5 or Decimal(1)
        low, high = low - span / 2, high + span / 2
    raw = span / 4
    magnitude = Decimal(1).scaleb(raw.adjusted())
    step = next(
        m * magnitude
        for m in (Decimal(1), Decimal(2), Decimal(5), Decimal(10))
        if m * magnitude >= raw
    )
    start = (low / step).to_integral_value(rounding=ROUND_FLOOR) * step
    stop = (high / step).to_integral_value(rounding=ROUND_CEILING) * step
    # Keep points off the frame: a value within a fifth of a step of an end widens it.
    if low - start < step / 5:
        start -= step / 2
    if stop - high < step / 5:
        stop += step / 2
    return start, stop, step


def _ticks(low: Decimal, high: Decimal, step: Decimal) -> list[Decimal]:
    first = (low / step).to_integral_value(rounding=ROUND_CEILING) * step
    count = int((high - first) / step) + 1
    return [first + step * i for i in range(count)]


def svg_text(
    x: float, y: float, text: str, *, size: int = 10, anchor: str = "start", extra: str = ""
) -> str:
    """A `<text>` element, its text escaped; `extra` is more attributes, written as given."""
    return (
        f'<text x="{x}" y="{y}" font-size="{size}" text-anchor="{anchor}" {FONT}{extra}>'
        f"{escape(text)}</text>"
    )


def quadrant_svg(
    chart: QuadrantChart,
    *,
    entity: str,
    x_name: str,
    y_name: str,
    tick: Callable[[str, Decimal], str],
    language: Language,
) -> str:
    """The peers on the two axis KPIs, split at the targets, `entity` highlighted.

    `tick(kpi, value)` writes an axis value in the KPI's unit (e.g. 90.00%).
    """
    width, height = 360, 246
    left, right, top, bottom = 58.0, 336.0, 8.0, 200.0
    xs = [p.x for p in chart.points] + [chart.x_split]
    ys = [p.y for p in chart.points] + [chart.y_split]
    x_low, x_high, x_step = _nice_range(xs)
    y_low, y_high, y_step = _nice_range(ys)
    x_axis = Axis(x_low, x_high, left, right)
    y_axis = Axis(y_low, y_high, bottom, top)
    sx, sy = x_axis.at(chart.x_split), y_axis.at(chart.y_split)
    title = f"{ui('quadrant', language)}: {x_name} × {y_name}"
    parts = [
        f'<svg class="chart quadrant-chart" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<rect x="{left}" y="{top}" width="{right - left}" height="{bottom - top}" '
        'fill="#fbfcfd" stroke="#d0d7de"/>',
        # The top-right quadrant (both high) is tinted: where the stars sit.
        f'<rect x="{sx}" y="{top}" width="{round(right - sx, 2)}" height="{round(sy - top, 2)}" '
        'fill="#e9f5ec"/>',
        f'<line class="split" x1="{sx}" y1="{top}" x2="{sx}" y2="{bottom}" stroke="{SPLIT}" '
        'stroke-dasharray="4 3"/>',
        f'<line class="split" x1="{left}" y1="{sy}" x2="{right}" y2="{sy}" stroke="{SPLIT}" '
        'stroke-dasharray="4 3"/>',
    ]
    corners = {
        (False, True): (left + 4, top + 12, "start"),
        (True, True): (right - 4, top + 12, "end"),
        (False, False): (left + 4, bottom - 6, "start"),
        (True, False): (right - 4, bottom - 6, "end"),
    }
    for (right_half, top_half), (cx, cy, anchor) in corners.items():
        labels = chart.names.get((right_half, top_half))
        name = (
            text_in(labels, language)
            if labels is not None
            else quadrant_name(x_name, y_name, right_half, top_half, language)
        )
        parts.append(
            svg_text(
                cx, cy, name, size=9, anchor=anchor, extra=' class="quadrant-name" fill="#57606a"'
            )
        )
    # Round ticks, and the split (the target) itself; a tick too close to the split is left out.
    parts.append(
        svg_text(sx, bottom + 12, tick(chart.x_kpi, chart.x_split), size=9, anchor="middle")
    )
    for value in _ticks(x_low, x_high, x_step):
        x = x_axis.at(value)
        if abs(x - sx) > 42:
            parts.append(
                svg_text(x, bottom + 12, tick(chart.x_kpi, value), size=9, anchor="middle")
            )
    parts.append(svg_text(left - 4, sy + 3, tick(chart.y_kpi, chart.y_split), size=9, anchor="end"))
    for value in _ticks(y_low, y_high, y_step):
        y = y_axis.at(value)
        if abs(y - sy) > 12:
            parts.append(svg_text(left - 4, y + 3, tick(chart.y_kpi, value), size=9, anchor="end"))
    parts.append(svg_text((left + right) / 2, height - 12, x_name, size=11, anchor="middle"))
    parts.append(
        svg_text(
            14,
            (top + bottom) / 2,
            y_name,
            size=11,
            anchor="middle",
            extra=f' transform="rotate(-90 14 {(top + bottom) / 2})"',
        )
    )
    # Peers first, this entity last, so it is drawn on top.
    ordered = sorted(chart.points, key=lambda p: p.entity == entity)
    for point in ordered:
        x, y = x_axis.at(point.x), y_axis.at(point.y)
        tip = f"{point.entity}: {tick(chart.x_kpi, point.x)}, {tick(chart.y_kpi, point.y)}"
        if point.entity == entity:
            parts.append(
                f'<g class="this-entity" data-entity="{escape(point.entity)}">'
                f"<title>{escape(tip)}</title>"
                f'<circle cx="{x}" cy="{y}" r="7" fill="{HIGHLIGHT}" stroke="#fff" '
                'stroke-width="2"/>' + _label_beside(x, y, point.entity, left, right) + "</g>"
            )
        else:
            parts.append(
                f'<circle class="peer" cx="{x}" cy="{y}" r="4" fill="{PEER}" fill-opacity="0.85">'
                f"<title>{escape(tip)}</title></circle>"
            )
    if not chart.points:
        parts.append(
            svg_text(
                (left + right) / 2, (top + bottom) / 2, ui("no_peers", language), anchor="middle"
            )
        )
    parts.append("</svg>")
    return "".join(parts)


def _label_beside(x: float, y: float, text: str, left: float, right: float) -> str:
    anchor, dx = ("end", -10.0) if x > (left + right) / 2 else ("start", 10.0)
    return svg_text(
        round(x + dx, 2),
        round(y + 4, 2),
        text,
        size=10,
        anchor=anchor,
        extra=f' font-weight="bold" fill="{HIGHLIGHT}"',
    )


def trend_svg(
    points: Sequence[TrendPoint],
    *,
    excellent: str,
    qualified: str,
    language: Language,
) -> str:
    """The final score over the periods (oldest first), with the 80 and 90 grade lines."""
    width, height = 420, 246
    left, right, top, bottom = 30.0, 352.0, 10.0, 198.0
    scores = [p.final_score for p in points]
    low = min([Decimal(60), *scores])
    low = (low // 10) * 10  # down to a round ten, so the gridlines fall on tens
    y_axis = Axis(low, Decimal(100), bottom, top)
    title = ui("trend_chart", language, n=len(points))
    parts = [
        f'<svg class="chart trend-chart" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for value in range(int(low), 101, 10):
        y = y_axis.at(Decimal(value))
        parts.append(
            f'<line x1="{left}" y1="{y}" x2="{right}" y2="{y}" stroke="#eaeef2"/>'
            + svg_text(left - 4, y + 3, str(value), size=9, anchor="end")
        )
    # The grade lines are named in the right margin, where no point can cover the name.
    for mark, colour, name in ((90, EXCELLENT, excellent), (80, QUALIFIED, qualified)):
        y = y_axis.at(Decimal(mark))
        parts.append(
            f'<line class="grade-line" data-grade-line="{mark}" x1="{left}" y1="{y}" '
            f'x2="{right}" y2="{y}" stroke="{colour}" stroke-dasharray="5 3"/>'
            + svg_text(right + 4, y + 3, name, size=9, extra=f' fill="{colour}" font-weight="bold"')
        )
    if not points:
        parts.append(
            svg_text(
                (left + right) / 2, (top + bottom) / 2, ui("no_trend", language), anchor="middle"
            )
        )
        parts.append("</svg>")
        return "".join(parts)
    step = (right - left) / len(points)
    xs = [round(left + step * (i + 0.5), 2) for i in range(len(points))]
    coords = [(x, y_axis.at(p.final_score)) for x, p in zip(xs, points, strict=True)]
    if len(coords) > 1:
        path = " ".join(f"{x},{y}" for x, y in coords)
        parts.append(
            f'<polyline class="trend-line" points="{path}" fill="none" stroke="{HIGHLIGHT}" '
            'stroke-width="2"/>'
        )
    for index, ((x, y), point) in enumerate(zip(coords, points, strict=True)):
        last = index == len(points) - 1
        parts.append(
            f'<circle class="{"trend-point current" if last else "trend-point"}" cx="{x}" '
            f'cy="{y}" r="{5 if last else 3}" fill="{HIGHLIGHT}">'
            f"<title>{escape(point.period)}: {escape(score(point.final_score))}</title></circle>"
        )
        if last or len(points) <= 6:
            parts.append(
                svg_text(
                    x,
                    y - 8,
                    score(point.final_score),
                    size=9,
                    anchor="middle",
                    extra=' font-weight="bold"' if last else "",
                )
            )
        parts.append(
            svg_text(
                x,
                bottom + 12,
                point.period,
                size=8,
                anchor="end",
                extra=f' transform="rotate(-40 {x} {bottom + 12})"',
            )
        )
    parts.append("</svg>")
    return "".join(parts)
