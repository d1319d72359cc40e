"""Grades and vetoes (DESIGN §6): exact Decimal boundaries, and vetoes that cap at qualified."""

from decimal import Decimal
from pathlib import Path
from typing import Final

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.reporting.domain.config_models import GradeBands
from services.reporting.domain.grading import (
    GRADE_LABELS,
    cap_grade,
    find_vetoes,
    grade_for,
    grade_rank,
    veto_of,
)
from shared.kpi.catalogue import load_catalogue
from shared.messages.scorecard import Grade

D = Decimal
CONFIG_DIR: Final = Path(__file__).resolve().parents[3] / "config"
CATALOGUE: Final = load_catalogue(CONFIG_DIR / "kpis.yaml")


@pytest.mark.parametrize(
    ("score", "grade"),
    [
        (D("100.00"), Grade.EXCELLENT),
        (D("90.00"), Grade.EXCELLENT),
        (D("89.99"), Grade.QUALIFIED),
        (D("80.00"), Grade.QUALIFIED),
        (D("79.99"), Grade.NEEDS_IMPROVEMENT),
        (D("0.00"), Grade.NEEDS_IMPROVEMENT),
    ],
)
def test_every_grade_boundary(score: Decimal, grade: Grade) -> None:
    assert grade_for(score) is grade


def test_grade_bands_are_configurable() -> None:
    bands = GradeBands(excellent=D(85), qualified=D(70))
    assert grade_for(D("85.00"), bands) is Grade.EXCELLENT
    assert grade_for(D("69.99"), bands) is Grade.NEEDS_IMPROVEMENT


def test_grades_have_labels_in_three_languages() -> None:
    assert GRADE_LABELS[Grade.EXCELLENT].zh == "优秀"
    assert GRADE_LABELS[Grade.QUALIFIED].ja == "合格"
    assert GRADE_LABELS[Grade.NEEDS_IMPROVEMENT].en == "Needs improvement"


@given(st.decimals(min_value=D(0), max_value=D(100), places=2), st.decimals(0, 100, places=2))
def test_grade_never_falls_as_the_score_rises(a: Decimal, b: Decimal) -> None:
    low, high = sorted((a, b))
    assert grade_rank(grade_for(low)) <= grade_rank(grade_for(high))


# --- vetoes ---------------------------------------------------------------------------------


def test_persistency_below_85_percent_vetoes_with_reasons_in_three_languages() -> None:
    veto = veto_of(CATALOGUE["persistency_13m"], D("0.8412"))
    assert veto is not None
    assert (veto.kpi, veto.actual, veto.limit) == ("persistency_13m", D("0.8412"), D("0.85"))
    assert veto.reason == (
        "13-month persistency 84.12% is below the veto limit of 85%: the grade is capped at "
        "Qualified"
    )
    assert veto.reasons.en == veto.reason
    assert veto.reasons.zh == "13个月继续率 84.12% 低于否决线 85%,评级最高为合格"
    assert veto.reasons.ja == (
        "13ヶ月継続率 84.12% が否決基準 85% を下回っているため、評価は最高で「合格」となります"
    )


def test_exactly_85_percent_persistency_does_not_veto() -> None:
    assert veto_of(CATALOGUE["persistency_13m"], D("0.85")) is None
    assert veto_of(CATALOGUE["persistency_13m"], D("0.849999")) is not None


def test_complaints_above_their_limit_veto() -> None:
    veto = veto_of(CATALOGUE["complaint_rate_per_10k"], D("6.2"))
    assert veto is not None
    assert veto.reason == (
        "Complaints per 10,000 policies 6.20 is above the veto limit of 5: the grade is capped "
        "at Qualified"
    )
    assert veto.reasons.zh == "万件投诉率 6.20 高于否决线 5,评级最高为合格"
    assert "を上回っている" in veto.reasons.ja


def test_complaints_exactly_at_the_limit_do_not_veto() -> None:
    assert veto_of(CATALOGUE["complaint_rate_per_10k"], D(5)) is None
    assert veto_of(CATALOGUE["complaint_rate_per_10k"], D("5.01")) is not None


def test_no_value_or_no_veto_rule_vetoes_nothing() -> None:
    assert veto_of(CATALOGUE["persistency_13m"], None) is None
    assert veto_of(CATALOGUE["renewal_rate"], D(0)) is None


def test_find_vetoes_keeps_the_order_given() -> None:
    values = {"persistency_13m": D("0.80"), "complaint_rate_per_10k": D(9)}
    vetoes = find_vetoes(("complaint_rate_per_10k", "persistency_13m"), CATALOGUE, values)
    assert [v.kpi for v in vetoes] == ["complaint_rate_per_10k", "persistency_13m"]


def test_a_veto_caps_excellent_at_qualified_and_leaves_lower_grades() -> None:
    veto = veto_of(CATALOGUE["persistency_13m"], D("0.80"))
    assert veto is not None
    assert cap_grade(Grade.EXCELLENT, [veto]) == (Grade.QUALIFIED, True)
    assert cap_grade(Grade.QUALIFIED, [veto]) == (Grade.QUALIFIED, False)
    assert cap_grade(Grade.NEEDS_IMPROVEMENT, [veto]) == (Grade.NEEDS_IMPROVEMENT, False)
    assert cap_grade(Grade.EXCELLENT, []) == (Grade.EXCELLENT, False)
