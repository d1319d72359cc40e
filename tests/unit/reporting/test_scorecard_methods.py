"""Scoring methods (DESIGN §6): proportional points with a cap, and bands."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.reporting.domain.config_models import Band, BandMeasure, Method, ProfileKpi
from services.reporting.domain.methods import (
    UNBOUNDED,
    band_points,
    band_share,
    earn,
    points_attainment,
    proportional_points,
)
from shared.kpi.kpi_definition import Direction
from shared.messages.scorecard import Category

D = Decimal
SEED_BANDS = (Band(at_least=D("0.9"), share=D(1)), Band(at_least=D("0.8"), share=D("0.6")))
DAY_BANDS = (Band(at_most=D(14), share=D(1)), Band(at_most=D(21), share=D("0.6")))


# --- proportional: points = weight × min(attainment, cap) ----------------------------------


def test_full_attainment_earns_the_full_weight() -> None:
    assert proportional_points(D(20), D(1)) == D("20.00")


def test_ninety_percent_earns_ninety_percent_of_the_weight() -> None:
    # Seed 002: premium attainment weighs 20; 100 % earns 20 points, 90 % earns 18.
    assert proportional_points(D(20), D("0.9")) == D("18.00")


def test_over_achievement_stops_at_the_cap() -> None:
    assert proportional_points(D(20), D("1.35")) == D("20.00")
    assert proportional_points(D(20), D("1.35"), D("1.2")) == D("24.00")
    assert proportional_points(D(20), D("1.1"), D("1.2")) == D("22.00")


def test_a_negative_attainment_earns_nothing() -> None:
    # NPS −15 against a target of 30: attainment −0.5.
    assert proportional_points(D(10), D("-0.5")) == D("0.00")


def test_points_are_rounded_half_up_to_cents() -> None:
    assert proportional_points(D(15), D("0.941176")) == D("14.12")
    assert proportional_points(D(10), D("0.9125")) == D("9.13")  # 9.125 → 9.13


# --- bands: ≥ 0.9 → 100 %, 0.8–0.9 → 60 %, < 0.8 → 0 ------------------------------------


@pytest.mark.parametrize(
    ("measure", "share"),
    [
        (D("0.95"), D(1)),
        (D("0.90"), D(1)),
        (D("0.8999"), D("0.6")),
        (D("0.85"), D("0.6")),
        (D("0.80"), D("0.6")),
        (D("0.7999"), D(0)),
        (D(0), D(0)),
    ],
)
def test_bands_give_the_share_of_the_first_band_reached(measure: Decimal, share: Decimal) -> None:
    assert band_share(measure, SEED_BANDS) == share


def test_band_points_are_the_weight_times_the_share() -> None:
    assert band_points(D(40), D("0.93"), SEED_BANDS) == D("40.00")
    assert band_points(D(40), D("0.85"), SEED_BANDS) == D("24.00")
    assert band_points(D(40), D("0.79"), SEED_BANDS) == D("0.00")


def test_at_most_bands_suit_lower_is_better_values() -> None:
    assert band_share(D(12), DAY_BANDS) == D(1)
    assert band_share(D(14), DAY_BANDS) == D(1)
    assert band_share(D(18), DAY_BANDS) == D("0.6")
    assert band_share(D("21.5"), DAY_BANDS) == D(0)


# --- the attainment points are computed from ----------------------------------------------


def test_attainment_is_scorings_and_inverted_for_lower_is_better() -> None:
    assert points_attainment(D("0.81"), D("0.90"), Direction.HIGHER_IS_BETTER) == D("0.9")
    # 4 complaints per 10,000 against a limit of 5 beats it: 1.25.
    assert points_attainment(D(4), D(5), Direction.LOWER_IS_BETTER) == D("1.25")
    assert points_attainment(D(10), D(5), Direction.LOWER_IS_BETTER) == D("0.5")


def test_zero_cases_are_settled_rather_than_left_empty() -> None:
    lower, higher = Direction.LOWER_IS_BETTER, Direction.HIGHER_IS_BETTER
    assert points_attainment(D(0), D(5), lower) == UNBOUNDED  # no complaints at all
    assert points_attainment(D(0), D("0.9"), higher) == D(0)  # no renewal renewed
    assert points_attainment(D(3), D(0), higher) == UNBOUNDED
    assert points_attainment(D(3), D(0), lower) == D(0)
    assert points_attainment(D(0), D(0), lower) == D(1)
    assert points_attainment(None, D(5), lower) is None
    assert points_attainment(D(5), None, lower) is None


def _entry(method: Method, **fields: object) -> ProfileKpi:
    return ProfileKpi.model_validate(
        {"kpi": "renewal_rate", "category": Category.PERFORMANCE, "weight": 40, "method": method}
        | fields
    )


def test_earn_names_what_is_missing() -> None:
    proportional = _entry(Method.PROPORTIONAL)
    assert earn(proportional, value=None, attained=None).missing == "value"
    assert earn(proportional, value=D("0.9"), attained=None).missing == "target"
    assert earn(proportional, value=D(0), attained=UNBOUNDED).points == D("40.00")
    by_value = _entry(
        Method.BANDS,
        measure=BandMeasure.VALUE,
        bands=[{"at_least": 0.9, "share": 1}, {"at_least": 0.8, "share": 0.6}],
    )
    # Bands on the value need no target.
    assert earn(by_value, value=D("0.85"), attained=None).points == D("24.00")


# --- properties -----------------------------------------------------------------------------

weights = st.decimals(min_value=D("0.01"), max_value=D(100), places=2)
attainments = st.decimals(min_value=D(-5), max_value=D(50), places=6)
caps = st.decimals(min_value=D(1), max_value=D(2), places=2)


@given(weights, attainments, caps)
def test_proportional_points_stay_between_zero_and_weight_times_cap(
    weight: Decimal, attained: Decimal, cap: Decimal
) -> None:
    points = proportional_points(weight, attained, cap)
    assert D(0) <= points <= weight * cap


@given(weights, attainments, attainments)
def test_proportional_points_never_fall_as_attainment_rises(
    weight: Decimal, a: Decimal, b: Decimal
) -> None:
    low, high = sorted((a, b))
    assert proportional_points(weight, low) <= proportional_points(weight, high)


@given(weights, st.decimals(min_value=D(0), max_value=D(2), places=4))
def test_band_points_stay_between_zero_and_the_weight(weight: Decimal, measure: Decimal) -> None:
    assert D(0) <= band_points(weight, measure, SEED_BANDS) <= weight
