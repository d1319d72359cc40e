"""The inline-SVG charts: the peers' quadrant with this entity highlighted and split at the
targets, and the trend with the 80 and 90 grade lines; edge cases draw without failing."""

import re
from dataclasses import replace
from decimal import Decimal
from html.parser import HTMLParser

from services.reporting.render import (
    QuadrantChart,
    QuadrantPoint,
    TrendPoint,
    quadrant_names,
    scorecard_html,
)
from services.reporting.render.svg import quadrant_svg, trend_svg
from shared.messages.scorecard import Labels
from tests.support.scorecard_sample import ENTITY, sample_page

D = Decimal


def _tick(kpi: str, value: Decimal) -> str:
    return f"{kpi}={value}"


def _quadrant(chart: QuadrantChart, entity: str = ENTITY) -> str:
    return quadrant_svg(
        chart,
        entity=entity,
        x_name="Renewal rate",
        y_name="Satisfaction",
        tick=_tick,
        language="en",
    )


def _circles(svg: str) -> list[dict[str, str]]:
    return [dict(re.findall(r'(\w+)="([^"]*)"', c)) for c in re.findall(r"<circle [^>]*>", svg)]


def _chart(points: tuple[QuadrantPoint, ...]) -> QuadrantChart:
    return QuadrantChart("renewal_rate", "satisfaction_mean", D("0.90"), D("85"), points)


def test_this_entity_is_highlighted_once_among_its_peers() -> None:
    page = sample_page()
    assert page.quadrant is not None
    svg = _quadrant(page.quadrant)
    assert svg.count('class="this-entity"') == 1
    assert f'data-entity="{ENTITY}"' in svg
    highlighted = re.search(r'<g class="this-entity".*?</g>', svg)
    assert highlighted is not None
    assert 'r="7"' in highlighted.group(0)
    assert ENTITY in highlighted.group(0)
    assert svg.count('class="peer"') == len(page.quadrant.points) - 1


def test_split_lines_sit_at_the_targets_and_points_on_the_right_side() -> None:
    points = (
        QuadrantPoint("branch:HI", D("0.95"), D("90")),
        QuadrantPoint("branch:LO", D("0.80"), D("70")),
    )
    svg = _quadrant(_chart(points), entity="branch:HI")
    splits = re.findall(
        r'<line class="split" x1="([\d.]+)" y1="([\d.]+)" x2="([\d.]+)" y2="([\d.]+)"', svg
    )
    vertical, horizontal = splits
    split_x, split_y = float(vertical[0]), float(horizontal[1])
    hi = re.search(r'data-entity="branch:HI".*?<circle cx="([\d.]+)" cy="([\d.]+)"', svg)
    lo = next(c for c in _circles(svg) if c.get("class") == "peer")
    assert hi is not None
    assert float(hi.group(1)) > split_x
    assert float(hi.group(2)) < split_y
    assert float(lo["cx"]) < split_x
    assert float(lo["cy"]) > split_y
    assert "renewal_rate=0.90" in svg
    assert "satisfaction_mean=85" in svg


def test_quadrant_names_come_from_the_axes_unless_given() -> None:
    svg = _quadrant(_chart((QuadrantPoint(ENTITY, D("0.95"), D("90")),)))
    names = re.findall(r'class="quadrant-name"[^>]*>([^<]*)<', svg)
    assert sorted(names) == sorted(
        [
            "High renewal rate · high satisfaction",
            "Low renewal rate · high satisfaction",
            "High renewal rate · low satisfaction",
            "Low renewal rate · low satisfaction",
        ]
    )
    page = sample_page(language="zh")
    assert page.quadrant is not None
    assert "明星" in quadrant_svg(
        page.quadrant,
        entity=ENTITY,
        x_name="续保率",
        y_name="客户满意度",
        tick=_tick,
        language="zh",
    )


