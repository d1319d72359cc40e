"""The scorecard as one self-contained HTML page a manager prints (A4 portrait).

Top: entity, period, grade and final score, status, revision and profile; then the scores,
rank and trend; the KPI table with category subtotals; the veto box and, without an
assessment, the qualitative note; the quadrant scatter of the peers and the 12-period trend as
inline SVG. Nothing is fetched: no script, font, stylesheet or image from anywhere. Every text
is escaped with `html.escape`.
"""

from decimal import Decimal
from html import escape

from shared.messages.scorecard import Grade, Scorecard, Trend

from .as_csv import lines_by_category
from .labels import category_name, grade_name, status_name, trend_name, ui
from .numbers import in_unit, percent, plain, score, signed_score
from .page import TREND_PERIODS, ScorecardPage, text_in
from .stylesheet import STYLESHEET
from .svg import quadrant_svg, trend_svg

_HTML_LANG = {"en": "en", "zh": "zh-Hans", "ja": "ja"}


def scorecard_html(page: ScorecardPage) -> str:
    """The whole page as HTML text (UTF-8 when encoded; `<meta charset="utf-8">` says so)."""
    card = page.scorecard
    lang = page.language
    title = f"{ui('title', lang)} · {page.entity_label} · {card.period}"
    body = "\n".join(
        [
            _header(page),
            _summary(page),
            _remarks(page),
            _kpi_table(page),
            _boxes(page),
            _charts(page),
            _footer(page),
        ]
    )
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{_HTML_LANG[lang]}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{STYLESHEET}</style>\n</head>\n"
        f'<body>\n<main class="sheet grade-{card.grade.value}">\n{body}\n</main>\n</body>\n'
        "</html>\n"
    )


def _profile(page: ScorecardPage) -> str:
    card = page.scorecard
    if page.profile_name is None:
        return card.profile
    return f"{text_in(page.profile_name, page.language)} ({card.profile})"


def _header(page: ScorecardPage) -> str:
    card, lang = page.scorecard, page.language
    meta = [
        (ui("period", lang), card.period),
        (ui("profile", lang), _profile(page)),
        (ui("status", lang), status_name(card.status, lang)),
        (ui("revision", lang), str(card.revision)),
    ]
    items = "".join(
        f'<div><dt>{escape(name)}</dt><dd class="meta-{i}">{escape(value)}</dd></div>'
        for i, (name, value) in enumerate(meta)
    )
    capped = (
        f'<p class="capped">{escape(ui("grade_capped", lang))}</p>' if card.grade_capped else ""
    )
    return (
        '<header class="top">'
        f'<div class="ident"><p class="kicker">{escape(ui("title", lang))}</p>'
        f'<h1 class="entity">{escape(page.entity_label)}</h1><dl class="meta">{items}</dl></div>'
        f'<div class="result"><p class="label">{escape(ui("grade", lang))}</p>'
        f'<p class="grade" data-grade="{card.grade.value}">'
        f"{escape(grade_name(card.grade, lang))}</p>"
        f'<p class="final"><span class="final-score">{escape(score(card.final_score))}</span> '
        f'<span class="out-of">{escape(ui("out_of", lang))}</span></p>{capped}</div>'
        "</header>"
    )


def _rank(card: Scorecard, page: ScorecardPage) -> str:
    if card.rank is None:
        return ui("not_ranked", page.language)
    return ui("rank_of", page.language, rank=card.rank, peers=card.peers)


def _trend(card: Scorecard, page: ScorecardPage) -> str:
    arrow = {Trend.UP: "▲", Trend.DOWN: "▼", Trend.FLAT: "▶", Trend.NEW: "•"}[card.trend]
    name = trend_name(card.trend, page.language)
    if card.previous_final_score is None:
        return f"{arrow} {name}"
    delta = signed_score(card.final_score - card.previous_final_score)
    vs = ui("vs_previous", page.language, delta=delta, previous=score(card.previous_final_score))
    return f"{arrow} {vs}"


def _summary(page: ScorecardPage) -> str:
    card, lang = page.scorecard, page.language
    qualitative = (
        score(card.qualitative_score)
        if card.qualitative_score is not None
        else ui("no_assessment", lang)
    )
    cells = [
        ("quantitative", ui("quantitative", lang), score(card.quantitative_score)),
        ("qualitative", ui("qualitative", lang), qualitative),
        ("rank", ui("rank", lang), _rank(card, page)),
        (f"trend trend-{card.trend.value}", ui("trend", lang), _trend(card, page)),
    ]
    items = "".join(
        f'<div class="{css}"><dt>{escape(name)}</dt><dd>{escape(value)}</dd></div>'
        for css, name, value in cells
    )
    return f'<dl class="summary">{items}</dl>'


def _remarks(page: ScorecardPage) -> str:
    card, lang = page.scorecard, page.language
    parts = []
    if not card.activity:
        parts.append(f'<p class="no-events">{escape(ui("no_events", lang))}</p>')
    if card.notes:
        notes = "".join(f"<li>{escape(note)}</li>" for note in card.notes)
        parts.append(
            f'<div class="notes"><h2>{escape(ui("notes", lang))}</h2><ul>{notes}</ul></div>'
        )
    return f'<section class="remarks">{"".join(parts)}</section>' if parts else ""


