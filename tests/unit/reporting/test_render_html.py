"""The HTML scorecard: everything a manager reads is on it, it parses, it fetches nothing, it
escapes what it is given, and it speaks en, zh and ja."""

from dataclasses import replace
from html.parser import HTMLParser

import pytest

from services.reporting.render import Language, render, scorecard_html
from shared.messages.scorecard import Labels
from tests.support.scorecard_sample import sample_page, with_scorecard


class _Document(HTMLParser):
    """Tags, attributes and text of a page, checking that every opened element is closed."""

    VOID = frozenset({"meta", "br", "hr", "img", "link", "input", "circle", "line", "rect"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []
        self.text: list[str] = []
        self.open: list[str] = []
        self.html_lang: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += attrs
        if tag == "html":
            self.html_lang = dict(attrs).get("lang")
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += attrs

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        assert self.open, f"</{tag}> closes nothing"
        assert self.open[-1] == tag, f"</{tag}> closes <{self.open[-1]}>"
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    @property
    def all_text(self) -> str:
        return " ".join(self.text)


def _parse(html: str) -> _Document:
    document = _Document()
    document.feed(html)
    document.close()
    assert document.open == [], f"unclosed elements: {document.open}"
    return document


def test_the_page_shows_entity_grade_score_and_every_kpi() -> None:
    page = sample_page()
    document = _parse(scorecard_html(page))
    text = document.all_text
    assert "branch:B03" in text
    assert "2025-03" in text
    assert "Excellent" in text
    assert "93.12" in text
    assert "Revised" in text
    assert "Branch (branch)" in text
    for line in page.scorecard.kpis:
        assert page.kpi_name(line.kpi) in text
    assert "3 of 12" in text
    assert "+4.76 vs previous period (88.36)" in text


@pytest.mark.parametrize(
    ("language", "label"),
    [
        ("en", "Yokohama Branch (branch:B03)"),
        ("zh", "横滨分公司 (branch:B03)"),
        ("ja", "横浜支店 (branch:B03)"),
    ],
)
def test_the_entity_is_shown_by_name_and_id(language: Language, label: str) -> None:
    html = scorecard_html(sample_page(language=language))
    document = _parse(html)
    assert f'<h1 class="entity">{label}</h1>' in html
    assert label in document.all_text
    title = html.split("<title>", 1)[1].split("</title>", 1)[0]
    assert label in title


def test_without_a_name_the_entity_is_shown_by_id_alone() -> None:
    html = scorecard_html(sample_page(named=False))
    assert '<h1 class="entity">branch:B03</h1>' in html
    assert "Yokohama" not in html


def test_a_hostile_name_is_escaped() -> None:
    page = replace(sample_page(), entity_name='<img src=x onerror="alert(1)">')
    html = scorecard_html(page)
    assert "<img" not in html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt; (branch:B03)" in html


def test_numbers_read_as_a_manager_expects() -> None:
    text = _parse(scorecard_html(sample_page())).all_text
    assert "96.12%" in text  # attainment 0.9612
    assert "68.30%" in text  # a ratio KPI's actual
    assert "4,318,250.50" in text  # money with thousands separators
    assert "4,500,000.00" in text


def test_category_subtotals_and_total() -> None:
    html = scorecard_html(sample_page())
    text = _parse(html).all_text
    assert "Subtotal: Performance" in text
    assert "Subtotal: Customer service" in text
    assert "Subtotal: Capability" in text
    assert "Quantitative total" in text
    assert html.count('class="subtotal"') == 3
    assert "63.42" in text  # 24.03 + 14.39 + 10.00 + 15.00


def test_vetoes_are_listed_with_their_reasons() -> None:
    page = sample_page(vetoes=True)
    text = _parse(scorecard_html(page)).all_text
    for veto in page.scorecard.vetoes:
        assert veto.reason in text
    assert "A veto caps the grade at Qualified." in text
    assert "Qualified" in text


def test_without_vetoes_the_box_says_so() -> None:
    html = scorecard_html(sample_page())
    assert "No veto applies." in _parse(html).all_text
    assert 'class="box vetoes no-vetoes"' in html
    assert 'class="box vetoes has-vetoes"' not in html


def test_no_assessment_shows_the_note() -> None:
    page = sample_page(assessment=False)
    text = _parse(scorecard_html(page)).all_text
    assert "No assessment this period" in text
    assert page.scorecard.qualitative_note is not None
    assert page.scorecard.qualitative_note in text


def test_a_quiet_entity_says_no_events() -> None:
    page = with_scorecard(sample_page(), activity=False)
    assert "No events this period" in _parse(scorecard_html(page)).all_text


def test_the_page_is_self_contained() -> None:
    html = scorecard_html(sample_page(vetoes=True))
    document = _parse(html)
    assert "http://" not in html
    assert "https://" not in html
    assert "//" not in "".join(value or "" for _, value in document.attributes)
    assert not {"script", "link", "img", "iframe", "object", "embed"} & set(document.tags)
    assert not {name for name, _ in document.attributes} & {"src", "href", "srcset"}
    assert "@import" not in html
    assert "url(" not in html


def test_page_has_charset_lang_and_print_css() -> None:
    html = scorecard_html(sample_page())
    document = _parse(html)
    assert html.startswith("<!DOCTYPE html>")
    assert ("charset", "utf-8") in document.attributes
    assert document.html_lang == "en"
    assert "@media print" in html
    assert "size: A4" in html


def test_a_hostile_entity_name_is_escaped() -> None:
    hostile = 'branch:<script>alert("x")</script>&"\''
    page = with_scorecard(sample_page(), entity=hostile, notes=["<b>bold</b> & co"])
    page = replace(
        page,
        kpi_labels={**page.kpi_labels, "training_hours": Labels(en="<i>T</i>", zh="x", ja="x")},
    )
    html = scorecard_html(page)
    document = _parse(html)
    assert "<script>" not in html
    assert "script" not in document.tags
    assert "<b>bold" not in html
    assert "i" not in document.tags
    # Jinja2's autoescape writes quotes as numeric references.
    assert "branch:&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;&#34;&#39;" in html
    assert hostile in document.all_text  # and it still reads as given


@pytest.mark.parametrize(
    ("language", "lang", "expected"),
    [
        (
            "zh",
            "zh-Hans",
            ["绩效评分卡", "优秀", "13个月继续率", "小计", "无否决项", "第 3 名 / 共 12 名"],
        ),
        (
            "ja",
            "ja",
            ["スコアカード", "優秀", "13ヶ月継続率", "小計", "否決項目はありません", "12 中 3 位"],
        ),
    ],
)
def test_renders_in_chinese_and_japanese(
    language: Language, lang: str, expected: list[str]
) -> None:
    document = _parse(scorecard_html(sample_page(language=language)))
    assert document.html_lang == lang
    for text in expected:
        assert text in document.all_text
    assert "Excellent" not in document.all_text


def test_veto_reasons_follow_the_language() -> None:
    text = _parse(scorecard_html(sample_page(language="ja", vetoes=True))).all_text
    assert "13ヶ月継続率 83.10% が下限 85.00% を下回っています" in text


def test_null_actuals_show_a_dash() -> None:
    html = scorecard_html(sample_page())
    row = html[html.index('data-kpi="complaint_resolution_days"') :]
    row = row[: row.index("</tr>")]
    assert row.count("—") == 2  # actual and attainment; the target is still shown
    assert "5.0" in row


def test_unranked_and_first_period() -> None:
    page = with_scorecard(sample_page(), rank=None, peers=0, previous_final_score=None, trend="new")
    text = _parse(scorecard_html(page)).all_text
    assert "Not ranked" in text
    assert "First period" in text


def test_a_page_without_quadrant_or_trend() -> None:
    page = replace(
        with_scorecard(sample_page(), quadrant=None, quadrant_labels=None, coaching=None),
        quadrant=None,
        trend=(),
    )
    html = scorecard_html(page)
    text = _parse(html).all_text
    assert "No quadrant: an axis KPI has no value this period." in text
    assert "No scores yet." in text
    assert "this-entity" not in html


def test_unknown_kpis_are_shown_by_id() -> None:
    page = replace(sample_page(), kpi_labels={}, kpi_units={})
    text = _parse(scorecard_html(page)).all_text
    assert "premium_attainment" in text
    assert "4,318,250.5" in text  # no unit known: the number as written, grouped
    assert "96.12%" in text  # attainment is always a ratio


def test_render_html_is_utf8_text_html() -> None:
    rendered = render(sample_page(language="zh"), "html")
    assert rendered.media_type == "text/html; charset=utf-8"
    assert rendered.filename == "scorecard-branch-B03-2025-03-r2.html"
    assert "绩效评分卡" in rendered.body.decode("utf-8")
