"""KPI values from counter totals, every kind against hand-computed figures."""

from decimal import Decimal
from pathlib import Path
from typing import Final

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.kpi.catalogue import load_catalogue
from shared.kpi.kpi_definition import Direction, KpiDefinition, KpiKind
from shared.kpi.kpi_values import KpiValue, attainment, compute, rounded

CATALOGUE: Final = load_catalogue(Path(__file__).resolve().parents[3] / "config" / "kpis.yaml")
DAY: Final = 86400


def _value(
    kpi_id: str,
    totals: dict[str, int],
    prefix: dict[str, int] | None = None,
    *,
    target: Decimal | None = None,
    headcount: int | None = None,
    working_days: int = 21,
) -> KpiValue:
    return compute(
        CATALOGUE[kpi_id],
        totals,
        prefix or {},
        target=target,
        headcount=headcount,
        working_days=working_days,
    )


# --- ratios ------------------------------------------------------------------------------


def test_renewal_rate() -> None:
    value = _value("renewal_rate", {"renewal_renewed": 45, "renewal_due": 50})
    assert value == KpiValue(Decimal("0.9"), Decimal(45), Decimal(50))


@pytest.mark.parametrize(
    "totals", [{"renewal_renewed": 0, "renewal_due": 0}, {"renewal_renewed": 3}, {}]
)
def test_a_ratio_without_a_denominator_has_no_value(totals: dict[str, int]) -> None:
    value = _value("renewal_rate", totals)
    assert value.value is None
    assert value.denominator == 0


def test_the_seed_survey_top_box_figure() -> None:
    # 000: 111 ten-point surveys, 64 rated 9 or more = 57.66 %.
    value = _value("survey_top_box", {"survey_top_box": 64, "survey_responses": 111})
    assert value.value is not None
    assert value.value.quantize(Decimal("0.0001")) == Decimal("0.5766")
    assert value.value == Decimal("0.576577")  # six places, half-even


def test_persistency_is_a_cohort_ratio() -> None:
    value = _value("persistency_13m", {"cohort_persisting": 23, "cohort_size": 25})
    assert value.value == Decimal("0.92")
    assert _value("persistency_13m", {"cohort_persisting": 0, "cohort_size": 0}).value is None


def test_lapse_rate_divides_by_policies_in_force_at_the_period_start() -> None:
    # This period's own issues (inforce_delta in totals) do not count: only the prefix does.
    totals = {"policy_lapsed": 30, "inforce_delta": 400}
    value = _value("lapse_rate", totals, {"inforce_delta": 1200})
    assert value == KpiValue(Decimal("0.025"), Decimal(30), Decimal(1200))
    assert _value("lapse_rate", totals).value is None


def test_a_negative_stock_gives_no_value() -> None:
    # Terminations of policies issued before the state began can drive the prefix below zero.
    value = _value("surrender_rate", {"policy_surrendered": 2}, {"inforce_delta": -5})
    assert value == KpiValue(None, Decimal(2), Decimal(-5))


def test_second_purchase_rate_divides_by_existing_customers() -> None:
    value = _value("second_purchase_rate", {"customers_repeat": 11}, {"customers_new": 500})
    assert value.value == Decimal("0.022")


def test_premium_attainment_divides_by_the_plan() -> None:
    totals = {"premium_written_e4": 11_000_000_000}  # ¥1,100,000.0000
    value = _value("premium_attainment", totals, target=Decimal(1_000_000))
    assert value == KpiValue(Decimal("1.1"), Decimal(1_100_000), Decimal(1_000_000))
    assert _value("premium_attainment", totals).value is None
    assert _value("premium_attainment", totals, target=Decimal(0)).value is None


# --- rates, means, NPS -------------------------------------------------------------------


def test_complaints_per_10k_policies() -> None:
    value = _value("complaint_rate_per_10k", {"complaints_opened": 3}, {"inforce_delta": 12000})
    assert value == KpiValue(Decimal("2.5"), Decimal(3), Decimal(12000))


def test_satisfaction_mean_reads_hundredths() -> None:
    totals = {"survey_score_e2": 9000 + 8550 + 7000, "survey_responses": 3}
    value = _value("satisfaction_mean", totals)
    assert value == KpiValue(Decimal("81.833333"), Decimal("245.5"), Decimal(3))


def test_renewal_cycle_mean_days() -> None:
    # Three renewals: 3 days, 10½ days and 14 days from first contact to renewed.
    seconds = 3 * DAY + 10 * DAY + DAY // 2 + 14 * DAY
    value = _value(
        "renewal_cycle_days", {"renewal_cycle_seconds": seconds, "renewal_cycle_count": 3}
    )
    assert value == KpiValue(Decimal("9.166667"), Decimal("27.5"), Decimal(3))


def test_complaint_resolution_days() -> None:
    totals = {"resolution_seconds": 7 * DAY + 3600, "resolution_count": 2}
    value = _value("complaint_resolution_days", totals)
    assert value.value == Decimal("3.520833")  # (7 days + 1 hour) / 2


@pytest.mark.parametrize(
    ("promoters", "detractors", "responses", "nps"),
    [(5, 2, 10, 30), (0, 4, 4, -100), (7, 0, 7, 100), (1, 1, 3, 0), (2, 1, 3, "33.333333")],
)
def test_nps(promoters: int, detractors: int, responses: int, nps: int | str) -> None:
    totals = {
        "nps_promoters": promoters,
        "nps_detractors": detractors,
        "nps_responses": responses,
    }
    value = _value("nps", totals)
    assert value.value == Decimal(nps)
    assert value.numerator == promoters - detractors


