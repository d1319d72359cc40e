"""Scoring methods (DESIGN §6): how a KPI's attainment or value becomes points.

- proportional: points = weight × min(attainment, cap); 100 % of the target earns the full
  weight, 90 % earns 90 % of it, and nothing below 0 (an NPS far under target earns 0);
- bands: points = weight × the share of the first band reached (best first), 0 below the last.

Points are Decimals rounded to 0.01, half up, like the spreadsheet a manager checks them in.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Final

from shared.kpi.kpi_definition import Direction
from shared.kpi.kpi_values import attainment

from .config_models import Band, BandMeasure, Method, ProfileKpi

CENT: Final = Decimal("0.01")
# A target beaten by an unbounded factor (0 complaints against a limit of 5): any cap applies.
UNBOUNDED: Final = Decimal("Infinity")
_ZERO: Final = Decimal(0)
_NO_POINTS: Final = Decimal("0.00")
_ONE: Final = Decimal(1)


def round_points(points: Decimal) -> Decimal:
    """Points and scores to two places, half up: 89.995 → 90.00."""
    return points.quantize(CENT, rounding=ROUND_HALF_UP)


def scoring_attainment(
    value: Decimal | None, target: Decimal | None, direction: Direction
) -> Decimal | None:
    """The attainment scoring publishes (`kpi_values.attainment`): value / target, inverted
    for lower-is-better KPIs; None when either is missing or zero."""
    return attainment(value, target, direction)


def points_attainment(
    value: Decimal | None, target: Decimal | None, direction: Direction
) -> Decimal | None:
    """The attainment points are computed from: scoring's, with its zero cases settled.

    None only when the value or the target is missing. Where scoring gives None because a
    side is zero: a zero value of a higher-is-better KPI (or a positive one against a zero
    limit) attains 0; a zero value of a lower-is-better KPI (or a positive one against a zero
    target) beats the target by an unbounded factor (`UNBOUNDED`, so the cap applies); zero
    against zero is exactly on target (1).
    """
    if value is None or target is None:
        return None
    computed = attainment(value, target, direction)
    if computed is not None:
        return computed
    if value == 0 and target == 0:
        return _ONE
    higher = direction is Direction.HIGHER_IS_BETTER
    beats = (target == 0 and value > 0) if higher else (value == 0 and target > 0)
    return UNBOUNDED if beats else _ZERO


def proportional_points(weight: Decimal, attained: Decimal, cap: Decimal = _ONE) -> Decimal:
    """weight × min(attainment, cap), never below 0: 90 % of the target earns 90 % of it.

    Never above weight × cap either: rounding half up could otherwise add a cent when
    weight × cap is not a whole number of cents (0.32 × 1.02).
    """
    ceiling = (weight * cap).quantize(CENT, rounding=ROUND_DOWN)
    return min(round_points(weight * min(max(attained, _ZERO), cap)), ceiling)


def band_share(measure: Decimal, bands: Sequence[Band]) -> Decimal:
    """The share of the first band `measure` reaches (``at_least`` or ``at_most``), else 0."""
    for band in bands:
        if band.at_least is not None and measure >= band.at_least:
            return band.share
        if band.at_most is not None and measure <= band.at_most:
            return band.share
    return _ZERO


def band_points(weight: Decimal, measure: Decimal, bands: Sequence[Band]) -> Decimal:
    """weight × the share of the band reached: with ≥ 0.9 → 1 and ≥ 0.8 → 0.6, 0.85 earns 60 %."""
    return round_points(weight * band_share(measure, bands))


@dataclass(frozen=True, slots=True)
class Earned:
    """The points of one KPI, and why it earned none when it could not be scored."""

    points: Decimal
    missing: str | None = None  # "value" or "target"


def earn(entry: ProfileKpi, *, value: Decimal | None, attained: Decimal | None) -> Earned:
    """The points of a profile KPI from its value and its `points_attainment`."""
    if value is None:
        return Earned(_NO_POINTS, "value")
    if entry.method is Method.BANDS and entry.band_measure is BandMeasure.VALUE:
        assert entry.bands is not None  # the config model requires bands
        return Earned(band_points(entry.weight, value, entry.bands))
    if attained is None:
        return Earned(_NO_POINTS, "target")
    if entry.method is Method.BANDS:
        assert entry.bands is not None
        return Earned(band_points(entry.weight, attained, entry.bands))
    return Earned(proportional_points(entry.weight, attained, entry.effective_cap))