def _kpi_table(page: ScorecardPage) -> str:
    card, lang = page.scorecard, page.language
    columns = ("kpi", "category", "actual", "target", "attainment", "weight", "points")
    head = "".join(f'<th scope="col" class="col-{c}">{escape(ui(c, lang))}</th>' for c in columns)
    rows: list[str] = []
    for category, lines in lines_by_category(card):
        category_text = escape(category_name(category, lang))
        for line in lines:
            unit = page.unit(line.kpi)
            cells = (
                escape(in_unit(line.actual, unit)),
                escape(in_unit(line.target, unit)),
                escape(percent(line.attainment)),
                escape(plain(line.weight)),
                escape(score(line.points)),
            )
            numbers = "".join(f'<td class="num">{cell}</td>' for cell in cells)
            rows.append(
                f'<tr class="kpi-row" data-kpi="{escape(line.kpi)}">'
                f'<th scope="row">{escape(page.kpi_name(line.kpi))}</th>'
                f'<td class="category">{category_text}</td>{numbers}</tr>'
            )
        weight = sum((line.weight for line in lines), Decimal(0))
        points = sum((line.points for line in lines), Decimal(0))
        subtotal = escape(ui("subtotal", lang, category=category_name(category, lang)))
        rows.append(
            f'<tr class="subtotal" data-category="{category.value}">'
            f'<th scope="row" colspan="5">{subtotal}</th>'
            f'<td class="num">{escape(plain(weight))}</td>'
            f'<td class="num">{escape(score(points))}</td></tr>'
        )
    weight = sum((line.weight for line in card.kpis), Decimal(0))
    rows.append(
        f'<tr class="total"><th scope="row" colspan="5">{escape(ui("total", lang))}</th>'
        f'<td class="num">{escape(plain(weight))}</td>'
        f'<td class="num">{escape(score(card.quantitative_score))}</td></tr>'
    )
    return (
        f'<section class="kpis"><h2>{escape(ui("kpi_table", lang))}</h2>'
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></section>"
    )


def _boxes(page: ScorecardPage) -> str:
    card, lang = page.scorecard, page.language
    if card.vetoes:
        items = "".join(
            f'<li data-kpi="{escape(veto.kpi)}"><strong>{escape(page.kpi_name(veto.kpi))}</strong>'
            f": {escape(text_in(veto.reasons, lang))} "
            f'<span class="veto-figures">({escape(in_unit(veto.actual, page.unit(veto.kpi)))}; '
            f"{escape(ui('veto_limit', lang))} "
            f"{escape(in_unit(veto.limit, page.unit(veto.kpi)))})</span></li>"
            for veto in card.vetoes
        )
        capped = f"<p>{escape(ui('grade_capped', lang))}</p>" if card.grade_capped else ""
        veto = (
            f'<section class="box vetoes has-vetoes"><h2>{escape(ui("vetoes", lang))}</h2>'
            f"<ul>{items}</ul>{capped}</section>"
        )
    else:
        veto = (
            f'<section class="box vetoes no-vetoes"><h2>{escape(ui("vetoes", lang))}</h2>'
            f"<p>{escape(ui('no_vetoes', lang))}</p></section>"
        )
    if card.qualitative_score is not None:
        return f'<div class="boxes">{veto}</div>'
    note = f"<p>{escape(card.qualitative_note)}</p>" if card.qualitative_note else ""
    assessment = (
        f'<section class="box no-assessment"><h2>{escape(ui("qualitative", lang))}</h2>'
        f"<p><strong>{escape(ui('no_assessment', lang))}</strong></p>{note}</section>"
    )
    return f'<div class="boxes">{veto}{assessment}</div>'


def _quadrant(page: ScorecardPage) -> str:
    card, lang = page.scorecard, page.language
    heading = f"<h2>{escape(ui('quadrant', lang))}</h2>"
    chart = page.quadrant
    if chart is None:
        return (
            f'<figure class="quadrant">{heading}'
            f'<p class="empty">{escape(ui("no_quadrant", lang))}</p></figure>'
        )
    svg = quadrant_svg(
        chart,
        entity=card.entity,
        x_name=page.kpi_name(chart.x_kpi),
        y_name=page.kpi_name(chart.y_kpi),
        tick=lambda kpi, value: in_unit(value, page.unit(kpi)),
        language=lang,
    )
    caption: list[str] = []
    if card.quadrant_labels is not None:
        caption.append(
            f'<p class="quadrant-of"><span class="swatch"></span>{escape(page.entity_label)}: '
            f"<strong>{escape(text_in(card.quadrant_labels, lang))}</strong></p>"
        )
    elif card.quadrant is None:
        caption.append(f'<p class="empty">{escape(ui("no_quadrant", lang))}</p>')
    if card.coaching is not None:
        caption.append(
            f'<p class="coaching"><strong>{escape(ui("coaching", lang))}:</strong> '
            f"{escape(text_in(card.coaching, lang))}</p>"
        )
    return (
        f'<figure class="quadrant">{heading}{svg}'
        f"<figcaption>{''.join(caption)}</figcaption></figure>"
    )


def _charts(page: ScorecardPage) -> str:
    lang = page.language
    points = page.trend[-TREND_PERIODS:]
    trend = trend_svg(
        points,
        excellent=grade_name(Grade.EXCELLENT, lang),
        qualified=grade_name(Grade.QUALIFIED, lang),
        language=lang,
    )
    heading = escape(ui("trend_chart", lang, n=TREND_PERIODS))
    return (
        f'<section class="charts">{_quadrant(page)}'
        f'<figure class="trend"><h2>{heading}</h2>{trend}</figure></section>'
    )


def _footer(page: ScorecardPage) -> str:
    card, lang = page.scorecard, page.language
    as_of = card.as_of.isoformat(timespec="minutes")
    return (
        f"<footer><span>{escape(ui('scorecard_id', lang))}: {escape(card.scorecard_id)}</span>"
        f"<span>{escape(ui('as_of', lang))}: {escape(as_of)}</span></footer>"
    )