def test_nps_without_answers_has_no_value() -> None:
    assert _value("nps", {}).value is None


def test_assessment_score_mean() -> None:
    value = _value("assessment_score", {"assessment_score_e2": 8500 + 9250, "assessment_count": 2})
    assert value.value == Decimal("88.75")


# --- counts, sums, per capita, per working day ---------------------------------------------


def test_compliments_count_zero_when_there_are_none() -> None:
    assert _value("compliments", {"compliments": 64}) == KpiValue(Decimal(64), Decimal(64), None)
    assert _value("compliments", {}).value == Decimal(0)


def test_money_sums_are_read_from_ten_thousandths() -> None:
    value = _value("renewal_premium", {"renewal_premium_e4": 123_456_789})
    assert value.value == Decimal("12345.6789")
    assert str(value.value) == "12345.6789"


def test_training_hours_are_read_from_hundredths() -> None:
    assert _value("training_hours", {"training_hours_e2": 1250}).value == Decimal("12.5")


def test_per_capita_premium() -> None:
    totals = {"premium_written_e4": 5_000_000 * 10_000}
    value = _value("per_capita_premium", totals, headcount=42)
    assert value == KpiValue(Decimal("119047.619048"), Decimal(5_000_000), Decimal(42))
    assert _value("per_capita_premium", totals, headcount=0).value is None
    assert _value("per_capita_premium", totals, headcount=None).value is None


def test_contacts_per_working_day() -> None:
    value = _value("contacts_per_day", {"renewal_contacts": 460}, working_days=23)
    assert value == KpiValue(Decimal(20), Decimal(460), Decimal(23))
    assert _value("contacts_per_day", {"renewal_contacts": 4}, working_days=0).value is None


def test_a_definition_without_a_numerator_is_refused() -> None:
    kpi = CATALOGUE["compliments"].model_copy(update={"numerator": None})
    with pytest.raises(ValueError, match="has no numerator"):
        compute(kpi, {}, {}, target=None, headcount=None, working_days=20)


# --- rounding and attainment ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (Decimal(2) / Decimal(3), "0.666667"),
        (Decimal("0.0000005"), "0.000000"),  # half-even: ties go to the even digit
        (Decimal("0.0000015"), "0.000002"),
        (Decimal("2E+2"), "200"),
        (Decimal("0.25"), "0.25"),
    ],
)
def test_rounding_keeps_six_places_without_exponents(number: Decimal, text: str) -> None:
    assert str(rounded(number)) == text


@pytest.mark.parametrize(
    ("value", "target", "direction", "expected"),
    [
        ("0.95", "0.90", Direction.HIGHER_IS_BETTER, "1.055556"),
        ("0.9", "0.9", Direction.HIGHER_IS_BETTER, "1"),
        ("0.72", "0.9", Direction.HIGHER_IS_BETTER, "0.8"),
        ("4", "5", Direction.LOWER_IS_BETTER, "1.25"),
        ("10", "5", Direction.LOWER_IS_BETTER, "0.5"),
        ("-10", "30", Direction.HIGHER_IS_BETTER, "-0.333333"),
    ],
)
def test_attainment(value: str, target: str, direction: Direction, expected: str) -> None:
    assert attainment(Decimal(value), Decimal(target), direction) == Decimal(expected)


@pytest.mark.parametrize(
    ("value", "target"),
    [(None, Decimal(5)), (Decimal(5), None), (Decimal(0), Decimal(5)), (Decimal(5), Decimal(0))],
)
@pytest.mark.parametrize("direction", list(Direction))
def test_attainment_without_a_value_or_target_or_with_a_zero(
    value: Decimal | None, target: Decimal | None, direction: Direction
) -> None:
    assert attainment(value, target, direction) is None


# --- properties --------------------------------------------------------------------------

RATIO_KINDS: Final = frozenset({KpiKind.RATIO, KpiKind.TOP_BOX_SHARE, KpiKind.COHORT_RATIO})
RATIOS: Final = tuple(
    kpi for kpi in CATALOGUE if kpi.kind in RATIO_KINDS and kpi.denominator is not None
)


@st.composite
def operands(draw: st.DrawFn) -> tuple[int, int]:
    denominator = draw(st.integers(min_value=0, max_value=10**15))
    return draw(st.integers(min_value=0, max_value=denominator)), denominator


@given(st.sampled_from(RATIOS), operands())
def test_a_ratio_is_a_fraction_when_its_numerator_is_at_most_its_denominator(
    kpi: KpiDefinition, pair: tuple[int, int]
) -> None:
    numerator, denominator = pair
    assert kpi.numerator is not None
    assert kpi.denominator is not None
    counts = {kpi.numerator: numerator, kpi.denominator: denominator}
    value = compute(kpi, counts, counts, target=None, headcount=None, working_days=20).value
    if denominator == 0:
        assert value is None
    else:
        assert value is not None
        assert Decimal(0) <= value <= Decimal(1)


def test_the_property_covers_every_ratio_of_the_catalogue() -> None:
    assert {kpi.id for kpi in RATIOS} == {
        "renewal_rate",
        "persistency_13m",
        "referral_rate",
        "lapse_rate",
        "surrender_rate",
        "survey_top_box",
        "direct_channel_rate",
        "second_purchase_rate",
    }