def test_no_peers_draws_the_axes_and_says_so() -> None:
    svg = _quadrant(_chart(()))
    assert "No peer has values on both axes." in svg
    assert svg.count('class="split"') == 2
    assert "<circle" not in svg


def test_a_single_point_on_the_splits_still_draws() -> None:
    svg = _quadrant(_chart((QuadrantPoint(ENTITY, D("0.90"), D("85")),)))
    assert svg.count('class="this-entity"') == 1
    assert "nan" not in svg.lower()


def test_the_entity_without_a_point_is_not_highlighted() -> None:
    svg = _quadrant(_chart((QuadrantPoint("branch:B01", D("0.95"), D("90")),)))
    assert "this-entity" not in svg


def test_trend_has_grade_lines_and_twelve_points_oldest_first() -> None:
    page = sample_page()
    svg = trend_svg(page.trend, excellent="Excellent", qualified="Qualified", language="en")
    assert 'data-grade-line="90"' in svg
    assert 'data-grade-line="80"' in svg
    assert "Excellent" in svg
    assert "Qualified" in svg
    circles = [c for c in _circles(svg) if "trend-point" in c.get("class", "")]
    assert len(circles) == 12
    xs = [float(c["cx"]) for c in circles]
    assert xs == sorted(xs)
    assert circles[-1]["class"] == "trend-point current"
    assert "<polyline" in svg
    periods = re.findall(r">(\d{4}-\d{2})</text>", svg)
    assert periods[0] == "2024-04"
    assert periods[-1] == "2025-03"


def test_higher_scores_are_drawn_higher() -> None:
    points = (TrendPoint("2025-01", D("70")), TrendPoint("2025-02", D("95")))
    svg = trend_svg(points, excellent="E", qualified="Q", language="en")
    low, high = [c for c in _circles(svg) if "trend-point" in c.get("class", "")]
    assert float(high["cy"]) < float(low["cy"])


def test_one_period_of_trend_is_a_point_without_a_line() -> None:
    svg = trend_svg(
        (TrendPoint("2025-03", D("84.10")),), excellent="E", qualified="Q", language="en"
    )
    assert "<polyline" not in svg
    assert svg.count("trend-point current") == 1
    assert "84.10" in svg


def test_a_low_score_widens_the_scale_below_sixty() -> None:
    svg = trend_svg(
        (TrendPoint("2025-03", D("42.5")),), excellent="E", qualified="Q", language="en"
    )
    assert ">40</text>" in svg


def test_no_trend_says_so() -> None:
    svg = trend_svg((), excellent="E", qualified="Q", language="ja")
    assert "スコアはまだありません。" in svg


def test_the_page_draws_only_the_last_twelve_periods() -> None:
    page = sample_page()
    older = tuple(TrendPoint(f"2023-{m:02}", D("70")) for m in range(1, 13))
    html = scorecard_html(replace(page, trend=older + page.trend))
    assert "2023-12" not in html
    assert html.count("trend-point") == 12


def test_svg_is_well_formed_markup() -> None:
    class Balance(HTMLParser):
        depth = 0

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "svg":
                self.depth += 1

        def handle_endtag(self, tag: str) -> None:
            if tag == "svg":
                self.depth -= 1

    parser = Balance()
    parser.feed(scorecard_html(sample_page()))
    assert parser.depth == 0


def test_quadrant_names_from_the_profile_ids() -> None:
    stars = Labels(en="Stars", zh="明星", ja="スター")
    weak = Labels(en="Results, weak service", zh="业绩好 - 服务弱", ja="業績良・サービス弱")
    names = quadrant_names({"high_high": stars, "high_low": weak, "other": stars})
    assert names == {(True, True): stars, (True, False): weak}
    chart = replace(_chart((QuadrantPoint(ENTITY, D("0.95"), D("70")),)), names=names)
    svg = _quadrant(chart)
    assert "Results, weak service" in svg
    assert "Low renewal rate · low satisfaction" in svg  # not given: named from the axes
