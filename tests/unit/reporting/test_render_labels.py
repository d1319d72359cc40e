"""Every fixed label exists in en, zh and ja, and numbers print as the page promises."""

from decimal import Decimal

import pytest

from services.reporting.render import entity_label
from services.reporting.render.labels import (
    CATEGORIES,
    GRADES,
    STATUSES,
    TRENDS,
    UI,
    quadrant_name,
    ui,
)
from services.reporting.render.numbers import in_unit, percent, plain, score, signed_score
from shared.messages.scorecard import Category, Grade, ScorecardStatus, Trend

D = Decimal


def test_every_enum_member_has_a_label() -> None:
    assert set(GRADES) == set(Grade)
    assert set(STATUSES) == set(ScorecardStatus)
    assert set(CATEGORIES) == set(Category)
    assert set(TRENDS) == set(Trend)


@pytest.mark.parametrize("key", sorted(UI))
def test_ui_labels_keep_their_placeholders_in_every_language(key: str) -> None:
    labels = UI[key]
    placeholders = {
        lang: sorted(part.split("}")[0] for part in getattr(labels, lang).split("{")[1:])
        for lang in ("en", "zh", "ja")
    }
    assert placeholders["en"] == placeholders["zh"] == placeholders["ja"]


def test_ui_fills_placeholders() -> None:
    assert ui("rank_of", "en", rank=3, peers=12) == "3 of 12"
    assert ui("rank_of", "ja", rank=3, peers=12) == "12 中 3 位"


def test_quadrant_names_follow_the_source_document() -> None:
    assert quadrant_name("续保率", "客户满意度", True, False, "zh") == "高续保率 - 低客户满意度"
    assert quadrant_name("NPS", "Renewal rate", False, True, "en") == "Low NPS · high renewal rate"


@pytest.mark.parametrize(
    ("ratio", "text"),
    [
        (D("0.5766"), "57.66%"),
        (D("1"), "100.00%"),
        (D("0.00005"), "0.01%"),
        (D("1.31578947"), "131.58%"),
        (None, "—"),
    ],
)
def test_percent(ratio: Decimal | None, text: str) -> None:
    assert percent(ratio) == text


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (D("1234567.8"), "money", "1,234,567.80"),
        (D("0.9"), "ratio", "90.00%"),
        (D("12.25"), "days", "12.3"),
        (D("120"), "count", "120"),
        (D("3.8"), "per_10k", "3.80"),
        (D("1234.5"), None, "1,234.5"),
        (None, "money", "—"),
    ],
)
def test_values_in_their_unit(value: Decimal | None, unit: str | None, text: str) -> None:
    assert in_unit(value, unit) == text


def test_scores_round_half_up() -> None:
    assert score(D("89.995")) == "90.00"
    assert score(D("90")) == "90.00"
    assert signed_score(D("2.655")) == "+2.66"
    assert signed_score(D("-0.5")) == "−0.50"
    assert signed_score(D("0")) == "±0.00"
    assert plain(D("25.00")) == "25"
    assert plain(D("12.50")) == "12.5"


def test_an_entity_label_is_its_name_with_the_id_or_the_id_alone() -> None:
    assert entity_label("branch:B03", "横浜支店") == "横浜支店 (branch:B03)"
    assert entity_label("branch:B03", None) == "branch:B03"
    assert entity_label("branch:B03", "") == "branch:B03"
