"""The scorecard as one self-contained HTML page a manager prints (A4 portrait), drawn from the
`scorecard.html` template (services/reporting/templates).

Top: entity, period, grade and final score, status, revision and profile; then the scores,
rank and trend; the KPI table with category subtotals; the veto box and, without an
assessment, the qualitative note; the quadrant scatter of the peers and the 12-period trend as
inline SVG. Nothing is fetched: no script, font, stylesheet or image from anywhere. Every text
is escaped by the template engine.
"""

from dataclasses import dataclass
from decimal import Decimal

from shared.messages.scorecard import Category, Grade, KpiLine, Scorecard, Trend

from .as_csv import lines_by_category
from .labels import grade_name, status_name, trend_name, ui
from .numbers import in_unit, score, signed_score
from .page import TREND_PERIODS, ScorecardPage, text_in
from .stylesheet import STYLESHEET
from .svg import quadrant_svg, trend_svg
from .templating import render_page, trusted

_COLUMNS = ("kpi", "category", "actual", "target", "attainment", "weight", "points")
_ARROWS = {Trend.UP: "▲", Trend.DOWN: "▼", Trend.FLAT: "▶", Trend.NEW: "•"}


@dataclass(frozen=True, slots=True)
class _Group:
    """The KPI lines of one category, with their subtotals."""

    category: Category
    lines: list[KpiLine]
    weight: Decimal
    points: Decimal


def _profile(page: ScorecardPage) -> str:
    card = page.scorecard
    if page.profile_name is None:
        return card.profile
    return f"{text_in(page.profile_name, page.language)} ({card.profile})"


def _rank(card: Scorecard, page: ScorecardPage) -> str:
    if card.rank is None:
        return ui("not_ranked", page.language)
    return ui("rank_of", page.language, rank=card.rank, peers=card.peers)


def _trend(card: Scorecard, page: ScorecardPage) -> str:
    arrow = _ARROWS[card.trend]
    if card.previous_final_score is None:
        return f"{arrow} {trend_name(card.trend, page.language)}"
    delta = signed_score(card.final_score - card.previous_final_score)
    vs = ui("vs_previous", page.language, delta=delta, previous=score(card.previous_final_score))
    return f"{arrow} {vs}"


def _quadrant(page: ScorecardPage) -> str | None:
    chart = page.quadrant
    if chart is None:
        return None
    return quadrant_svg(
        chart,
        entity=page.scorecard.entity,
        x_name=page.kpi_name(chart.x_kpi),
        y_name=page.kpi_name(chart.y_kpi),
        tick=lambda kpi, value: in_unit(value, page.unit(kpi)),
        language=page.language,
    )


def scorecard_html(page: ScorecardPage) -> str:
    """The whole page as HTML text (UTF-8 when encoded; `<meta charset="utf-8">` says so)."""
    card, lang = page.scorecard, page.language
    qualitative = (
        score(card.qualitative_score)
        if card.qualitative_score is not None
        else ui("no_assessment", lang)
    )
    quadrant = _quadrant(page)
    trend = trend_svg(
        page.trend[-TREND_PERIODS:],
        excellent=grade_name(Grade.EXCELLENT, lang),
        qualified=grade_name(Grade.QUALIFIED, lang),
        language=lang,
    )
    return render_page(
        "scorecard.html",
        page=page,
        card=card,
        lang=lang,
        stylesheet=trusted(STYLESHEET),
        meta=[
            (ui("period", lang), card.period),
            (ui("profile", lang), _profile(page)),
            (ui("status", lang), status_name(card.status, lang)),
            (ui("revision", lang), str(card.revision)),
        ],
        summary=[
            ("quantitative", ui("quantitative", lang), score(card.quantitative_score)),
            ("qualitative", ui("qualitative", lang), qualitative),
            ("rank", ui("rank", lang), _rank(card, page)),
            (f"trend trend-{card.trend.value}", ui("trend", lang), _trend(card, page)),
        ],
        columns=_COLUMNS,
        groups=[
            _Group(
                category,
                lines,
                sum((line.weight for line in lines), Decimal(0)),
                sum((line.points for line in lines), Decimal(0)),
            )
            for category, lines in lines_by_category(card)
        ],
        total_weight=sum((line.weight for line in card.kpis), Decimal(0)),
        quadrant_svg=None if quadrant is None else trusted(quadrant),
        trend_svg=trusted(trend),
        trend_periods=TREND_PERIODS,
    )
